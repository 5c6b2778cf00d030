package io.github.ddpm4j.nn.serialize;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/** Writes a file so that readers see either its old contents or the complete new ones, never a part. */
final class AtomicFiles {
  private AtomicFiles() {}

  /** Writes the contents of a file through a channel. */
  @FunctionalInterface
  interface Writer {
    void write(FileChannel channel) throws IOException;
  }

  /**
   * Writes a temporary file beside {@code target}, forces it to disk, and
   * renames it over {@code target} (atomically where the file system can).
   * On failure the temporary file is removed and {@code target} is unchanged.
   *
   * @param target the file to create or replace
   * @param writer writes the contents
   * @throws IOException if writing or renaming fails
   */
  static void write(Path target, Writer writer) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path dir = absolute.getParent();
    String name = absolute.getFileName().toString();
    Path temp = dir.resolve("." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
    boolean done = false;
    try {
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        writer.write(ch);
        ch.force(true);
      }
      try {
        Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, absolute, StandardCopyOption.REPLACE_EXISTING);
      }
      done = true;
    } finally {
      if (!done) Files.deleteIfExists(temp);
    }
  }

  /**
   * Writes all of {@code buffer} at the channel's position.
   *
   * @param ch the channel
   * @param buffer the bytes
   * @throws IOException if the write fails
   */
  static void writeFully(FileChannel ch, java.nio.ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) ch.write(buffer);
  }
}
