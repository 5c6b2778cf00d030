package io.github.ddpm4j.serialize;

import io.github.ddpm4j.io.AtomicFiles;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * Writes a zip archive of uncompressed entries to a channel, laid out as
 * PyTorch's {@code PyTorchStreamWriter} lays out {@code torch.save} files: each
 * entry's data starts at a multiple of 64 bytes (so that it can be mapped and
 * used in place), padded with an extra field of id {@code "FB"}. Formats per
 * the PKWARE APPNOTE: local headers (4.3.7), central directory (4.3.12), zip64
 * extended information (4.5.3) for entries, offsets or counts past the 32-bit
 * limits, zip64 end records (4.3.14, 4.3.15) and the end record (4.3.16).
 * Timestamps are fixed at 1980-01-01 so that equal inputs give equal files.
 */
final class ZipWriter {
  static final int ALIGNMENT = 64;
  private static final long MAX32 = 0xFFFFFFFFL;
  private static final int DOS_DATE = (0 << 9) | (1 << 5) | 1; // 1980-01-01
  private static final int FLAG_UTF8 = 0x0800;

  private record Written(byte[] name, long crc, long size, long offset) {}

  private final FileChannel ch;
  private final boolean forceZip64;
  private final List<Written> written = new ArrayList<>();

  /**
   * @param ch an empty channel positioned at 0
   * @param forceZip64 write zip64 records even where 32-bit fields suffice (for tests)
   */
  ZipWriter(FileChannel ch, boolean forceZip64) {
    this.ch = ch;
    this.forceZip64 = forceZip64;
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /**
   * Appends one stored entry whose data is the concatenation of {@code parts}.
   *
   * @param name the entry's name
   * @param parts the data, in order (native segments are written without copying)
   * @throws IOException if writing fails
   */
  void add(String name, List<MemorySegment> parts) throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    long size = 0;
    for (MemorySegment p : parts) size += p.byteSize();
    long offset = ch.position();
    boolean zip64 = forceZip64 || size >= MAX32;
    int zip64Extra = zip64 ? 20 : 0;
    long dataAt = offset + 30 + nameBytes.length + zip64Extra + 4;
    int pad = (int) ((ALIGNMENT - dataAt % ALIGNMENT) % ALIGNMENT);
    int extra = zip64Extra + 4 + pad;
    ByteBuffer h = le(30 + nameBytes.length + extra);
    h.putInt(0x04034b50).putShort((short) (zip64 ? 45 : 20)).putShort((short) FLAG_UTF8).putShort((short) 0)
        .putShort((short) 0).putShort((short) DOS_DATE).putInt(0) // CRC-32, patched below
        .putInt((int) (zip64 ? MAX32 : size)).putInt((int) (zip64 ? MAX32 : size))
        .putShort((short) nameBytes.length).putShort((short) extra).put(nameBytes);
    if (zip64) h.putShort((short) 0x0001).putShort((short) 16).putLong(size).putLong(size);
    h.putShort((short) 0x4246).putShort((short) pad).put(new byte[pad]);
    AtomicFiles.writeFully(ch, h.flip());
    CRC32 crc = new CRC32();
    for (MemorySegment p : parts) {
      for (long at = 0; at < p.byteSize(); at += 1 << 30) {
        ByteBuffer chunk = p.asSlice(at, Math.min(1 << 30, p.byteSize() - at)).asByteBuffer();
        crc.update(chunk.duplicate());
        AtomicFiles.writeFully(ch, chunk);
      }
    }
    ByteBuffer c = le(4).putInt((int) crc.getValue()).flip();
    while (c.hasRemaining()) ch.write(c, offset + 14 + c.position());
    written.add(new Written(nameBytes, crc.getValue(), size, offset));
  }

  /**
   * Writes the central directory and end records.
   *
   * @throws IOException if writing fails
   */
  void finish() throws IOException {
    long cdOffset = ch.position();
    for (Written w : written) {
      boolean bigSize = forceZip64 || w.size() >= MAX32;
      boolean bigOffset = forceZip64 || w.offset() >= MAX32;
      int extra = (bigSize || bigOffset) ? 4 + (bigSize ? 16 : 0) + (bigOffset ? 8 : 0) : 0;
      ByteBuffer e = le(46 + w.name().length + extra);
      e.putInt(0x02014b50).putShort((short) (extra > 0 ? 45 : 20)).putShort((short) (extra > 0 ? 45 : 20))
          .putShort((short) FLAG_UTF8).putShort((short) 0).putShort((short) 0).putShort((short) DOS_DATE)
          .putInt((int) w.crc()).putInt((int) (bigSize ? MAX32 : w.size())).putInt((int) (bigSize ? MAX32 : w.size()))
          .putShort((short) w.name().length).putShort((short) extra).putShort((short) 0).putShort((short) 0)
          .putShort((short) 0).putInt(0).putInt((int) (bigOffset ? MAX32 : w.offset())).put(w.name());
      if (extra > 0) {
        e.putShort((short) 0x0001).putShort((short) (extra - 4));
        if (bigSize) e.putLong(w.size()).putLong(w.size());
        if (bigOffset) e.putLong(w.offset());
      }
      AtomicFiles.writeFully(ch, e.flip());
    }
    long cdSize = ch.position() - cdOffset;
    long count = written.size();
    boolean zip64 = forceZip64 || count >= 0xFFFF || cdOffset >= MAX32 || cdSize >= MAX32;
    if (zip64) {
      long eocd64 = ch.position();
      ByteBuffer z = le(56 + 20);
      z.putInt(0x06064b50).putLong(44).putShort((short) 45).putShort((short) 45).putInt(0).putInt(0)
          .putLong(count).putLong(count).putLong(cdSize).putLong(cdOffset);
      z.putInt(0x07064b50).putInt(0).putLong(eocd64).putInt(1);
      AtomicFiles.writeFully(ch, z.flip());
    }
    ByteBuffer end = le(22);
    end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0)
        .putShort((short) (zip64 ? 0xFFFF : count)).putShort((short) (zip64 ? 0xFFFF : count))
        .putInt((int) (zip64 ? MAX32 : cdSize)).putInt((int) (zip64 ? MAX32 : cdOffset)).putShort((short) 0);
    AtomicFiles.writeFully(ch, end.flip());
  }
}
