package io.github.ddpm4j.data;

import io.github.ddpm4j.io.AtomicFiles;
import io.github.ddpm4j.io.FileErrors;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;

/**
 * Turns model-range image tensors into pictures: PNG files, grids of samples
 * (the layout of torchvision's {@code make_grid}), and animated GIFs. Pixels
 * are read straight from a zero-copy view of a {@code uint8} tensor.
 */
public final class ImageWriter {
  private ImageWriter() {}

  /**
   * Maps {@code [-1, 1]} to {@code 0..255} ({@code round((x + 1) * 127.5)}, clamped) on the CPU.
   *
   * @param images float tensor {@code [N, C, H, W]} with C = 1 or 3, values nominally in [-1, 1]
   * @return a contiguous {@code uint8 [N, C, H, W]} CPU tensor, owned by the caller (or its scope)
   * @throws IllegalArgumentException if the shape is not {@code [N, 1|3, H, W]}
   */
  public static Tensor toPixels(Tensor images) {
    long[] s = images.shape();
    if (s.length != 4 || (s[1] != 1 && s[1] != 3)) {
      throw new IllegalArgumentException("images must be [batch, 1 or 3, height, width], got " + java.util.Arrays.toString(s));
    }
    try (Scope scope = Scope.open()) {
      Tensor x = images.to(DType.FLOAT32, Device.CPU).add(1.0).mul(127.5).round().clamp(0, 255).to(DType.UINT8).contiguous();
      return Scope.keep(x);
    }
  }

  /**
   * Lays out images in a grid, {@code nrow} per row, separated by {@code padding} black pixels.
   *
   * @param images float tensor {@code [N, C, H, W]} in [-1, 1], C = 1 or 3
   * @param nrow images per row, &gt; 0
   * @param padding pixels between and around images, &gt;= 0
   * @return the picture (grayscale for C = 1, RGB for C = 3)
   * @throws IllegalArgumentException if the shape or layout arguments are invalid
   */
  public static BufferedImage grid(Tensor images, int nrow, int padding) {
    if (nrow <= 0) throw new IllegalArgumentException("nrow must be positive, got " + nrow);
    if (padding < 0) throw new IllegalArgumentException("padding must be >= 0, got " + padding);
    try (Scope scope = Scope.open()) {
      Tensor px = toPixels(images);
      int n = (int) px.size(0), c = (int) px.size(1), h = (int) px.size(2), w = (int) px.size(3);
      int cols = Math.min(nrow, n);
      int rows = (n + nrow - 1) / nrow;
      int gw = cols * (w + padding) + padding;
      int gh = rows * (h + padding) + padding;
      BufferedImage out = new BufferedImage(gw, gh, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
      MemorySegment data = px.data();
      long plane = (long) h * w;
      for (int i = 0; i < n; i++) {
        int ox = padding + (i % nrow) * (w + padding);
        int oy = padding + (i / nrow) * (h + padding);
        long base = (long) i * c * plane;
        for (int y = 0; y < h; y++) {
          for (int x = 0; x < w; x++) {
            long at = base + (long) y * w + x;
            int r = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, at));
            if (c == 1) {
              out.getRaster().setSample(ox + x, oy + y, 0, r);
            } else {
              int g = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, at + plane));
              int b = Byte.toUnsignedInt(data.get(ValueLayout.JAVA_BYTE, at + 2 * plane));
              out.setRGB(ox + x, oy + y, (r << 16) | (g << 8) | b);
            }
          }
        }
      }
      return out;
    }
  }

  /**
   * Encodes a picture as PNG bytes, in memory. Registers no shutdown hook (ImageIO's file-backed
   * streams do, which fails while the JVM shuts down), so it works inside a Ctrl-C handler too.
   *
   * @param image the picture
   * @return the PNG file's bytes
   * @throws IOException if no PNG encoder is available or encoding fails
   */
  public static byte[] png(BufferedImage image) throws IOException {
    return encode("png", writer -> writer.write(image));
  }

  /**
   * Writes a PNG with {@link AtomicFiles}: encoded in memory, then written beside the destination,
   * forced to disk and renamed over it.
   *
   * @param image the picture
   * @param file the destination; parent folders are created
   * @throws java.nio.file.FileSystemException naming the file (or the folder that cannot be
   *     created) and the reason if writing fails; the destination is then untouched
   * @throws IOException if encoding fails
   */
  public static void writePng(BufferedImage image, Path file) throws IOException {
    write(png(image), file);
  }

  /**
   * Writes an animated GIF that loops forever, encoded in memory and written with {@link AtomicFiles}.
   *
   * @param frames the frames, all of one size
   * @param delayMillis time per frame in milliseconds (GIF stores hundredths), &gt; 0
   * @param file the destination; parent folders are created
   * @throws java.nio.file.FileSystemException naming the file (or the folder that cannot be
   *     created) and the reason if writing fails; the destination is then untouched
   * @throws IOException if encoding fails
   * @throws IllegalArgumentException if there are no frames, they differ in size, or the delay is not positive
   */
  public static void writeGif(List<BufferedImage> frames, int delayMillis, Path file) throws IOException {
    if (frames.isEmpty()) throw new IllegalArgumentException("a GIF needs at least one frame");
    if (delayMillis <= 0) throw new IllegalArgumentException("frame delay must be positive, got " + delayMillis);
    int width = frames.get(0).getWidth(), height = frames.get(0).getHeight();
    for (int i = 1; i < frames.size(); i++) {
      if (frames.get(i).getWidth() != width || frames.get(i).getHeight() != height) {
        throw new IllegalArgumentException("GIF frames must all be " + width + "x" + height + ", frame " + i + " is "
            + frames.get(i).getWidth() + "x" + frames.get(i).getHeight());
      }
    }
    byte[] gif = encode("gif", writer -> {
      writer.prepareWriteSequence(null);
      for (int i = 0; i < frames.size(); i++) {
        BufferedImage f = frames.get(i);
        ImageWriteParam param = writer.getDefaultWriteParam();
        IIOMetadata meta = writer.getDefaultImageMetadata(ImageTypeSpecifier.createFromRenderedImage(f), param);
        String format = meta.getNativeMetadataFormatName();
        IIOMetadataNode root = (IIOMetadataNode) meta.getAsTree(format);
        IIOMetadataNode gce = child(root, "GraphicControlExtension");
        gce.setAttribute("disposalMethod", "none");
        gce.setAttribute("userInputFlag", "FALSE");
        gce.setAttribute("transparentColorFlag", "FALSE");
        gce.setAttribute("delayTime", Integer.toString(Math.max(1, delayMillis / 10)));
        gce.setAttribute("transparentColorIndex", "0");
        if (i == 0) {
          IIOMetadataNode apps = child(root, "ApplicationExtensions");
          IIOMetadataNode app = new IIOMetadataNode("ApplicationExtension");
          app.setAttribute("applicationID", "NETSCAPE");
          app.setAttribute("authenticationCode", "2.0");
          app.setUserObject(new byte[] {1, 0, 0});
          apps.appendChild(app);
        }
        meta.setFromTree(format, root);
        writer.writeToSequence(new IIOImage(f, null, meta), param);
      }
      writer.endWriteSequence();
    });
    write(gif, file);
  }

  /** What an encoder writes into its output, which {@link #encode} has set. */
  @FunctionalInterface
  private interface Encoding {
    void write(javax.imageio.ImageWriter writer) throws IOException;
  }

  /**
   * Runs an ImageIO encoder into memory. The output is a {@link MemoryCacheImageOutputStream}, chosen
   * here rather than by {@code ImageIO.createImageOutputStream}, whose choice depends on the global
   * {@code ImageIO.setUseCache} and may be a file-backed stream that registers a shutdown hook.
   */
  private static byte[] encode(String format, Encoding encoding) throws IOException {
    Iterator<javax.imageio.ImageWriter> writers = ImageIO.getImageWritersByFormatName(format);
    if (!writers.hasNext()) throw new IOException("no " + format.toUpperCase(java.util.Locale.ROOT) + " encoder available");
    javax.imageio.ImageWriter writer = writers.next();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
      writer.setOutput(out);
      encoding.write(writer);
    } finally {
      writer.dispose();
    }
    return bytes.toByteArray();
  }

  private static void write(byte[] bytes, Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    FileErrors.createDirectories(dir);
    AtomicFiles.write(file, bytes);
  }

  private static IIOMetadataNode child(IIOMetadataNode root, String name) {
    for (int i = 0; i < root.getLength(); i++) {
      if (root.item(i).getNodeName().equalsIgnoreCase(name)) return (IIOMetadataNode) root.item(i);
    }
    IIOMetadataNode node = new IIOMetadataNode(name);
    root.appendChild(node);
    return node;
  }
}
