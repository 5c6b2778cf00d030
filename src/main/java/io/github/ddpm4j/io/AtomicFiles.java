package io.github.ddpm4j.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Writes a file so that readers, and the file system after a crash, see either its old
 * contents or the complete new ones, never a part.
 *
 * <p>Every write goes the same way: the contents go to a temporary file beside the target,
 * named {@code .<target name>.<1 to 16 lowercase hex digits>.tmp}; the file is forced to disk
 * ({@code fsync}), renamed over the target (an atomic {@code rename(2)} on Linux), and the
 * directory is forced so that the rename itself survives a power loss. A failure removes the
 * temporary file and leaves the target untouched. A process killed in the middle leaves its
 * temporary file behind; {@link #removeTempFiles(Path)} removes such files by exactly that
 * name pattern.
 *
 * <p>The temporary file is created with {@code open(O_CREAT | O_EXCL)} and the default mode,
 * so outputs get {@code 0666 & ~umask}, the mode of any ordinary file write.
 *
 * <p>Thread-safety: concurrent writes to different targets are safe; concurrent writes to one
 * target are each atomic, and the last rename wins.
 */
public final class AtomicFiles {
  /** Names of the temporary files {@link #write} creates: {@code .<name>.<hex>.tmp}. */
  private static final Pattern TEMP_NAME = Pattern.compile("\\..+\\.[0-9a-f]{1,16}\\.tmp");

  private AtomicFiles() {}

  /** Writes the contents of a file through a channel positioned at its start. */
  @FunctionalInterface
  public interface Content {
    /**
     * @param channel the temporary file, open for writing
     * @throws IOException if writing fails
     */
    void write(FileChannel channel) throws IOException;
  }

  /**
   * Writes {@code bytes} as the new contents of {@code target}, atomically (see the class comment).
   *
   * @param target the file to create or replace; its folder must exist
   * @param bytes the complete contents
   * @throws java.nio.file.FileSystemException naming {@code target} and the reason (as
   *     {@code "PATH: REASON"}) if writing, forcing or renaming fails; {@code target} is then unchanged
   * @throws IOException for the same failures where the file system names no reason
   */
  public static void write(Path target, byte[] bytes) throws IOException {
    write(target, ch -> writeFully(ch, ByteBuffer.wrap(bytes)));
  }

  /**
   * Writes the contents that {@code content} produces as the new contents of {@code target},
   * atomically (see the class comment).
   *
   * @param target the file to create or replace; its folder must exist
   * @param content writes the complete contents into the temporary file
   * @throws java.nio.file.FileSystemException naming {@code target} and the reason (as
   *     {@code "PATH: REASON"}, e.g. {@code "No space left on device"}) if writing, forcing or
   *     renaming fails; {@code target} is then unchanged and no temporary file remains
   * @throws IOException for the same failures where the file system names no reason
   * @throws RuntimeException whatever {@code content} throws, unchanged, after the temporary file is removed
   */
  public static void write(Path target, Content content) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path dir = absolute.getParent();
    Path temp = dir.resolve(tempName(absolute.getFileName().toString()));
    boolean done = false;
    try {
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        content.write(ch);
        ch.force(true);
      }
      moveIntoPlace(temp, absolute);
      done = true;
      forceDirectory(dir);
    } catch (IOException e) {
      throw FileErrors.withPath(target, e);
    } finally {
      if (!done) deleteQuietly(temp);
    }
  }

  /**
   * Makes {@code target} another name of the complete file {@code source}, atomically: a hard link
   * ({@code link(2)}) made under a temporary name beside {@code target} and renamed over it, the folder then
   * forced; where the file system has no hard links, a copy written as {@link #write} writes. Readers see the
   * old {@code target} or the new one, never a part. The file must not change while this runs; a later
   * {@link #write} over {@code source} replaces {@code source}'s name only, so a linked {@code target} keeps its contents.
   *
   * @param source an existing regular file, complete on disk (written with {@link #write})
   * @param target the name to create or replace, on the same file system for a link; its folder must exist
   * @throws java.nio.file.FileSystemException naming {@code source} if it is missing or not a regular file, else naming
   *     {@code target} and the reason if linking, copying or renaming fails; {@code target} is then unchanged and no temporary file remains
   * @throws IOException for the same failures where the file system names no reason
   */
  public static void link(Path source, Path target) throws IOException {
    if (!Files.isRegularFile(source)) {
      throw FileErrors.withPath(source, Files.exists(source, LinkOption.NOFOLLOW_LINKS)
          ? new java.nio.file.FileSystemException(source.toString(), null, "not a regular file") : new NoSuchFileException(source.toString()));
    }
    Path absolute = target.toAbsolutePath();
    Path dir = absolute.getParent();
    Path temp = dir.resolve(tempName(absolute.getFileName().toString()));
    try {
      Files.createLink(temp, source);
    } catch (UnsupportedOperationException | java.nio.file.FileSystemException noLinks) {
      deleteQuietly(temp);
      write(target, ch -> {
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
          long size = in.size();
          for (long done = 0; done < size; ) done += in.transferTo(done, size - done, ch);
        } catch (IOException e) {
          throw FileErrors.withPath(source, e);
        }
      });
      return;
    }
    boolean done = false;
    try {
      moveIntoPlace(temp, absolute);
      done = true;
      forceDirectory(dir);
    } catch (IOException e) {
      throw FileErrors.withPath(target, e);
    } finally {
      if (!done) deleteQuietly(temp);
    }
  }

  /**
   * Writes all of {@code buffer} at the channel's position (a single {@code write} may write less).
   *
   * @param ch the channel
   * @param buffer the bytes, from its position to its limit; consumed
   * @throws IOException if a write fails
   */
  public static void writeFully(FileChannel ch, ByteBuffer buffer) throws IOException {
    while (buffer.hasRemaining()) ch.write(buffer);
  }

  /**
   * Whether {@code fileName} has the form of the temporary files that {@link #write} creates:
   * {@code .<name>.<1 to 16 lowercase hex digits>.tmp}.
   *
   * @param fileName a file name, without folders
   * @return whether it matches
   */
  public static boolean isTempFile(String fileName) {
    return TEMP_NAME.matcher(fileName).matches();
  }

  /**
   * Removes the temporary files that an interrupted {@link #write} left in {@code dir}: the
   * regular files (not links, not folders) whose names match {@link #isTempFile}. Call it only
   * when no other writer works in {@code dir}. Does not look into subfolders.
   *
   * @param dir the folder; a folder that does not exist holds nothing to remove
   * @return the files removed
   * @throws java.nio.file.FileSystemException naming the file or folder if listing or removing fails
   */
  public static List<Path> removeTempFiles(Path dir) throws IOException {
    List<Path> removed = new ArrayList<>();
    if (!Files.isDirectory(dir)) return removed;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, p -> isTempFile(p.getFileName().toString()))) {
      for (Path p : files) {
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS) && Files.deleteIfExists(p)) removed.add(p);
      }
    } catch (IOException e) {
      throw FileErrors.withPath(dir, e);
    }
    return removed;
  }

  private static String tempName(String name) {
    return "." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp";
  }

  /** Renames {@code temp} over {@code target}: atomically where the file system can, else as a plain replace. */
  private static void moveIntoPlace(Path temp, Path target) throws IOException {
    try {
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Forces a directory's entries to disk, so that a rename in it survives a crash (Linux: fsync on the directory). */
  private static void forceDirectory(Path dir) throws IOException {
    try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
      d.force(true);
    }
  }

  private static void deleteQuietly(Path temp) {
    try {
      Files.deleteIfExists(temp);
    } catch (NoSuchFileException ignored) {
      // already gone
    } catch (IOException ignored) {
      // The write's own failure is the one to report; a temporary file that cannot be removed
      // now is removed by removeTempFiles when the next run starts.
    }
  }
}
