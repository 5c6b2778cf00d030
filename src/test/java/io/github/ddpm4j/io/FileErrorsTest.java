package io.github.ddpm4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileErrorsTest {
  @TempDir Path dir;

  @Test
  void fileSystemExceptionsBecomePathAndReason() {
    assertEquals("/a/b: No such file or directory", FileErrors.message(new NoSuchFileException("/a/b")));
    assertEquals("/a/b: Permission denied", FileErrors.message(new AccessDeniedException("/a/b")));
    assertEquals("/a/b: File exists", FileErrors.message(new FileAlreadyExistsException("/a/b")));
    assertEquals("/a/b: Not a directory", FileErrors.message(new NotDirectoryException("/a/b")));
    assertEquals("/a/b: Is a directory", FileErrors.message(new FileSystemException("/a/b", null, "Is a directory")));
    assertEquals("/a -> /b: Is a directory", FileErrors.message(new FileSystemException("/a", "/b", "Is a directory")));
    assertEquals("/a/b: no such checkpoint file", FileErrors.message(new NoSuchFileException("/a/b", null, "no such checkpoint file")));
    assertEquals("/a/b: No such file or directory", FileErrors.message(new UncheckedIOException(new NoSuchFileException("/a/b"))));
  }

  @Test
  void otherExceptionsKeepTheirMessageOrName() {
    assertEquals("/x: corrupt", FileErrors.message(new IOException("/x: corrupt")));
    assertEquals("IOException", FileErrors.message(new IOException()));
    assertEquals("IllegalStateException", FileErrors.message(new IllegalStateException(" ")));
  }

  @Test
  void withPathAddsThePathOnce() {
    Path p = Path.of("/out/loss.csv");
    FileSystemException full = FileErrors.withPath(p, new IOException("No space left on device"));
    assertEquals("/out/loss.csv: No space left on device", full.getMessage());
    assertEquals(p.toString(), full.getFile());
    FileSystemException named = new FileSystemException(p.toString(), null, "Is a directory");
    assertSame(named, FileErrors.withPath(p, named));
    assertEquals("/out/loss.csv: No such file or directory",
        FileErrors.withPath(p, new NoSuchFileException("/out/.loss.csv.1f.tmp")).getMessage());
  }

  @Test
  void createDirectoriesNamesAFileInTheWay() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");
    FileSystemException e = assertThrows(FileSystemException.class, () -> FileErrors.createDirectories(file));
    assertEquals(file + ": exists and is not a directory", e.getMessage());
    FileSystemException below = assertThrows(FileSystemException.class, () -> FileErrors.createDirectories(file.resolve("sub")));
    assertEquals(file + ": exists and is not a directory", below.getMessage());
    Path made = FileErrors.createDirectories(dir.resolve("a/b"));
    assertEquals(dir.resolve("a/b"), made);
    FileErrors.createDirectories(made);
  }
}
