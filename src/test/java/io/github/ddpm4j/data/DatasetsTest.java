package io.github.ddpm4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.TorchTestBase;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@link Datasets#open} makes of a single file: it tells IDX from anything else by its first bytes. */
class DatasetsTest extends TorchTestBase {
  @TempDir Path dir;

  /** PNG's signature (ISO/IEC 15948, 5.2) and JPEG's start-of-image marker with the next marker's 0xFF. */
  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10};
  private static final byte[] JPEG_START = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF};

  private Path image(String name, String format) throws IOException {
    Path f = dir.resolve(name);
    assertTrue(ImageIO.write(new BufferedImage(8, 8, BufferedImage.TYPE_INT_RGB), format, f.toFile()));
    return f;
  }

  private static void startsWith(Path f, byte[] prefix) throws IOException {
    assertArrayEquals(prefix, Arrays.copyOf(Files.readAllBytes(f), prefix.length), "the test file's own signature");
  }

  private static DatasetException rejects(Path f) {
    DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(f.toString(), 8, 1, 0));
    assertEquals(f, e.file());
    assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
    for (String accepted : new String[] {"fashion-mnist", "MNIST-style IDX directory", "-images-idx3-ubyte[.gz]", "folder of PNG/JPEG images"}) {
      assertMentions(e, accepted);
    }
    return e;
  }

  private static void assertMentions(Exception e, String text) {
    assertTrue(e.getMessage().contains(text), () -> "'" + text + "' not in: " + e.getMessage());
  }

  @Test
  void aSinglePngOrJpegIsNamedAsSuch() throws IOException {
    Path png = image("x.png", "png");
    startsWith(png, PNG_SIGNATURE);
    assertMentions(rejects(png), "a single PNG image");
    Path jpeg = image("x.jpg", "jpeg");
    startsWith(jpeg, JPEG_START);
    assertMentions(rejects(jpeg), "a single JPEG image");
  }

  @Test
  void theContentDecidesNotTheName() throws IOException {
    Path png = Files.move(image("x.png", "png"), dir.resolve("train-images-idx3-ubyte"));
    assertMentions(rejects(png), "a single PNG image");
    byte[] idx = IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 2, 8, 8, IdxFiles.pattern(2, 8, 8));
    Path unusual = Files.write(dir.resolve("pictures.png"), idx);
    try (ImageDataset ds = Datasets.open(unusual.toString(), 8, 1, 0)) {
      assertArrayEquals(IdxFiles.pattern(2, 8, 8), ds.pixels().contiguous().toByteArray());
    }
    Path gz = Files.write(dir.resolve("images.gz"), IdxFiles.gzip(idx));
    try (ImageDataset ds = Datasets.open(gz.toString(), 8, 1, 0)) {
      assertEquals(2, ds.size());
    }
  }

  @Test
  void otherFilesAreDescribed() throws IOException {
    DatasetException text = rejects(Files.writeString(dir.resolve("notes.txt"), "hello, world"));
    assertMentions(text, "not an IDX image file");
    assertMentions(text, "0x68656c6c"); // "hell"
    DatasetException empty = rejects(Files.write(dir.resolve("empty"), new byte[0]));
    assertMentions(empty, "an empty file");
    byte[] labels = {0, 0, 8, 1, 0, 0, 0, 2, 3, 4};
    DatasetException idx1 = rejects(Files.write(dir.resolve("train-labels-idx1-ubyte"), labels));
    assertMentions(idx1, "an IDX file of other data (magic 0x00000801");
    DatasetException gzipNoSuffix = rejects(Files.write(dir.resolve("images"), IdxFiles.gzip(labels)));
    assertMentions(gzipNoSuffix, "gzip data in a file whose name does not end in .gz");
  }

  @Test
  void aGzNameStillGoesToTheIdxReader() throws IOException {
    Path raw = Files.write(dir.resolve("raw-idx3-ubyte.gz"), IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 1, 8, 8, new byte[64]));
    DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(raw.toString(), 8, 1, 0));
    assertMentions(e, "corrupt gzip data");
  }
}
