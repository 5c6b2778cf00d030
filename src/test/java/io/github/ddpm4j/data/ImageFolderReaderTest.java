package io.github.ddpm4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.TorchTestBase;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderReaderTest extends TorchTestBase {
  @TempDir Path dir;

  private static Path png(Path file, BufferedImage img) throws IOException {
    Files.createDirectories(file.getParent());
    assertTrue(ImageIO.write(img, "png", file.toFile()));
    return file;
  }

  private static BufferedImage uniform(int w, int h, int rgb) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rgb);
    return img;
  }

  private static BufferedImage gray(int w, int h, int value) {
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.getRaster().setSample(x, y, 0, value);
    return img;
  }

  private static int[] unsigned(ImageDataset ds) {
    byte[] b = ds.pixels().contiguous().toByteArray();
    int[] out = new int[b.length];
    for (int i = 0; i < b.length; i++) out[i] = Byte.toUnsignedInt(b[i]);
    return out;
  }

  @Test
  void scalesTheShorterSideAndCropsTheCentre() throws IOException {
    // 6 wide, 4 high: column x holds red 40 * x, so the centre 4x4 crop keeps columns 1..4.
    BufferedImage img = new BufferedImage(6, 4, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 4; y++) for (int x = 0; x < 6; x++) img.setRGB(x, y, (40 * x) << 16 | (10 * y) << 8 | 7);
    png(dir.resolve("wide.png"), img);
    try (ImageDataset ds = ImageFolderReader.read(dir, 4, 3, 0)) {
      assertArrayEquals(new long[] {1, 3, 4, 4}, ds.pixels().shape());
      int[] v = unsigned(ds);
      for (int y = 0; y < 4; y++) {
        for (int x = 0; x < 4; x++) {
          assertEquals(40 * (x + 1), v[y * 4 + x], "red at " + x + "," + y);
          assertEquals(10 * y, v[16 + y * 4 + x], "green at " + x + "," + y);
          assertEquals(7, v[32 + y * 4 + x], "blue at " + x + "," + y);
        }
      }
    }
  }

  @Test
  void resizesToTheRequestedSquare() throws IOException {
    png(dir.resolve("tall.png"), uniform(10, 30, 0x336699));
    png(dir.resolve("small.png"), uniform(3, 3, 0x336699));
    try (ImageDataset ds = ImageFolderReader.read(dir, 6, 3, 0)) {
      assertArrayEquals(new long[] {2, 3, 6, 6}, ds.pixels().shape());
      int[] v = unsigned(ds);
      for (int i = 0; i < 2; i++) {
        for (int p = 0; p < 36; p++) {
          assertEquals(0x33, v[i * 108 + p]);
          assertEquals(0x66, v[i * 108 + 36 + p]);
          assertEquals(0x99, v[i * 108 + 72 + p]);
        }
      }
    }
  }

  @Test
  void convertsToGrayscaleWithBt601Luma() throws IOException {
    png(dir.resolve("a.png"), uniform(5, 5, 200 << 16 | 100 << 8 | 50));
    png(dir.resolve("b.png"), gray(5, 5, 100));
    try (ImageDataset ds = ImageFolderReader.read(dir, 5, 1, 0)) {
      assertArrayEquals(new long[] {2, 1, 5, 5}, ds.pixels().shape());
      int[] v = unsigned(ds);
      for (int p = 0; p < 25; p++) {
        assertEquals(124, v[p], "round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)");
        assertEquals(100, v[25 + p], "a grayscale PNG keeps its values");
      }
    }
    try (ImageDataset ds = ImageFolderReader.read(dir, 5, 3, 0)) {
      int[] v = unsigned(ds);
      assertEquals(100, v[75]);
      assertEquals(100, v[75 + 25]);
      assertEquals(100, v[75 + 50]);
    }
  }

  @Test
  void searchesRecursivelyInSortedPathOrder() throws IOException {
    png(dir.resolve("b.png"), gray(4, 4, 20));
    png(dir.resolve("sub/c.PNG"), gray(4, 4, 30));
    png(dir.resolve("a.png"), gray(4, 4, 10));
    png(dir.resolve("sub/deeper/d.png"), gray(4, 4, 40));
    Files.writeString(dir.resolve("notes.txt"), "not an image");
    try (ImageDataset ds = ImageFolderReader.read(dir, 4, 1, 0)) {
      assertEquals(4, ds.size());
      assertEquals(dir.toString(), ds.source());
      int[] v = unsigned(ds);
      assertArrayEquals(new int[] {10, 20, 30, 40}, new int[] {v[0], v[16], v[32], v[48]});
    }
    try (ImageDataset ds = ImageFolderReader.read(dir, 4, 1, 2)) {
      int[] v = unsigned(ds);
      assertArrayEquals(new int[] {10, 20}, new int[] {v[0], v[16]});
    }
  }

  @Test
  void readsAGivenListInItsOrder() throws IOException {
    Path a = png(dir.resolve("a.png"), gray(4, 4, 10));
    Path b = png(dir.resolve("b.png"), gray(8, 8, 20));
    try (ImageDataset ds = ImageFolderReader.readFiles(List.of(b, a), 4, 1, "pair")) {
      int[] v = unsigned(ds);
      assertEquals(20, v[0]);
      assertEquals(10, v[16]);
      assertEquals("pair", ds.source());
    }
    assertThrows(IllegalArgumentException.class, () -> ImageFolderReader.readFiles(List.of(), 4, 1, "none"));
    assertThrows(IllegalArgumentException.class, () -> ImageFolderReader.readFiles(List.of(a), 4, 2, "x"));
    assertThrows(IllegalArgumentException.class, () -> ImageFolderReader.readFiles(List.of(a), 0, 1, "x"));
    Path missing = dir.resolve("missing.png");
    DatasetException e = assertThrows(DatasetException.class, () -> ImageFolderReader.readFiles(List.of(a, missing), 4, 1, "x"));
    assertEquals(missing, e.file());
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
  }

  @Test
  void rejectsAnEmptyFolder() throws IOException {
    DatasetException e = assertThrows(DatasetException.class, () -> ImageFolderReader.read(dir, 4, 1, 0));
    assertEquals(dir, e.file());
    assertTrue(e.getMessage().contains("no .png, .jpg or .jpeg"), e.getMessage());
    Files.writeString(dir.resolve("readme.txt"), "only text");
    assertThrows(DatasetException.class, () -> ImageFolderReader.read(dir, 4, 1, 0));
    DatasetException viaDatasets = assertThrows(DatasetException.class, () -> Datasets.open(dir.toString(), 4, 1, 0));
    assertEquals(dir, viaDatasets.file());
  }

  @Test
  void rejectsACorruptPngNamingIt() throws IOException {
    png(dir.resolve("a.png"), gray(4, 4, 10));
    Path bad = Files.write(dir.resolve("b.png"), new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 1, 2, 3, 4, 5});
    DatasetException e = assertThrows(DatasetException.class, () -> ImageFolderReader.read(dir, 4, 1, 0));
    assertEquals(bad, e.file());
    assertTrue(e.getMessage().startsWith(bad.toString()), e.getMessage());
    Files.writeString(bad, "garbage that is no image at all");
    DatasetException garbage = assertThrows(DatasetException.class, () -> ImageFolderReader.read(dir, 4, 1, 0));
    assertEquals(bad, garbage.file());
  }

  @Test
  void theHandMadePngEncoderWritesWhatImageIoDecodes() throws IOException {
    BufferedImage img = ImageIO.read(new java.io.ByteArrayInputStream(PngFiles.gray(5, 3, 77)));
    assertEquals(5, img.getWidth());
    assertEquals(3, img.getHeight());
    for (int y = 0; y < 3; y++) for (int x = 0; x < 5; x++) assertEquals(77, img.getRaster().getSample(x, y, 0));
  }

  @Test
  void refusesAnImageTooLargeToDecodeNamingItsSize() throws IOException {
    png(dir.resolve("a.png"), gray(4, 4, 10));
    Path huge = Files.write(dir.resolve("huge.png"), PngFiles.gray(30000, 30000, 0));
    DatasetException e = assertThrows(DatasetException.class, () -> ImageFolderReader.read(dir, 4, 1, 0));
    assertEquals(huge, e.file());
    assertTrue(e.getMessage().startsWith(huge + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("30000x30000 pixels, more than the " + ImageFolderReader.MAX_PIXELS / 1_000_000
        + " megapixels this reader decodes"), e.getMessage());
    assertFalse(e.getMessage().contains("corrupt"), e.getMessage());
    DatasetException viaFiles = assertThrows(DatasetException.class,
        () -> ImageFolderReader.readFiles(java.util.List.of(huge), 4, 3, "x"));
    assertEquals(e.getMessage(), viaFiles.getMessage());
  }

  @Test
  void randomBytesNamedPngAreCorrupt() throws IOException {
    byte[] noise = new byte[4096];
    new java.util.Random(7).nextBytes(noise);
    Path bad = Files.write(dir.resolve("noise.png"), noise);
    DatasetException e = assertThrows(DatasetException.class, () -> ImageFolderReader.read(dir, 4, 1, 0));
    assertEquals(bad, e.file());
    assertTrue(e.getMessage().startsWith(bad + ": corrupt image"), e.getMessage());
    byte[] cut = Arrays.copyOf(PngFiles.gray(64, 64, 9), 60); // the header and part of the pixel data
    Files.write(bad, cut);
    DatasetException truncated = assertThrows(DatasetException.class, () -> ImageFolderReader.read(dir, 4, 1, 0));
    assertTrue(truncated.getMessage().startsWith(bad + ": corrupt image"), truncated.getMessage());
  }

  @Test
  void rejectsAMissingFolder() {
    Path missing = dir.resolve("absent");
    DatasetException e = assertThrows(DatasetException.class, () -> ImageFolderReader.read(missing, 4, 1, 0));
    assertEquals(missing, e.file());
    assertTrue(e.getMessage().startsWith(missing.toString()), e.getMessage());
  }
}
