package io.github.ddpm4j.data;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A set of images held once in off-heap memory as one {@code uint8} tensor of
 * shape {@code [count, channels, height, width]}, pixel values 0..255. The
 * tensor is a zero-copy view of that memory; batches are gathered from it by
 * LibTorch ops (see {@link DataLoader}), so no per-image Java arrays exist.
 *
 * <p>A labelled dataset also holds the class of every image, an int64 tensor {@code [count]} aligned with
 * the images, and the names of its classes: Fashion-MNIST's and IDX sets' labels come from the label file
 * beside the images ({@code train-labels-idx1-ubyte.gz} beside {@code train-images-idx3-ubyte.gz}), an image
 * folder's from the subfolder each image lies in.
 */
public final class ImageDataset implements AutoCloseable {
  private final Arena arena;
  private final Tensor pixels;
  private final String source;
  private Tensor labels;
  private List<String> classNames = List.of();

  /**
   * Takes ownership of {@code arena}, which holds {@code memory}.
   *
   * @param arena the arena that owns {@code memory}; closed by {@link #close()}
   * @param memory {@code count * channels * height * width} bytes, row-major
   * @param count number of images, &gt; 0
   * @param channels 1 (grayscale) or 3 (RGB)
   * @param height image height in pixels
   * @param width image width in pixels
   * @param source a description of where the images came from, for messages
   * @throws IllegalArgumentException if the sizes do not match the memory or are not positive
   */
  ImageDataset(Arena arena, MemorySegment memory, long count, long channels, long height, long width, String source) {
    if (count <= 0 || channels <= 0 || height <= 0 || width <= 0) {
      throw new IllegalArgumentException("dataset dimensions must be positive: " + count + "x" + channels + "x" + height + "x" + width);
    }
    this.arena = arena;
    this.source = source;
    this.pixels = Scope.release(Torch.fromSegment(memory, DType.UINT8, count, channels, height, width));
  }

  /** @return number of images */
  public long size() {
    return pixels.size(0);
  }

  /** @return channels per image: 1 (grayscale) or 3 (RGB) */
  public long channels() {
    return pixels.size(1);
  }

  /** @return image height in pixels */
  public long height() {
    return pixels.size(2);
  }

  /** @return image width in pixels */
  public long width() {
    return pixels.size(3);
  }

  /** @return where the images came from (a path) */
  public String source() {
    return source;
  }

  /**
   * The raw pixels. Owned by the dataset: do not close it.
   *
   * @return {@code uint8 [count, channels, height, width]}, values 0..255
   */
  public Tensor pixels() {
    return pixels;
  }

  /**
   * Gives the dataset its labels (once, right after it is made).
   *
   * @param values the class of each image, {@code size()} values, each in 0..classNames.size()-1
   * @param names the class names, at least one
   * @throws IllegalArgumentException if the counts do not match or a label is out of range
   */
  void setLabels(long[] values, List<String> names) {
    if (values.length != size()) {
      throw new IllegalArgumentException(values.length + " labels for " + size() + " images in " + source);
    }
    if (names.isEmpty()) throw new IllegalArgumentException("a labelled dataset needs at least one class");
    for (long v : values) {
      if (v < 0 || v >= names.size()) throw new IllegalArgumentException("label " + v + " is outside 0.." + (names.size() - 1));
    }
    if (labels != null) labels.close();
    labels = Scope.release(Torch.tensor(values, values.length));
    classNames = List.copyOf(names);
  }

  /** @return whether every image has a class label */
  public boolean hasLabels() {
    return labels != null;
  }

  /** @return the number of classes, 0 for a dataset without labels */
  public int numClasses() {
    return classNames.size();
  }

  /**
   * @return the class names, index {@code k} for label {@code k} (Fashion-MNIST's "T-shirt/top", "Trouser", ...;
   *     an image folder's sorted subfolder names; an IDX set's labels as numbers); empty without labels
   */
  public List<String> classNames() {
    return classNames;
  }

  /**
   * The class of every image. Owned by the dataset: do not close it.
   *
   * @return int64 {@code [count]} on the CPU, each in 0..numClasses()-1, aligned with {@link #pixels()}
   * @throws IllegalStateException if the dataset has no labels ({@link #hasLabels()})
   */
  public Tensor labels() {
    if (labels == null) throw new IllegalStateException(source + " has no class labels");
    return labels;
  }

  /**
   * Images scaled to the model's range ({@code x / 127.5 - 1}), as DDPM trains on.
   *
   * @param index a 1-d int64 tensor of image indices
   * @return {@code float32 [index.size, channels, height, width]} in [-1, 1], a new tensor
   * @throws io.github.ddpm4j.torch.TorchException if an index is out of range
   */
  public Tensor normalized(Tensor index) {
    try (Scope s = Scope.open()) {
      Tensor x = pixels.indexSelect(0, index).to(DType.FLOAT32).div(127.5).sub(1.0);
      return Scope.keep(x);
    }
  }

  /** Frees the pixel tensor and its off-heap memory. Closing twice does nothing. */
  @Override
  public void close() {
    if (pixels.isClosed()) return;
    if (labels != null) labels.close();
    pixels.close();
    arena.close();
  }

  /** @return size and source */
  @Override
  public String toString() {
    return "ImageDataset[" + size() + " x " + channels() + "x" + height() + "x" + width() + " from " + source + "]";
  }
}
