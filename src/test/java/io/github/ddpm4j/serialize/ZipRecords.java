package io.github.ddpm4j.serialize;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Finds and corrupts the records of a zip archive for tests, without ddpm4j's own zip reader: the
 * layout comes from the central directory (PKWARE APPNOTE 4.3.12, 4.3.16) and each local header
 * (4.3.7), and every corruption is confirmed with the JDK's {@link ZipFile} and {@link CRC32}.
 * Archives with zip64 records are not handled.
 */
public final class ZipRecords {
  private ZipRecords() {}

  /**
   * One record of an archive.
   *
   * @param name the entry's name
   * @param central where its central directory header starts
   * @param local where its local header starts
   * @param data where its data starts
   * @param size bytes of data in the archive
   */
  public record Record(String name, int central, int local, int data, int size) {}

  /**
   * A copy of an archive with one bit flipped in the data of one record.
   *
   * @param file the corrupted copy
   * @param entry the record whose data changed
   * @param offset the byte that changed, from the start of the file
   */
  public record Flipped(Path file, String entry, long offset) {}

  private static int u16(byte[] b, int at) {
    return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
  }

  private static int u32(byte[] b, int at) {
    long v = ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFFFFFFL;
    if (v == 0xFFFFFFFFL) throw new IllegalArgumentException("a zip64 archive; ZipRecords reads only plain zip");
    return (int) v;
  }

  /**
   * @param zip a whole archive without an archive comment
   * @return its records in central-directory order
   */
  public static List<Record> records(byte[] zip) {
    int eocd = zip.length - 22;
    if (u32(zip, eocd) != 0x06054b50) throw new IllegalArgumentException("no end-of-central-directory record at the end");
    int count = u16(zip, eocd + 10);
    int p = u32(zip, eocd + 16);
    List<Record> out = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      int nameLen = u16(zip, p + 28);
      String name = new String(zip, p + 46, nameLen, StandardCharsets.UTF_8);
      int local = u32(zip, p + 42);
      int data = local + 30 + u16(zip, local + 26) + u16(zip, local + 28);
      out.add(new Record(name, p, local, data, u32(zip, p + 20)));
      p += 46 + nameLen + u16(zip, p + 30) + u16(zip, p + 32);
    }
    return out;
  }

  /**
   * @param zip a whole archive
   * @return the name of its largest {@code <archive>/data/<key>} record
   */
  public static String largestStorage(byte[] zip) {
    return records(zip).stream().filter(x -> x.name().contains("/data/"))
        .max(Comparator.comparingInt(Record::size)).orElseThrow().name();
  }

  /**
   * @param zip a whole archive
   * @param content the exact bytes of a record, e.g. those of a contiguous tensor saved on its own storage
   * @return the name of the first record whose data equals {@code content}
   */
  public static String holding(byte[] zip, byte[] content) {
    return records(zip).stream()
        .filter(x -> x.size() == content.length && Arrays.equals(zip, x.data(), x.data() + x.size(), content, 0, content.length))
        .findFirst().orElseThrow(() -> new IllegalArgumentException("no record holds these " + content.length + " bytes"))
        .name();
  }

  /**
   * Copies {@code source} to {@code target} with bit {@code bit} of the middle byte of record
   * {@code entry} flipped, and checks with the JDK's reader that the record's stored CRC-32 matched
   * its bytes before and no longer does.
   *
   * @param source a zip archive whose record {@code entry} is stored (not compressed) and not empty
   * @param target where the corrupted copy goes
   * @param entry the record to corrupt
   * @param bit 0 to 7
   * @return the corrupted copy
   * @throws IOException if a file cannot be read or written
   */
  public static Flipped flip(Path source, Path target, String entry, int bit) throws IOException {
    byte[] zip = Files.readAllBytes(source);
    Record r = records(zip).stream().filter(x -> x.name().equals(entry)).findFirst().orElseThrow();
    if (r.size() == 0) throw new IllegalArgumentException(entry + " is empty");
    int at = r.data() + r.size() / 2;
    if (!crcMatches(source, entry)) throw new IllegalStateException(source + ": " + entry + " fails its CRC already");
    zip[at] ^= (byte) (1 << bit);
    Files.write(target, zip);
    if (crcMatches(target, entry)) throw new IllegalStateException("flipping byte " + at + " did not change the CRC of " + entry);
    return new Flipped(target, entry, at);
  }

  /** {@link #flip} in the {@link #largestStorage} of {@code source}. */
  public static Flipped flipInLargestStorage(Path source, Path target, int bit) throws IOException {
    return flip(source, target, largestStorage(Files.readAllBytes(source)), bit);
  }

  /** @return whether the JDK's CRC-32 of a stored entry's bytes equals the CRC in the central directory */
  private static boolean crcMatches(Path file, String name) throws IOException {
    try (ZipFile z = new ZipFile(file.toFile())) {
      ZipEntry e = z.getEntry(name);
      if (e.getMethod() != ZipEntry.STORED) throw new IllegalArgumentException(name + " is compressed");
      CRC32 crc = new CRC32();
      try (InputStream in = z.getInputStream(e)) {
        crc.update(in.readAllBytes());
      }
      return crc.getValue() == e.getCrc();
    }
  }
}
