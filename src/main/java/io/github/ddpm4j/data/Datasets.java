package io.github.ddpm4j.data;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.HexFormat;

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
   * @return the images, {@code uint8 [count, channels, imageSize, imageSize]}, with class labels when the IDX image
   *     file has a label file beside it ({@link IdxReader#labelsFor}; Fashion-MNIST's named as
   *     {@link #FASHION_MNIST_CLASSES}, other IDX sets' as their numbers) or the image folder's images all lie in
   *     subfolders (the class of an image is the name of the first-level subfolder it lies in, the classes the
   *     sorted subfolder names)
   * @throws DatasetException if the path does not exist, a file is missing, corrupt or of the wrong kind, or a folder is empty,
   *     or a label file is corrupt or its count differs from its image file's (naming both files);
   *     a single file is told by its first bytes: one that is not an IDX image file (nor named {@code .gz}), e.g. a single
   *     PNG or JPEG image, is refused with a message saying what it is and what a data set can be
   * @throws IllegalArgumentException if {@code imageSize} or {@code channels} is invalid, or an IDX set is asked for in RGB
   */
  public static ImageDataset open(String spec, int imageSize, int channels, long limit) throws DatasetException {
    Path path = spec.equals("fashion-mnist") ? FASHION_MNIST : Path.of(spec);
    if (spec.equals("fashion-mnist") && !Files.isDirectory(path)) {
      throw new DatasetException(path, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    }
    if (!Files.exists(path)) throw new DatasetException(path, "no such file or directory");
    if (Files.isRegularFile(path)) requireIdx(path);
    boolean idx = Files.isRegularFile(path) || (Files.isDirectory(path) && hasIdx(path));
    if (!idx) return ImageFolderReader.read(path, imageSize, channels, limit);
    if (channels != 1) throw new InvalidSettingException("IDX images are grayscale: {channels} must be 1, got {}", channels);
    Path imagesFile = Files.isDirectory(path) ? IdxReader.trainImages(path) : path;
    ImageDataset ds = IdxReader.readImages(imagesFile, limit);
    try {
      Path labelsFile = IdxReader.labelsFor(imagesFile);
      if (labelsFile != null && Files.isRegularFile(labelsFile)) {
        long[] labels = IdxReader.readLabels(labelsFile, imagesFile, 0);
        ds.setLabels(Arrays.copyOf(labels, (int) ds.size()), idxClassNames(path, labelsFile, labels));
      }
    } catch (DatasetException | RuntimeException e) {
      ds.close();
      throw e;
    }
    if (ds.height() == imageSize && ds.width() == imageSize) return ds;
    try (ds) {
      return resized(ds, imageSize);
    }
  }

  /** Fashion-MNIST's ten classes, in the order of its labels 0..9 (Xiao et al. 2017, table 1). */
  public static final List<String> FASHION_MNIST_CLASSES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

  /**
   * The classes of a data set, found without reading its images: those of {@link #open}'s labels, whatever its
   * {@code limit}.
   *
   * @param spec as {@link #open} takes it
   * @return the class names, index {@code k} for label {@code k}; empty if the data set has no labels
   * @throws DatasetException if the path does not exist, or a label file is corrupt or does not match its images
   */
  public static List<String> classNames(String spec) throws DatasetException {
    Path path = spec.equals("fashion-mnist") ? FASHION_MNIST : Path.of(spec);
    if (!Files.exists(path)) throw new DatasetException(path, "no such file or directory");
    boolean idx = Files.isRegularFile(path) || (Files.isDirectory(path) && hasIdx(path));
    if (!idx) return ImageFolderReader.classNames(path);
    Path imagesFile = Files.isDirectory(path) ? IdxReader.trainImages(path) : path;
    Path labelsFile = IdxReader.labelsFor(imagesFile);
    if (labelsFile == null || !Files.isRegularFile(labelsFile)) return List.of();
    return idxClassNames(path, labelsFile, IdxReader.readLabels(labelsFile, imagesFile, 0));
  }

  /** Fashion-MNIST's names for its own files, else the numbers 0..max(label). */
  private static List<String> idxClassNames(Path path, Path labelsFile, long[] labels) throws DatasetException {
    boolean fashion = path.toAbsolutePath().normalize().equals(FASHION_MNIST);
    int classes = fashion ? FASHION_MNIST_CLASSES.size() : (int) Arrays.stream(labels).max().orElse(0) + 1;
    if (fashion && Arrays.stream(labels).anyMatch(l -> l >= classes)) {
      throw new DatasetException(labelsFile, "Fashion-MNIST labels must be in 0.." + (classes - 1));
    }
    return fashion ? FASHION_MNIST_CLASSES : numbered(classes);
  }

  private static List<String> numbered(int classes) {
    List<String> names = new ArrayList<>();
    for (int i = 0; i < classes; i++) names.add(Integer.toString(i));
    return names;
  }

  /** What {@link #open} accepts, for messages. */
  static final String ACCEPTED = "--data accepts fashion-mnist, an MNIST-style IDX directory or *-images-idx3-ubyte[.gz] file,"
      + " or a folder of PNG/JPEG images";

  /**
   * Lets a single file through to {@link IdxReader} only if its first bytes are those of an IDX
   * image file ({@link IdxReader#IMAGES_MAGIC}) or, for a name ending in {@code .gz}, of anything
   * the IDX reader will then check as gzip.
   *
   * @throws DatasetException saying what the file is instead, and what a data set can be
   */
  private static void requireIdx(Path file) throws DatasetException {
    byte[] head;
    try (InputStream in = Files.newInputStream(file)) {
      head = in.readNBytes(4);
    } catch (IOException e) {
      throw new DatasetException(file, "cannot read: " + e.getMessage(), e);
    }
    boolean gzName = file.getFileName().toString().endsWith(".gz");
    if (gzName || (head.length == 4 && ByteBuffer.wrap(head).getInt() == IdxReader.IMAGES_MAGIC)) return;
    throw new DatasetException(file, describe(head) + ", not a data set; " + ACCEPTED);
  }

  /** @return what a file that starts with {@code head} (its first bytes, at most 4) is */
  private static String describe(byte[] head) {
    int n = head.length;
    int magic = ByteBuffer.wrap(Arrays.copyOf(head, 4)).getInt();
    if (n == 0) return "an empty file";
    if (n == 4 && magic == 0x89504E47) return "a single PNG image"; // PNG's signature starts \x89PNG
    if (n >= 3 && magic >>> 8 == 0xFFD8FF) return "a single JPEG image"; // start of image, then a marker
    if (n >= 2 && magic >>> 16 == 0x1F8B) return "gzip data in a file whose name does not end in .gz";
    int idxType = magic >>> 8; // IDX: two zero bytes, a type code 0x08 to 0x0E, the number of dimensions
    if (n == 4 && idxType >= 0x08 && idxType <= 0x0E) {
      return String.format("an IDX file of other data (magic 0x%08x; IDX images are 0x%08x)", magic, IdxReader.IMAGES_MAGIC);
    }
    return "not an IDX image file (it starts with 0x" + HexFormat.of().formatHex(head) + ")";
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
      ImageDataset out = new ImageDataset(arena, memory, ds.size(), ds.channels(), size, size, ds.source() + " (resized to " + size + ")");
      if (ds.hasLabels()) out.setLabels(ds.labels().toLongArray(), ds.classNames());
      return out;
    } catch (RuntimeException e) {
      arena.close();
      throw e;
    }
  }
}
