package io.github.ddpm4j.data;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Writes uniform grayscale PNG files of any size without holding their pixels: the rows are
 * streamed through a {@link Deflater} (fastest level), so a 30000x30000 image (900 MB of pixels)
 * takes about 4 MB of memory and of file, written in a second or two. The format is that of the
 * PNG specification (ISO/IEC 15948): the signature, an IHDR chunk (8-bit grayscale, no
 * interlacing), one IDAT chunk holding the zlib stream of the rows, each with filter type 0, and
 * IEND; each chunk ends in the CRC-32 of its type and data.
 */
final class PngFiles {
  private PngFiles() {}

  /**
   * @param width pixels per row, &gt; 0
   * @param height rows, &gt; 0
   * @param value every pixel's gray level, 0 to 255
   * @return the PNG file's bytes
   */
  static byte[] gray(int width, int height, int value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10});
    chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 0)
        .put((byte) 0).put((byte) 0).put((byte) 0).array());
    chunk(out, "IDAT", rows(width, height, value));
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  /** @return the zlib stream of {@code height} rows of one filter byte (0, none) and {@code width} pixels */
  private static byte[] rows(int width, int height, int value) {
    byte[] row = new byte[width + 1];
    Arrays.fill(row, 1, row.length, (byte) value);
    Deflater deflater = new Deflater(Deflater.BEST_SPEED);
    ByteArrayOutputStream z = new ByteArrayOutputStream();
    byte[] buf = new byte[1 << 16];
    try {
      for (int y = 0; y < height; y++) {
        deflater.setInput(row);
        while (!deflater.needsInput()) z.write(buf, 0, deflater.deflate(buf));
      }
      deflater.finish();
      while (!deflater.finished()) z.write(buf, 0, deflater.deflate(buf));
    } finally {
      deflater.end();
    }
    return z.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    byte[] t = type.getBytes(StandardCharsets.US_ASCII);
    CRC32 crc = new CRC32();
    crc.update(t);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    out.writeBytes(t);
    out.writeBytes(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
