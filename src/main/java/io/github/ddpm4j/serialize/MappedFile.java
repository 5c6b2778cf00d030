package io.github.ddpm4j.serialize;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The bytes of one file in native memory, owned by a shared arena: a private
 * (copy-on-write) memory mapping where the file can be opened for writing, else
 * a copy read into memory.
 *
 * <p>The mapping is private rather than read-only so that a tensor created over
 * it may be written in place (an optimizer step on loaded weights) without a
 * fault: pages written are copied for this process, and the file never changes.
 * Java maps privately only through a channel opened for writing; a file that
 * cannot be opened so (read-only file or file system) is read instead.
 */
final class MappedFile {
  final Arena arena;
  final MemorySegment bytes;
  final boolean mapped;

  private MappedFile(Arena arena, MemorySegment bytes, boolean mapped) {
    this.arena = arena;
    this.bytes = bytes;
    this.mapped = mapped;
  }

  /**
   * Reads a file into memory owned by {@code arena}, 64-byte aligned.
   *
   * @param path a regular file
   * @param arena owns the copy
   * @return the file's bytes, not mapped
   * @throws IOException if the file cannot be read
   */
  static MappedFile read(Path path, Arena arena) throws IOException {
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      MemorySegment copy = arena.allocate(Math.max(size, 1), 64).asSlice(0, size);
      long done = 0;
      while (done < size) {
        int chunk = (int) Math.min(size - done, 1 << 30);
        ByteBuffer buf = copy.asSlice(done, chunk).asByteBuffer();
        while (buf.hasRemaining()) {
          if (ch.read(buf, done + buf.position()) < 0) throw new IOException(path + " shrank while it was read");
        }
        done += chunk;
      }
      return new MappedFile(arena, copy, false);
    }
  }

  /**
   * @param path a regular file
   * @return its bytes; the caller closes {@link #arena}
   * @throws NoSuchFileException if there is no such file
   * @throws IOException if it is not a regular file or cannot be read
   */
  static MappedFile open(Path path) throws IOException {
    if (!Files.exists(path)) throw new NoSuchFileException(path.toString());
    // A FIFO or device would block or never end: only regular files are read.
    if (!Files.isRegularFile(path)) throw new IOException(path + " is not a regular file");
    Arena arena = Arena.ofShared();
    try {
      try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        long size = ch.size();
        return new MappedFile(arena, ch.map(FileChannel.MapMode.PRIVATE, 0, size, arena), true);
      } catch (FileSystemException | UnsupportedOperationException notWritable) {
        // fall through to reading the file
      }
      return read(path, arena);
    } catch (IOException | RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }
}
