package io.github.ddpm4j.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.Path;

/**
 * Error messages about files in one form: {@code "PATH: REASON"}, such as
 * {@code "runs/a/loss.csv: Is a directory"} or {@code "/mnt/x/samples.png: No space left on device"}.
 *
 * <p>Java's own messages lack one half or the other: a {@link NoSuchFileException} says only
 * the path, and an {@link IOException} from a failed {@code write} says only the reason. Stateless
 * and thread-safe.
 */
public final class FileErrors {
  private FileErrors() {}

  /**
   * The message to show a user for a failure: {@code "PATH: REASON"} (or {@code "PATH -> OTHER: REASON"}
   * for a failed rename or copy) for a {@link FileSystemException}, the reason derived from its type
   * when the exception carries none; the message of any other exception, or its class name when it has none.
   * An {@link UncheckedIOException} is described by its cause.
   *
   * @param e the failure
   * @return one line naming the file and the reason where the exception knows the file
   */
  public static String message(Throwable e) {
    if (e instanceof UncheckedIOException u && u.getCause() != null) return message(u.getCause());
    if (e instanceof FileSystemException f && f.getFile() != null) {
      return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + reason(f);
    }
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }

  /**
   * The failure as an exception whose message is {@code "PATH: REASON"} for {@code path}.
   *
   * @param path the file the user knows (the target of a write, not its temporary file)
   * @param e the failure
   * @return {@code e} itself when it is a {@link FileSystemException} about {@code path} alone that names a reason;
   *     otherwise a new {@link FileSystemException} for {@code path} with the reason of {@code e}
   *     (see {@link #reason}) and {@code e} as its cause
   */
  public static FileSystemException withPath(Path path, IOException e) {
    if (e instanceof FileSystemException f && path.toString().equals(f.getFile()) && f.getOtherFile() == null
        && f.getReason() != null && !f.getReason().isBlank()) {
      return f;
    }
    FileSystemException out = new FileSystemException(path.toString(), null, reason(e));
    out.initCause(e);
    return out;
  }

  /**
   * The reason of a failure without the path: a {@link FileSystemException}'s reason, or the
   * operating system's words for the condition its type stands for ({@code "No such file or directory"}
   * for a {@link NoSuchFileException}); any other exception's message, or its class name.
   *
   * @param e the failure
   * @return the reason
   */
  public static String reason(IOException e) {
    if (e instanceof FileSystemException f) {
      if (f.getReason() != null && !f.getReason().isBlank()) return f.getReason();
      if (f instanceof NoSuchFileException) return "No such file or directory";
      if (f instanceof AccessDeniedException) return "Permission denied";
      if (f instanceof FileAlreadyExistsException) return "File exists";
      if (f instanceof NotDirectoryException) return "Not a directory";
      if (f instanceof DirectoryNotEmptyException) return "Directory not empty";
      if (f instanceof NotLinkException) return "Not a symbolic link";
      if (f instanceof FileSystemLoopException) return "Too many levels of symbolic links";
      if (f instanceof AtomicMoveNotSupportedException) return "Atomic move not supported";
      return f.getClass().getSimpleName();
    }
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }

  /**
   * Creates a folder and its missing parents, like {@link Files#createDirectories}, but reports a
   * file in the way as {@code "PATH: exists and is not a directory"} with the path of that file
   * (Java names only the path, or the folder it could not create below it).
   *
   * @param dir the folder
   * @return {@code dir}
   * @throws FileSystemException naming the path and the reason if a folder cannot be created
   */
  public static Path createDirectories(Path dir) throws IOException {
    Path absolute = dir.toAbsolutePath();
    for (Path p = absolute; p != null && !Files.isDirectory(p); p = p.getParent()) {
      if (Files.exists(p)) {
        throw new FileSystemException(p == absolute ? dir.toString() : p.toString(), null, "exists and is not a directory");
      }
    }
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw withPath(e instanceof FileSystemException f && f.getFile() != null ? Path.of(f.getFile()) : dir, e);
    }
    return dir;
  }
}
