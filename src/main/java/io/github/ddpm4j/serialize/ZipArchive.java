package io.github.ddpm4j.serialize;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The directory of a zip archive held in memory, after the PKWARE APPNOTE
 * (sections 4.3.7 local file header, 4.3.12 central directory header, 4.3.14
 * to 4.3.16 zip64 and end-of-central-directory records, 4.5.3 zip64 extra
 * field), read as PyTorch's {@code PyTorchStreamReader} reads {@code torch.save}
 * files.
 *
 * <p>Every offset and size is checked against the archive's real size before
 * use; nothing is allocated in proportion to a number read from the file.
 * Entry data is not read here: {@link #data} returns a slice of the archive, and
 * {@link #dataChecked} the same slice after checking its CRC-32.
 */
final class ZipArchive {
  static final int STORED = 0;
  /** The most bytes given to {@link CRC32} at once: one GiB, within a {@code ByteBuffer}'s int index. */
  static final long CRC_CHUNK = 1L << 30;

  private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private static final int LOCAL_SIG = 0x04034b50;
  private static final int CENTRAL_SIG = 0x02014b50;
  private static final int EOCD_SIG = 0x06054b50;
  private static final int EOCD64_SIG = 0x06064b50;
  private static final int EOCD64_LOCATOR_SIG = 0x07064b50;
  private static final int EOCD_SIZE = 22;
  private static final int CENTRAL_SIZE = 46;
  private static final int LOCAL_SIZE = 30;

  /**
   * One member of the archive.
   *
   * @param name the member's name
   * @param method compression method (0 stored, 8 deflated, ...)
   * @param flags general-purpose bit flags
   * @param crc CRC-32 of the uncompressed data
   * @param compressedSize bytes of data in the archive
   * @param size bytes once uncompressed
   * @param dataOffset where the data starts in the archive
   */
  record Entry(String name, int method, int flags, long crc, long compressedSize, long size, long dataOffset) {}

  private final MemorySegment file;
  private final String source;
  private final Map<String, Entry> entries;

  private ZipArchive(MemorySegment file, String source, Map<String, Entry> entries) {
    this.file = file;
    this.source = source;
    this.entries = entries;
  }

  /** @return the entries by name, in central-directory order */
  Map<String, Entry> entries() {
    return entries;
  }

  /**
   * @param e an entry of this archive
   * @return its stored bytes, a slice of the archive (no copy)
   * @throws CorruptFileException if the entry is compressed or encrypted
   */
  MemorySegment data(Entry e) throws CorruptFileException {
    if (e.method() != STORED) {
      throw corrupt("entry '" + e.name() + "' is compressed (zip method " + e.method()
          + "); only uncompressed entries, as torch.save writes them, can be read");
    }
    return file.asSlice(e.dataOffset(), e.size());
  }

  /**
   * Checks a stored entry's CRC-32 without copying its bytes: {@link CRC32#update(java.nio.ByteBuffer)}
   * reads the archive's memory (a mapping or a copy) directly, in chunks of at most
   * {@link #CRC_CHUNK} bytes, since a {@code ByteBuffer} is int-indexed.
   *
   * @param e a stored entry of this archive
   * @return its stored bytes, a slice of the archive (no copy), whose CRC-32 matches the directory's
   * @throws CorruptFileException if the entry is compressed, or its CRC-32 differs from the one
   *     stored in the central directory (the message names the file and the entry)
   */
  MemorySegment dataChecked(Entry e) throws CorruptFileException {
    MemorySegment d = data(e);
    long crc = crc32(d, CRC_CHUNK);
    if (crc != e.crc()) {
      throw corrupt(String.format("CRC-32 check failed for entry '%s' (stored 0x%08x, computed 0x%08x); the file is corrupt",
          e.name(), e.crc(), crc));
    }
    return d;
  }

  /**
   * @param bytes any memory
   * @param chunk the most bytes given to {@link CRC32} at once, 1 to {@link Integer#MAX_VALUE}
   * @return the CRC-32 of {@code bytes}, read in place
   */
  static long crc32(MemorySegment bytes, long chunk) {
    CRC32 crc = new CRC32();
    for (long at = 0; at < bytes.byteSize(); at += chunk) {
      crc.update(bytes.asSlice(at, Math.min(chunk, bytes.byteSize() - at)).asByteBuffer());
    }
    return crc.getValue();
  }

  /**
   * @param e a stored entry
   * @return its bytes, copied, after checking its CRC-32
   * @throws CorruptFileException if the entry is compressed, too large for an array, or fails its CRC
   */
  byte[] readChecked(Entry e) throws CorruptFileException {
    if (e.size() > Integer.MAX_VALUE - 8) throw corrupt("entry '" + e.name() + "' is too large to read into memory");
    return dataChecked(e).toArray(ValueLayout.JAVA_BYTE);
  }

  private CorruptFileException corrupt(String what) {
    return new CorruptFileException(source + ": " + what);
  }

  private int u16(long at) {
    return Short.toUnsignedInt(file.get(U16, at));
  }

  private long u32(long at) {
    return Integer.toUnsignedLong(file.get(U32, at));
  }

  /**
   * Reads the central directory.
   *
   * @param file the whole archive
   * @param source the file's name, for messages
   * @return the archive's directory
   * @throws CorruptFileException if the archive is malformed, spans several disks, or has encrypted or duplicate entries
   */
  static ZipArchive read(MemorySegment file, String source) throws CorruptFileException {
    ZipArchive z = new ZipArchive(file, source, Map.of());
    return new ZipArchive(file, source, z.readDirectory());
  }

  private Map<String, Entry> readDirectory() throws CorruptFileException {
    long size = file.byteSize();
    if (size < EOCD_SIZE) throw corrupt("too short (" + size + " bytes) to be a zip archive");
    long eocd = -1;
    long lowest = Math.max(0, size - EOCD_SIZE - 0xFFFF);
    for (long p = size - EOCD_SIZE; p >= lowest; p--) {
      if (file.get(U32, p) == EOCD_SIG && p + EOCD_SIZE + u16(p + 20) == size) {
        eocd = p;
        break;
      }
    }
    if (eocd < 0) throw corrupt("no zip end-of-central-directory record (not a zip archive, or truncated)");
    long disk = u16(eocd + 4), cdDisk = u16(eocd + 6);
    long diskEntries = u16(eocd + 8), count = u16(eocd + 10);
    long cdSize = u32(eocd + 12), cdOffset = u32(eocd + 16);
    long directoryEnd = eocd;
    if (eocd >= 20 && file.get(U32, eocd - 20) == EOCD64_LOCATOR_SIG) {
      long at = file.get(U64, eocd - 20 + 8);
      if (u32(eocd - 20 + 16) > 1) throw corrupt("zip archives that span several disks are not supported");
      if (at < 0 || at > eocd - 20 - 56) throw corrupt("zip64 end-of-central-directory offset " + at + " lies outside the file");
      if (file.get(U32, at) != EOCD64_SIG) throw corrupt("no zip64 end-of-central-directory record at offset " + at);
      disk = u32(at + 16);
      cdDisk = u32(at + 20);
      diskEntries = file.get(U64, at + 24);
      count = file.get(U64, at + 32);
      cdSize = file.get(U64, at + 40);
      cdOffset = file.get(U64, at + 48);
      directoryEnd = at;
    } else if (count == 0xFFFF || cdSize == 0xFFFFFFFFL || cdOffset == 0xFFFFFFFFL) {
      throw corrupt("the end-of-central-directory record defers to a zip64 record that is missing");
    }
    if (disk != 0 || cdDisk != 0 || diskEntries != count) throw corrupt("zip archives that span several disks are not supported");
    if (cdSize < 0 || cdOffset < 0 || cdOffset > directoryEnd || cdSize > directoryEnd - cdOffset) {
      throw corrupt("central directory (offset " + cdOffset + ", " + cdSize + " bytes) lies outside the file");
    }
    if (count < 0 || count > cdSize / CENTRAL_SIZE) {
      throw corrupt("central directory of " + cdSize + " bytes cannot hold " + count + " entries");
    }
    LinkedHashMap<String, Entry> out = new LinkedHashMap<>();
    long p = cdOffset;
    long cdEnd = cdOffset + cdSize;
    for (long i = 0; i < count; i++) {
      if (cdEnd - p < CENTRAL_SIZE || file.get(U32, p) != CENTRAL_SIG) {
        throw corrupt("central directory entry " + i + " at offset " + p + " is malformed");
      }
      int flags = u16(p + 8), method = u16(p + 10);
      long crc = u32(p + 16), compressed = u32(p + 20), uncompressed = u32(p + 24);
      int nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32);
      long startDisk = u16(p + 34);
      long localOffset = u32(p + 42);
      long variable = (long) nameLen + extraLen + commentLen;
      if (cdEnd - p - CENTRAL_SIZE < variable) throw corrupt("central directory entry " + i + " runs past the directory");
      byte[] nameBytes = file.asSlice(p + CENTRAL_SIZE, nameLen).toArray(ValueLayout.JAVA_BYTE);
      String name = decodeName(nameBytes, i);
      // Zip64 extended information: the 8-byte values replace the 0xFFFFFFFF placeholders, in this order.
      long x = p + CENTRAL_SIZE + nameLen, xEnd = x + extraLen;
      while (xEnd - x >= 4) {
        int id = u16(x), len = u16(x + 2);
        if (xEnd - x - 4 < len) throw corrupt("extra field of entry '" + name + "' runs past its end");
        if (id == 0x0001) {
          long q = x + 4, qEnd = q + len;
          if (uncompressed == 0xFFFFFFFFL) { uncompressed = zip64Value(q, qEnd, name); q += 8; }
          if (compressed == 0xFFFFFFFFL) { compressed = zip64Value(q, qEnd, name); q += 8; }
          if (localOffset == 0xFFFFFFFFL) { localOffset = zip64Value(q, qEnd, name); q += 8; }
          if (startDisk == 0xFFFF) {
            if (qEnd - q < 4) throw corrupt("zip64 extra field of entry '" + name + "' is too short");
            startDisk = u32(q);
          }
        }
        x += 4 + len;
      }
      if (startDisk != 0) throw corrupt("zip archives that span several disks are not supported");
      if ((flags & 1) != 0) throw corrupt("entry '" + name + "' is encrypted");
      if (method == STORED && compressed != uncompressed) {
        throw corrupt("stored entry '" + name + "' has compressed size " + compressed + " but size " + uncompressed);
      }
      long dataOffset = localData(localOffset, nameBytes, method, compressed, cdOffset, name);
      if (out.put(name, new Entry(name, method, flags, crc, compressed, uncompressed, dataOffset)) != null) {
        throw corrupt("entry '" + name + "' appears twice");
      }
      p += CENTRAL_SIZE + variable;
    }
    return Collections.unmodifiableMap(out);
  }

  private long zip64Value(long q, long end, String name) throws CorruptFileException {
    if (end - q < 8) throw corrupt("zip64 extra field of entry '" + name + "' is too short");
    long v = file.get(U64, q);
    if (v < 0) throw corrupt("zip64 size or offset of entry '" + name + "' is out of range");
    return v;
  }

  /** Checks the local header of one entry and returns where its data starts. */
  private long localData(long at, byte[] name, int method, long compressed, long limit, String shown) throws CorruptFileException {
    if (at < 0 || at > limit - LOCAL_SIZE) throw corrupt("local header of entry '" + shown + "' at offset " + at + " lies outside the entries");
    if (file.get(U32, at) != LOCAL_SIG) throw corrupt("no local header for entry '" + shown + "' at offset " + at);
    if (u16(at + 8) != method) throw corrupt("local and central compression methods of entry '" + shown + "' differ");
    int nameLen = u16(at + 26), extraLen = u16(at + 28);
    long data = at + LOCAL_SIZE + nameLen + extraLen;
    if (nameLen != name.length || data > limit
        || !Arrays.equals(file.asSlice(at + LOCAL_SIZE, nameLen).toArray(ValueLayout.JAVA_BYTE), name)) {
      throw corrupt("local header of entry '" + shown + "' does not match its central directory entry");
    }
    if (compressed > limit - data) {
      throw corrupt("data of entry '" + shown + "' (" + compressed + " bytes at offset " + data + ") runs past the entries");
    }
    return data;
  }

  private String decodeName(byte[] bytes, long index) throws CorruptFileException {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw corrupt("name of central directory entry " + index + " is not valid UTF-8");
    }
  }
}
