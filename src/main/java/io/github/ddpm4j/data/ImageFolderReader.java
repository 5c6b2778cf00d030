package io.github.ddpm4j.data;

import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Reads a folder of PNG and JPEG images, searched recursively in sorted path
 * order, into one off-heap {@link ImageDataset}. Each image is scaled so that
 * its shorter side equals the target size (bilinear), then centre-cropped to a
 * square, and converted to grayscale or RGB.
 */
public final class ImageFolderReader {
  /**
   * The most pixels (width times height) of an image this reader decodes: 50 megapixels, e.g.
   * 8660x5773 or 7071x7071. Decoding makes a {@link BufferedImage} of up to 4 bytes per pixel on
   * the Java heap (200 MB at this bound), so a larger image is refused, from the size in its header
   * and before any pixel is decoded, instead of running the JVM out of memory. Training images are
   * scaled down to the model's size anyway.
   */
  public static final long MAX_PIXELS = 50_000_000L;

  private ImageFolderReader() {}

  /**
   * @param dir the folder
   * @param size the side of the square output images, in pixels, &gt; 0
   * @param channels 1 for grayscale, 3 for RGB
   * @param limit read at most this many images (&lt;= 0: all)
   * @return a dataset of {@code uint8 [count, channels, size, size]}; labelled when every image lies in a
   *     subfolder: the class of an image is the first-level subfolder it lies in, the classes are the sorted names
   *     of those subfolders; without labels when any image lies in {@code dir} itself
   * @throws DatasetException if the folder is missing or holds no PNG/JPEG file, or a file cannot be decoded
   *     or has more than {@link #MAX_PIXELS} pixels
   * @throws IllegalArgumentException if {@code size} or {@code channels} is invalid
   */
  public static ImageDataset read(Path dir, int size, int channels, long limit) throws DatasetException {
    List<Path> files = list(dir);
    List<String> names = classNames(dir, files);
    if (limit > 0 && files.size() > limit) files = files.subList(0, (int) limit);
    ImageDataset ds = readFiles(files, size, channels, dir.toString());
    if (!names.isEmpty()) {
      long[] labels = new long[files.size()];
      for (int i = 0; i < labels.length; i++) labels[i] = names.indexOf(dir.relativize(files.get(i)).getName(0).toString());
      ds.setLabels(labels, names);
    }
    return ds;
  }

  /**
   * Reads the given image files, in order, scaled and centre-cropped as {@link #read} does.
   *
   * @param files PNG or JPEG files, at least one
   * @param size the side of the square output images, in pixels
   * @param channels 1 for grayscale, 3 for RGB
   * @param source a description for messages
   * @return a dataset of {@code uint8 [files.size(), channels, size, size]}
   * @throws DatasetException if a file is missing, cannot be decoded ("corrupt image") or has more than
   *     {@link #MAX_PIXELS} pixels (the message gives its size)
   * @throws IllegalArgumentException if the list is empty, or {@code size} or {@code channels} is invalid
   */
  public static ImageDataset readFiles(List<Path> files, int size, int channels, String source) throws DatasetException {
    if (files.isEmpty()) throw new IllegalArgumentException("no image files given");
    if (size <= 0 || size > IdxReader.MAX_SIDE) throw new IllegalArgumentException("image size must be in 1.." + IdxReader.MAX_SIDE + ", got " + size);
    if (channels != 1 && channels != 3) throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
    for (Path f : files) if (!Files.isRegularFile(f)) throw new DatasetException(f, "no such file");
    long imageBytes = (long) channels * size * size;
    Arena arena = Arena.ofShared();
    boolean ok = false;
    try {
      MemorySegment memory = arena.allocate(imageBytes * files.size(), 64);
      for (int i = 0; i < files.size(); i++) {
        BufferedImage img = decode(files.get(i));
        write(squareCrop(img, size), channels, memory.asSlice(i * imageBytes, imageBytes));
      }
      ImageDataset ds = new ImageDataset(arena, memory, files.size(), channels, size, size, source);
      ok = true;
      return ds;
    } finally {
      if (!ok) arena.close();
    }
  }

  /**
   * The classes of a folder of images, as {@link #read} labels them.
   *
   * @param dir the folder
   * @return the sorted names of the first-level subfolders that hold images; empty if an image lies in
   *     {@code dir} itself
   * @throws DatasetException if the folder is missing or holds no PNG/JPEG file
   */
  static List<String> classNames(Path dir) throws DatasetException {
    return classNames(dir, list(dir));
  }

  private static List<String> classNames(Path dir, List<Path> files) {
    TreeSet<String> classes = new TreeSet<>();
    for (Path f : files) {
      Path rel = dir.relativize(f);
      if (rel.getNameCount() < 2) return List.of();
      classes.add(rel.getName(0).toString());
    }
    return new ArrayList<>(classes);
  }

  private static List<Path> list(Path dir) throws DatasetException {
    if (!Files.isDirectory(dir)) throw new DatasetException(dir, "not a directory");
    List<Path> files = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.filter(Files::isRegularFile).filter(ImageFolderReader::isImage).sorted().forEach(files::add);
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new DatasetException(dir, "cannot list: " + e.getMessage(), e);
    }
    if (files.isEmpty()) throw new DatasetException(dir, "contains no .png, .jpg or .jpeg file");
    return files;
  }

  private static boolean isImage(Path p) {
    String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
    return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
  }

  /**
   * Decodes one image after reading its size from its header, as {@link ImageIO#read} does but
   * with the size checked before any pixel is decoded.
   */
  private static BufferedImage decode(Path file) throws DatasetException {
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      if (in == null) throw new DatasetException(file, "cannot open for reading");
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) throw new DatasetException(file, "corrupt image: no PNG or JPEG decoder recognises its content");
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        long width = reader.getWidth(0), height = reader.getHeight(0);
        if (width <= 0 || height <= 0) throw new DatasetException(file, "image has no pixels");
        if (width * height > MAX_PIXELS) {
          throw new DatasetException(file, "image too large: " + width + "x" + height + " pixels, more than the "
              + MAX_PIXELS / 1_000_000 + " megapixels this reader decodes");
        }
        return reader.read(0);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      if (e instanceof DatasetException d) throw d;
      throw new DatasetException(file, "corrupt image: " + e.getMessage(), e);
    }
  }

  /** Scales the shorter side to {@code size} and centre-crops to {@code size x size}, as RGB. */
  static BufferedImage squareCrop(BufferedImage img, int size) {
    double scale = (double) size / Math.min(img.getWidth(), img.getHeight());
    int w = Math.max(size, (int) Math.round(img.getWidth() * scale));
    int h = Math.max(size, (int) Math.round(img.getHeight() * scale));
    BufferedImage out = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = out.createGraphics();
    try {
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
      g.setRenderingHint(RenderingHints.KEY_RENDERING, RenderingHints.VALUE_RENDER_QUALITY);
      g.drawImage(img, -(w - size) / 2, -(h - size) / 2, w, h, null);
    } finally {
      g.dispose();
    }
    return out;
  }

  /** Writes the image planar ([channels, size, size]); grayscale uses ITU-R BT.601 luma. */
  private static void write(BufferedImage img, int channels, MemorySegment dst) {
    int size = img.getWidth();
    int plane = size * size;
    for (int y = 0; y < size; y++) {
      for (int x = 0; x < size; x++) {
        int rgb = img.getRGB(x, y);
        int r = (rgb >> 16) & 0xff, gr = (rgb >> 8) & 0xff, b = rgb & 0xff;
        long at = (long) y * size + x;
        if (channels == 1) {
          dst.set(ValueLayout.JAVA_BYTE, at, (byte) Math.round(0.299 * r + 0.587 * gr + 0.114 * b));
        } else {
          dst.set(ValueLayout.JAVA_BYTE, at, (byte) r);
          dst.set(ValueLayout.JAVA_BYTE, plane + at, (byte) gr);
          dst.set(ValueLayout.JAVA_BYTE, 2L * plane + at, (byte) b);
        }
      }
    }
  }
}
