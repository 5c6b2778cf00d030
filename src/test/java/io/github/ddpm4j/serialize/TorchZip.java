package io.github.ddpm4j.serialize;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Builds zip archives laid out as {@code torch.save} lays them out: stored
 * entries whose data starts at a multiple of 64, padded with an "FB" extra
 * field, then the central directory and end record (APPNOTE 4.3). Entries named
 * in {@code deflated} are compressed instead.
 */
final class TorchZip {
  private final LinkedHashMap<String, byte[]> entries = new LinkedHashMap<>();
  private Set<String> deflated = Set.of();

  TorchZip put(String name, byte[] data) {
    entries.put(name, data);
    return this;
  }

  TorchZip put(String name, String text) {
    return put(name, text.getBytes(StandardCharsets.UTF_8));
  }

  TorchZip deflate(Set<String> names) {
    deflated = names;
    return this;
  }

  /** A state-dict archive: {@code archive/data.pkl}, {@code archive/version} and the storages. */
  static TorchZip archive(byte[] pickle, Map<String, byte[]> storages) {
    TorchZip z = new TorchZip().put("archive/data.pkl", pickle);
    storages.forEach((k, v) -> z.put("archive/data/" + k, v));
    return z.put("archive/version", "3\n");
  }

  byte[] bytes() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream central = new ByteArrayOutputStream();
    int count = 0;
    for (Map.Entry<String, byte[]> e : entries.entrySet()) {
      byte[] name = e.getKey().getBytes(StandardCharsets.UTF_8);
      byte[] raw = e.getValue();
      boolean deflate = deflated.contains(e.getKey());
      byte[] data = deflate ? deflate(raw) : raw;
      CRC32 crc = new CRC32();
      crc.update(raw);
      long offset = out.size();
      int extra = 0;
      if (!deflate) {
        long dataAt = offset + 30 + name.length + 4;
        extra = 4 + (int) ((64 - dataAt % 64) % 64);
      }
      ByteBuffer local = le(30 + name.length + extra);
      local.putInt(0x04034b50).putShort((short) 20).putShort((short) 0x0800).putShort((short) (deflate ? 8 : 0))
          .putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue()).putInt(data.length).putInt(raw.length)
          .putShort((short) name.length).putShort((short) extra).put(name);
      if (extra > 0) local.putShort((short) 0x4246).putShort((short) (extra - 4));
      out.writeBytes(local.array());
      out.writeBytes(data);
      ByteBuffer c = le(46 + name.length);
      c.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0x0800)
          .putShort((short) (deflate ? 8 : 0)).putShort((short) 0).putShort((short) 0x21).putInt((int) crc.getValue())
          .putInt(data.length).putInt(raw.length).putShort((short) name.length).putShort((short) 0).putShort((short) 0)
          .putShort((short) 0).putShort((short) 0).putInt(0).putInt((int) offset).put(name);
      central.writeBytes(c.array());
      count++;
    }
    long cdOffset = out.size();
    out.writeBytes(central.toByteArray());
    ByteBuffer end = le(22);
    end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) count).putShort((short) count)
        .putInt(central.size()).putInt((int) cdOffset).putShort((short) 0);
    out.writeBytes(end.array());
    return out.toByteArray();
  }

  private static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static byte[] deflate(byte[] raw) {
    Deflater d = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
    d.setInput(raw);
    d.finish();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[4096];
    while (!d.finished()) out.write(buf, 0, d.deflate(buf));
    d.end();
    return out.toByteArray();
  }
}
