package io.github.ddpm4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageWriterTest extends TorchTestBase {
  @TempDir Path dir;

  /** Model-range images whose pixel p of image i maps to the byte {@code 10 * i + p} (c = 1). */
  private static Tensor images(int n, int c, int h, int w) {
    float[] v = new float[n * c * h * w];
    for (int i = 0; i < v.length; i++) v[i] = (float) ((i % 256) / 127.5 - 1);
    return Torch.tensor(v, n, c, h, w);
  }

  private static int expected(int n, int c, int h, int w, int i, int ch, int y, int x) {
    return ((((i * c) + ch) * h + y) * w + x) % 256;
  }

  @Test
  void toPixelsMapsTheModelRangeToBytes() {
    Tensor x = Torch.tensor(new float[] {-1f, 0f, 1f, 2f, -3f, 0.5f, -0.999f, 1.5f}, 1, 1, 2, 4);
    Tensor px = ImageWriter.toPixels(x);
    assertEquals(DType.UINT8, px.dtype());
    byte[] b = px.toByteArray();
    int[] u = new int[b.length];
    for (int i = 0; i < b.length; i++) u[i] = Byte.toUnsignedInt(b[i]);
    assertArrayEquals(new int[] {0, 128, 255, 255, 0, 191, 0, 255}, u);
    assertThrows(IllegalArgumentException.class, () -> ImageWriter.toPixels(Torch.zeros(1, 2, 3, 3)));
    assertThrows(IllegalArgumentException.class, () -> ImageWriter.toPixels(Torch.zeros(3, 3, 3)));
  }

  @Test
  void grayscaleGridHasTheLayoutOfMakeGrid() {
    int n = 5, h = 2, w = 3, pad = 1, nrow = 3;
    BufferedImage g = ImageWriter.grid(images(n, 1, h, w), nrow, pad);
    assertEquals(BufferedImage.TYPE_BYTE_GRAY, g.getType());
    assertEquals(3 * (w + pad) + pad, g.getWidth());
    assertEquals(2 * (h + pad) + pad, g.getHeight());
    int[][] owner = new int[g.getHeight()][g.getWidth()];
    for (int[] row : owner) java.util.Arrays.fill(row, -1);
    for (int i = 0; i < n; i++) {
      int ox = pad + (i % nrow) * (w + pad), oy = pad + (i / nrow) * (h + pad);
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          assertEquals(expected(n, 1, h, w, i, 0, y, x), g.getRaster().getSample(ox + x, oy + y, 0), "image " + i);
          owner[oy + y][ox + x] = i;
        }
      }
    }
    for (int y = 0; y < g.getHeight(); y++) {
      for (int x = 0; x < g.getWidth(); x++) {
        if (owner[y][x] < 0) assertEquals(0, g.getRaster().getSample(x, y, 0), "padding and empty cells are black");
      }
    }
  }

  @Test
  void rgbGridKeepsTheChannels() {
    int n = 2, h = 2, w = 2;
    BufferedImage g = ImageWriter.grid(images(n, 3, h, w), 8, 2);
    assertEquals(2 * (w + 2) + 2, g.getWidth(), "fewer images than nrow: one row of n");
    assertEquals(h + 4, g.getHeight());
    for (int i = 0; i < n; i++) {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int rgb = g.getRGB(2 + i * (w + 2) + x, 2 + y);
          assertEquals(expected(n, 3, h, w, i, 0, y, x), (rgb >> 16) & 0xff);
          assertEquals(expected(n, 3, h, w, i, 1, y, x), (rgb >> 8) & 0xff);
          assertEquals(expected(n, 3, h, w, i, 2, y, x), rgb & 0xff);
        }
      }
    }
    assertEquals(0, g.getRGB(0, 0) & 0xffffff);
  }

  @Test
  void gridWithoutPaddingIsTheImageItself() {
    BufferedImage g = ImageWriter.grid(images(1, 1, 4, 5), 1, 0);
    assertEquals(5, g.getWidth());
    assertEquals(4, g.getHeight());
    assertEquals(expected(1, 1, 4, 5, 0, 0, 3, 4), g.getRaster().getSample(4, 3, 0));
    assertThrows(IllegalArgumentException.class, () -> ImageWriter.grid(images(1, 1, 2, 2), 0, 0));
    assertThrows(IllegalArgumentException.class, () -> ImageWriter.grid(images(1, 1, 2, 2), 1, -1));
  }

  private List<Path> entries() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.toList();
    }
  }

  @Test
  void writesAPngThatReadsBackExactly() throws IOException {
    BufferedImage g = ImageWriter.grid(images(3, 1, 4, 4), 2, 1);
    Path file = dir.resolve("out/deeper/grid.png");
    ImageWriter.writePng(g, file);
    BufferedImage back = ImageIO.read(file.toFile());
    assertEquals(g.getWidth(), back.getWidth());
    assertEquals(g.getHeight(), back.getHeight());
    for (int y = 0; y < g.getHeight(); y++) {
      for (int x = 0; x < g.getWidth(); x++) assertEquals(g.getRaster().getSample(x, y, 0), back.getRaster().getSample(x, y, 0));
    }
    ImageWriter.writePng(ImageWriter.grid(images(1, 3, 4, 4), 1, 0), file);
    assertEquals(4, ImageIO.read(file.toFile()).getWidth(), "replaced");
    try (Stream<Path> s = Files.list(file.getParent())) {
      assertEquals(List.of(file), s.toList(), "no temporary file is left behind");
    }
  }

  @Test
  void writesAnAnimatedGifWithEveryFrame() throws IOException {
    List<BufferedImage> frames = new ArrayList<>();
    for (int f = 0; f < 4; f++) frames.add(ImageWriter.grid(images(2, 1, 3, 3).add(f * 0.1), 2, 1));
    Path file = dir.resolve("a.gif");
    ImageWriter.writeGif(frames, 120, file);
    ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
    try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
      reader.setInput(in);
      assertEquals(4, reader.getNumImages(true));
      for (int f = 0; f < 4; f++) {
        BufferedImage img = reader.read(f);
        assertEquals(frames.get(0).getWidth(), img.getWidth());
        assertEquals(frames.get(0).getHeight(), img.getHeight());
        IIOMetadataNode root = (IIOMetadataNode) reader.getImageMetadata(f).getAsTree("javax_imageio_gif_image_1.0");
        IIOMetadataNode gce = (IIOMetadataNode) root.getElementsByTagName("GraphicControlExtension").item(0);
        assertEquals("12", gce.getAttribute("delayTime"));
      }
      IIOMetadataNode first = (IIOMetadataNode) reader.getImageMetadata(0).getAsTree("javax_imageio_gif_image_1.0");
      IIOMetadataNode app = (IIOMetadataNode) first.getElementsByTagName("ApplicationExtension").item(0);
      assertEquals("NETSCAPE", app.getAttribute("applicationID"));
      BufferedImage f0 = reader.read(0);
      int gray = f0.getRaster().getNumBands() == 1 ? f0.getRaster().getSample(1, 1, 0) : f0.getRGB(1, 1) & 0xff;
      assertEquals(frames.get(0).getRaster().getSample(1, 1, 0), gray, 2.0, "a grayscale frame keeps its gray level");
    } finally {
      reader.dispose();
    }
    assertEquals(List.of(file), entries());
  }

  @Test
  void rejectsBadGifArguments() {
    Path file = dir.resolve("b.gif");
    BufferedImage a = new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_GRAY);
    BufferedImage b = new BufferedImage(5, 4, BufferedImage.TYPE_BYTE_GRAY);
    assertThrows(IllegalArgumentException.class, () -> ImageWriter.writeGif(List.of(), 100, file));
    assertThrows(IllegalArgumentException.class, () -> ImageWriter.writeGif(List.of(a), 0, file));
    IllegalArgumentException sizes = assertThrows(IllegalArgumentException.class, () -> ImageWriter.writeGif(List.of(a, b), 100, file));
    assertTrue(sizes.getMessage().contains("frame 1 is 5x4"), sizes.getMessage());
    assertTrue(Files.notExists(file));
  }
}
