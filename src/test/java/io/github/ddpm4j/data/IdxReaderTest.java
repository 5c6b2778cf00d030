package io.github.ddpm4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class IdxReaderTest extends TorchTestBase {
  @TempDir Path dir;

  /** Three 2x3 images holding 0..17, written byte by byte. */
  private static final byte[] HAND_WRITTEN = {
    0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 3,
    0, 1, 2, 3, 4, 5,
    6, 7, 8, 9, 10, 11,
    12, 13, 14, 15, 16, (byte) 255};

  private static byte[] values(Tensor t) {
    return t.contiguous().toByteArray();
  }

  @ParameterizedTest
  @ValueSource(strings = {"images-idx3-ubyte", "images-idx3-ubyte.gz"})
  void readsAHandWrittenFileRawAndGzipped(String name) throws IOException {
    Path f = dir.resolve(name);
    Files.write(f, name.endsWith(".gz") ? IdxFiles.gzip(HAND_WRITTEN) : HAND_WRITTEN);
    try (ImageDataset ds = IdxReader.readImages(f, 0)) {
      assertArrayEquals(new long[] {3, 1, 2, 3}, ds.pixels().shape());
      assertEquals(DType.UINT8, ds.pixels().dtype());
      assertEquals(3, ds.size());
      assertEquals(f.toString(), ds.source());
      assertArrayEquals(Arrays.copyOfRange(HAND_WRITTEN, 16, HAND_WRITTEN.length), values(ds.pixels()));
      Tensor x = ds.normalized(io.github.ddpm4j.torch.Torch.tensor(new long[] {2, 0}, 2));
      float[] v = x.toFloatArray();
      assertEquals(12 / 127.5 - 1, v[0], 1e-6);
      assertEquals(1.0, v[5], 1e-6);
      assertEquals(-1.0, v[6], 1e-6);
    }
  }

  @Test
  void limitReadsOnlyTheFirstImages() throws IOException {
    Path f = Files.write(dir.resolve("x-idx3-ubyte"), HAND_WRITTEN);
    try (ImageDataset ds = IdxReader.readImages(f, 2)) {
      assertArrayEquals(new long[] {2, 1, 2, 3}, ds.pixels().shape());
      assertArrayEquals(Arrays.copyOfRange(HAND_WRITTEN, 16, 28), values(ds.pixels()));
    }
    try (ImageDataset ds = IdxReader.readImages(f, 10)) {
      assertEquals(3, ds.size());
    }
  }

  @Test
  void closingTwiceIsHarmless() throws IOException {
    Path f = Files.write(dir.resolve("x-idx3-ubyte"), HAND_WRITTEN);
    ImageDataset ds = IdxReader.readImages(f, 0);
    ds.close();
    ds.close();
    assertTrue(ds.pixels().isClosed());
  }

  private DatasetException rejects(String name, byte[] content) throws IOException {
    Path f = Files.write(dir.resolve(name), content);
    DatasetException e = assertThrows(DatasetException.class, () -> IdxReader.readImages(f, 0));
    assertEquals(f, e.file());
    assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
    return e;
  }

  private static void assertMentions(Exception e, String text) {
    assertTrue(e.getMessage().contains(text), () -> "'" + text + "' not in: " + e.getMessage());
  }

  @Test
  void rejectsATruncatedRawFile() throws IOException {
    assertMentions(rejects("t-idx3-ubyte", Arrays.copyOf(HAND_WRITTEN, HAND_WRITTEN.length - 1)), "truncated");
    assertMentions(rejects("h-idx3-ubyte", Arrays.copyOf(HAND_WRITTEN, 10)), "truncated");
    assertMentions(rejects("e-idx3-ubyte", new byte[0]), "truncated");
  }

  @Test
  void rejectsATruncatedGzipFile() throws IOException {
    byte[] shortData = IdxFiles.gzip(Arrays.copyOf(HAND_WRITTEN, HAND_WRITTEN.length - 4));
    assertMentions(rejects("t-idx3-ubyte.gz", shortData), "truncated");
    byte[] gz = IdxFiles.gzip(IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 50, 20, 20, IdxFiles.pattern(50, 20, 20)));
    assertMentions(rejects("cut-idx3-ubyte.gz", Arrays.copyOf(gz, gz.length / 2)), "truncated");
  }

  @Test
  void rejectsAWrongMagicNumber() throws IOException {
    byte[] labels = HAND_WRITTEN.clone();
    labels[3] = 1;
    DatasetException e = rejects("train-labels-idx1-ubyte", labels);
    assertMentions(e, "wrong magic number 0x00000801");
    assertMentions(e, "0x00000803");
  }

  @Test
  void rejectsDataThatIsNotGzipInAGzFile() throws IOException {
    assertMentions(rejects("bad-idx3-ubyte.gz", HAND_WRITTEN), "corrupt gzip data");
    assertMentions(rejects("junk-idx3-ubyte.gz", "this is not gzip at all".getBytes()), "corrupt gzip data");
  }

  /** 50 images of 20x20, gzipped, with the trailer checked against java.util.zip.CRC32 of the raw bytes. */
  private static byte[] gzippedSet(byte[] raw) {
    byte[] gz = IdxFiles.gzip(raw);
    CRC32 crc = new CRC32();
    crc.update(raw);
    ByteBuffer trailer = ByteBuffer.wrap(gz, gz.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN);
    assertEquals((int) crc.getValue(), trailer.getInt(), "the last 8 bytes are CRC-32 then ISIZE (RFC 1952)");
    assertEquals(raw.length, trailer.getInt());
    return gz;
  }

  /** @return {@code gzip -t}'s exit status on the file, or -1 where gzip is not installed */
  private static int gzipTest(Path f) throws IOException {
    try {
      Process p = new ProcessBuilder("gzip", "-t", f.toString()).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  @ParameterizedTest
  @CsvSource({"crc, 0", "crc, 3", "isize, 0", "isize, 3"})
  void rejectsAGzipFileWhoseTrailerDoesNotMatch(String field, int limit) throws IOException {
    byte[] raw = IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 50, 20, 20, IdxFiles.pattern(50, 20, 20));
    byte[] gz = gzippedSet(raw);
    gz[gz.length - (field.equals("crc") ? 8 : 4)] ^= 0x01;
    Path f = Files.write(dir.resolve(field + "-" + limit + "-idx3-ubyte.gz"), gz);
    int gzip = gzipTest(f);
    if (gzip >= 0) assertEquals(1, gzip, "gzip -t rejects the file");
    DatasetException e = assertThrows(DatasetException.class, () -> IdxReader.readImages(f, limit));
    assertEquals(f, e.file());
    assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
    assertMentions(e, "gzip CRC/length check failed");
  }

  @Test
  void readsAGzipFileToItsEndEvenWithALimit() throws IOException {
    byte[] raw = IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 50, 20, 20, IdxFiles.pattern(50, 20, 20));
    Path f = Files.write(dir.resolve("ok-idx3-ubyte.gz"), gzippedSet(raw));
    try (ImageDataset ds = IdxReader.readImages(f, 3)) {
      assertArrayEquals(Arrays.copyOfRange(raw, 16, 16 + 3 * 400), values(ds.pixels()));
    }
  }

  /**
   * Bytes after the gzip member that do not start another member: GZIPInputStream stops at the
   * member's verified trailer and ignores them, as {@code gzip -d} does ({@code gzip -t} says
   * "decompression OK, trailing garbage ignored" and exits with 2, a warning). The images load.
   */
  @ParameterizedTest
  @ValueSource(strings = {"garbage!", "zeros"})
  void ignoresTrailingBytesAfterAVerifiedGzipMember(String tail) throws IOException {
    byte[] raw = IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 50, 20, 20, IdxFiles.pattern(50, 20, 20));
    byte[] gz = gzippedSet(raw);
    byte[] extra = tail.equals("zeros") ? new byte[8] : tail.getBytes(StandardCharsets.US_ASCII);
    byte[] withTail = Arrays.copyOf(gz, gz.length + extra.length);
    System.arraycopy(extra, 0, withTail, gz.length, extra.length);
    Path f = Files.write(dir.resolve("tail-idx3-ubyte.gz"), withTail);
    int gzip = gzipTest(f);
    if (gzip >= 0) assertTrue(gzip == 0 || gzip == 2, "gzip -t decompresses it (exit 0, or 2 for a warning): " + gzip);
    for (int limit : new int[] {0, 3}) {
      try (ImageDataset ds = IdxReader.readImages(f, limit)) {
        assertArrayEquals(Arrays.copyOfRange(raw, 16, 16 + (limit == 0 ? 50 : limit) * 400), values(ds.pixels()));
      }
    }
    // ...but a corrupt trailer is still caught when bytes follow it.
    withTail[gz.length - 8] ^= 0x01;
    Path bad = Files.write(dir.resolve("badtail-idx3-ubyte.gz"), withTail);
    assertMentions(assertThrows(DatasetException.class, () -> IdxReader.readImages(bad, 3)), "gzip CRC/length check failed");
  }

  @Test
  void rejectsImplausibleSizes() throws IOException {
    byte[] px = new byte[64];
    assertMentions(rejects("zero-rows", IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 1, 0, 8, px)), "implausible image size 0x8");
    assertMentions(rejects("huge-cols", IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 1, 8, 5000, px)), "implausible image size 8x5000");
    assertMentions(rejects("negative-cols", IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 1, 8, -8, px)), "implausible image size");
    assertMentions(rejects("no-images", IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 0, 8, 8, px)), "image count 0");
    assertMentions(rejects("negative-count", IdxFiles.bytes(IdxReader.IMAGES_MAGIC, Integer.MIN_VALUE, 8, 8, px)), "must be positive");
    assertMentions(rejects("forged-count", IdxFiles.bytes(IdxReader.IMAGES_MAGIC, Integer.MAX_VALUE, 4096, 4096, px)), "truncated");
  }

  @Test
  void rejectsAGzipFileWhoseHeaderAnnouncesMoreThanItCanHold() throws IOException {
    byte[] forged = IdxFiles.gzip(IdxFiles.bytes(IdxReader.IMAGES_MAGIC, Integer.MAX_VALUE, 4096, 4096, new byte[64]));
    assertMentions(rejects("forged-idx3-ubyte.gz", forged), "implausible header");
  }

  @Test
  void rejectsAMissingFile() {
    Path f = dir.resolve("absent-idx3-ubyte.gz");
    DatasetException e = assertThrows(DatasetException.class, () -> IdxReader.readImages(f, 0));
    assertEquals(f, e.file());
    assertEquals(f + ": no such file", e.getMessage());
    assertThrows(DatasetException.class, () -> IdxReader.readImages(dir, 0));
  }

  @Test
  void findsTheTrainingImagesOfADirectory() throws IOException {
    assertThrows(DatasetException.class, () -> IdxReader.trainImages(dir));
    Path plain = IdxFiles.write(dir.resolve("train-images.idx3-ubyte"), 2, 4, 4);
    assertEquals(plain, IdxReader.trainImages(dir));
    Path raw = IdxFiles.write(dir.resolve("train-images-idx3-ubyte"), 2, 4, 4);
    assertEquals(raw, IdxReader.trainImages(dir));
    Path gz = IdxFiles.write(dir.resolve("train-images-idx3-ubyte.gz"), 2, 4, 4);
    assertEquals(gz, IdxReader.trainImages(dir));
    DatasetException e = assertThrows(DatasetException.class, () -> IdxReader.trainImages(gz));
    assertMentions(e, "not a directory");
  }

  @Test
  void datasetsOpensADirectoryOrAFileAndResizes() throws IOException {
    IdxFiles.write(dir.resolve("train-images-idx3-ubyte.gz"), 5, 6, 6);
    try (ImageDataset ds = Datasets.open(dir.toString(), 6, 1, 0)) {
      assertArrayEquals(new long[] {5, 1, 6, 6}, ds.pixels().shape());
      assertArrayEquals(IdxFiles.pattern(5, 6, 6), values(ds.pixels()));
    }
    try (ImageDataset ds = Datasets.open(dir.resolve("train-images-idx3-ubyte.gz").toString(), 4, 1, 3)) {
      assertArrayEquals(new long[] {3, 1, 4, 4}, ds.pixels().shape());
      assertTrue(ds.source().contains("resized to 4"), ds.source());
    }
  }

  @Test
  void resizingAUniformImageKeepsItsValue() throws IOException {
    byte[] px = new byte[2 * 6 * 6];
    Arrays.fill(px, 0, 36, (byte) 90);
    Arrays.fill(px, 36, 72, (byte) 200);
    Path f = Files.write(dir.resolve("u-idx3-ubyte"), IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 2, 6, 6, px));
    try (ImageDataset ds = Datasets.open(f.toString(), 4, 1, 0)) {
      byte[] v = values(ds.pixels());
      assertEquals(32, v.length);
      for (int i = 0; i < 16; i++) assertEquals(90, Byte.toUnsignedInt(v[i]));
      for (int i = 16; i < 32; i++) assertEquals(200, Byte.toUnsignedInt(v[i]));
    }
  }

  @Test
  void datasetsRejectsRgbFromIdxAndMissingPaths() throws IOException {
    Path f = IdxFiles.write(dir.resolve("train-images-idx3-ubyte"), 2, 4, 4);
    IllegalArgumentException rgb = assertThrows(IllegalArgumentException.class, () -> Datasets.open(f.toString(), 4, 3, 0));
    assertMentions(rgb, "channels must be 1");
    Path missing = dir.resolve("nowhere");
    DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(missing.toString(), 4, 1, 0));
    assertEquals(missing, e.file());
    assertMentions(e, "no such file or directory");
  }

  @Test
  void opensTheInstalledFashionMnist() throws IOException {
    assumeTrue(Files.isDirectory(Datasets.FASHION_MNIST), "dataset-fashion-mnist is not installed");
    try (ImageDataset ds = Datasets.open("fashion-mnist", 28, 1, 7)) {
      assertArrayEquals(new long[] {7, 1, 28, 28}, ds.pixels().shape());
      assertTrue(ds.pixels().to(DType.FLOAT32).amax().item() > 200, "Fashion-MNIST images have bright pixels");
    }
  }
}
