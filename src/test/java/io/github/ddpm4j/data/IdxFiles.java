package io.github.ddpm4j.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

/** Writes small IDX image files for the data, training and command-line tests. */
public final class IdxFiles {
  private IdxFiles() {}

  /**
   * @param magic the magic number
   * @param count the announced image count
   * @param rows the announced rows
   * @param cols the announced columns
   * @param pixels the bytes after the header
   * @return the file's bytes
   */
  public static byte[] bytes(int magic, int count, int rows, int cols, byte[] pixels) {
    ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);
    b.putInt(magic).putInt(count).putInt(rows).putInt(cols).put(pixels);
    return b.array();
  }

  /**
   * A deterministic image set: pixel {@code p} of image {@code i} is {@code (i * 37 + p * 11 + (p / cols) * 5) mod 256}.
   *
   * @return {@code count * rows * cols} bytes
   */
  public static byte[] pattern(int count, int rows, int cols) {
    byte[] px = new byte[count * rows * cols];
    for (int i = 0; i < count; i++) {
      for (int p = 0; p < rows * cols; p++) px[i * rows * cols + p] = (byte) (i * 37 + p * 11 + (p / cols) * 5);
    }
    return px;
  }

  /** @return {@code data} gzipped */
  public static byte[] gzip(byte[] data) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(data);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /**
   * Writes {@link #pattern} images as an IDX file, gzipped when the name ends in {@code .gz}.
   *
   * @return {@code file}
   */
  public static Path write(Path file, int count, int rows, int cols) throws IOException {
    byte[] raw = bytes(IdxReader.IMAGES_MAGIC, count, rows, cols, pattern(count, rows, cols));
    Files.createDirectories(file.toAbsolutePath().getParent());
    return Files.write(file, file.getFileName().toString().endsWith(".gz") ? gzip(raw) : raw);
  }
}
