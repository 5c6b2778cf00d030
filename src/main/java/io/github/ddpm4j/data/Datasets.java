package io.github.ddpm4j.data;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Opens a training set by name: {@code fashion-mnist} (Debian's
 * {@code dataset-fashion-mnist} package), an MNIST-style IDX directory or
 * file, or a folder of PNG/JPEG images.
 */
public final class Datasets {
  /** Where Debian's {@code dataset-fashion-mnist} package puts its files. */
  public static final Path FASHION_MNIST = Path.of("/usr/share/datasets/fashion-mnist");

  private Datasets() {}

  /**
   * @param spec {@code fashion-mnist}, a directory holding {@code train-images-idx3-ubyte[.gz]}, an IDX
   *     image file, or a folder of images
   * @param imageSize side of the square images the model wants; IDX images of another size are resized (bilinear)
   * @param channels channels the model wants: 1, or 3 (image folders only; IDX files are grayscale)
   * @param limit at most this many images (0: all)
   * @return the images, {@code uint8 [count, channels, imageSize, imageSize]}
   * @throws DatasetException if the path does not exist, a file is missing, corrupt or of the wrong kind, or a folder is empty
   * @throws IllegalArgumentException if {@code imageSize} or {@code channels} is invalid, or an IDX set is asked for in RGB
   */
  public static ImageDataset open(String spec, int imageSize, int channels, long limit) throws DatasetException {
    Path path = spec.equals("fashion-mnist") ? FASHION_MNIST : Path.of(spec);
    if (spec.equals("fashion-mnist") && !Files.isDirectory(path)) {
      throw new DatasetException(path, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    }
    if (!Files.exists(path)) throw new DatasetException(path, "no such file or directory");
    boolean idx = Files.isRegularFile(path) || (Files.isDirectory(path) && hasIdx(path));
    if (!idx) return ImageFolderReader.read(path, imageSize, channels, limit);
    if (channels != 1) throw new IllegalArgumentException("IDX images are grayscale: channels must be 1, got " + channels);
    ImageDataset ds = IdxReader.readImages(Files.isDirectory(path) ? IdxReader.trainImages(path) : path, limit);
    if (ds.height() == imageSize && ds.width() == imageSize) return ds;
    try (ds) {
      return resized(ds, imageSize);
    }
  }

  private static boolean hasIdx(Path dir) {
    try {
      IdxReader.trainImages(dir);
      return true;
    } catch (DatasetException e) {
      return false;
    }
  }

  /** Bilinear resize into a new off-heap dataset. */
  static ImageDataset resized(ImageDataset ds, int size) {
    Arena arena = Arena.ofShared();
    try (Scope s = Scope.open()) {
      Tensor x = Functional.interpolate(ds.pixels().to(DType.FLOAT32), size, size, Functional.InterpolateMode.BILINEAR, false);
      Tensor px = x.round().clamp(0, 255).to(DType.UINT8).contiguous();
      MemorySegment memory = arena.allocate(px.nbytes(), 64);
      MemorySegment.copy(px.data(), 0, memory, 0, px.nbytes());
      px.close();
      return new ImageDataset(arena, memory, ds.size(), ds.channels(), size, size, ds.source() + " (resized to " + size + ")");
    } catch (RuntimeException e) {
      arena.close();
      throw e;
    }
  }
}
