package io.github.ddpm4j.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
  @TempDir Path dir;

  private List<String> names() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void writesAndReplacesTheTarget() throws IOException {
    Path target = dir.resolve("a.bin");
    AtomicFiles.write(target, new byte[] {1, 2, 3});
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(target));
    AtomicFiles.write(target, ch -> AtomicFiles.writeFully(ch, ByteBuffer.wrap(new byte[] {4, 5})));
    assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(target));
    assertEquals(List.of("a.bin"), names());
  }

  @Test
  void aFailedWriteLeavesTheOldTargetAndNoTemporaryFile() throws IOException {
    Path target = Files.writeString(dir.resolve("keep.csv"), "old contents\n");
    IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, ch -> {
      AtomicFiles.writeFully(ch, ByteBuffer.wrap("half of the new".getBytes(StandardCharsets.UTF_8)));
      throw new IOException("No space left on device");
    }));
    assertEquals(target + ": No space left on device", e.getMessage());
    assertEquals("old contents\n", Files.readString(target));
    assertEquals(List.of("keep.csv"), names());
    RuntimeException r = assertThrows(IllegalStateException.class, () -> AtomicFiles.write(target, ch -> {
      throw new IllegalStateException("boom");
    }));
    assertEquals("boom", r.getMessage());
    assertEquals("old contents\n", Files.readString(target));
    assertEquals(List.of("keep.csv"), names());
  }

  @Test
  void aLinkKeepsItsContentsWhenTheSourceIsWrittenAgain() throws IOException {
    Path source = dir.resolve("checkpoint.pt"), target = dir.resolve("step-000003.pt");
    AtomicFiles.write(source, new byte[] {1, 2, 3});
    Files.write(target, new byte[] {9});
    AtomicFiles.link(source, target);
    assertTrue(Files.isSameFile(source, target), "a hard link on one file system");
    AtomicFiles.write(source, new byte[] {4, 5});
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(target));
    assertArrayEquals(new byte[] {4, 5}, Files.readAllBytes(source));
    assertEquals(List.of("checkpoint.pt", "step-000003.pt"), names());
  }

  @Test
  void aLinkOfAMissingOrOddSourceNamesItAndLeavesTheTarget() throws IOException {
    Path target = Files.writeString(dir.resolve("best.pt"), "old");
    FileSystemException missing = assertThrows(FileSystemException.class, () -> AtomicFiles.link(dir.resolve("none.pt"), target));
    assertEquals(dir.resolve("none.pt") + ": No such file or directory", missing.getMessage());
    Path folder = Files.createDirectory(dir.resolve("folder"));
    FileSystemException odd = assertThrows(FileSystemException.class, () -> AtomicFiles.link(folder, target));
    assertEquals(folder + ": not a regular file", odd.getMessage());
    assertEquals("old", Files.readString(target));
    assertEquals(List.of("best.pt", "folder"), names());
  }

  /** Across file systems (tmpfs and the disk here) there is no hard link: the target is an atomic copy. */
  @Test
  void acrossFileSystemsALinkIsACopy() throws IOException {
    Path shm = Path.of("/dev/shm");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm)
        && !Files.getFileStore(shm).equals(Files.getFileStore(dir)), "needs a second file system at /dev/shm");
    Path source = Files.createTempFile(shm, "atomic-files-test", ".pt");
    try {
      Files.write(source, new byte[] {7, 8, 9});
      Path target = dir.resolve("copy.pt");
      AtomicFiles.link(source, target);
      assertArrayEquals(new byte[] {7, 8, 9}, Files.readAllBytes(target));
      assertFalse(Files.isSameFile(source, target));
      assertEquals(List.of("copy.pt"), names());
    } finally {
      Files.deleteIfExists(source);
    }
  }

  /** The temporary file, seen while it is being written, is one that {@link AtomicFiles#removeTempFiles} removes. */
  @Test
  void theTemporaryNameIsThePatternThatCleaningRemoves() throws IOException {
    Path target = dir.resolve("checkpoint.pt");
    List<String> during = new ArrayList<>();
    AtomicFiles.write(target, ch -> {
      during.addAll(names());
      AtomicFiles.writeFully(ch, ByteBuffer.wrap(new byte[] {7}));
    });
    assertEquals(1, during.size(), during.toString());
    String temp = during.get(0);
    assertTrue(temp.matches("\\.checkpoint\\.pt\\.[0-9a-f]{1,16}\\.tmp"), temp);
    assertTrue(AtomicFiles.isTempFile(temp), temp);
    Files.write(dir.resolve(temp), new byte[10]);
    assertEquals(List.of(dir.resolve(temp)), AtomicFiles.removeTempFiles(dir));
    assertEquals(List.of("checkpoint.pt"), names());
  }

  @Test
  void cleaningRemovesOnlyTheWritersTemporaryFiles() throws IOException {
    List<String> stale = List.of(".checkpoint.pt.3f2a9c0d1e4b5a6f.tmp", ".loss.png.1.tmp", ".loss.csv.abcdef.tmp");
    List<String> others = List.of("notes.tmp", ".checkpoint.pt.tmp", ".checkpoint.pt.XYZ.tmp", "checkpoint.pt.3f2a.tmp",
        ".checkpoint.pt.3f2a9c0d1e4b5a6f0.tmp", ".x.3F2A.tmp", ".x.3f2a.tmp.bak", "loss.csv");
    for (String n : stale) Files.write(dir.resolve(n), new byte[3]);
    for (String n : others) Files.write(dir.resolve(n), new byte[3]);
    Files.createDirectory(dir.resolve(".dir.0a.tmp"));
    List<Path> removed = new ArrayList<>(AtomicFiles.removeTempFiles(dir));
    removed.sort(null);
    assertEquals(stale.stream().map(dir::resolve).sorted().toList(), removed);
    List<String> left = new ArrayList<>(others);
    left.add(".dir.0a.tmp");
    left.sort(null);
    assertEquals(left, names());
    assertEquals(List.of(), AtomicFiles.removeTempFiles(dir.resolve("absent")));
  }

  @Test
  void outputsGetTheModeOfAnOrdinaryFileWrite() throws IOException {
    Path plain = Files.write(dir.resolve("plain"), new byte[1]);
    Path atomic = dir.resolve("atomic");
    AtomicFiles.write(atomic, new byte[1]);
    assertEquals(PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)),
        PosixFilePermissions.toString(Files.getPosixFilePermissions(atomic)));
  }

  @Test
  void aTargetThatIsADirectoryIsNamedWithTheReason() throws IOException {
    Path target = Files.createDirectories(dir.resolve("loss.csv"));
    Files.write(target.resolve("inside"), new byte[1]);
    FileSystemException e = assertThrows(FileSystemException.class, () -> AtomicFiles.write(target, new byte[1]));
    assertEquals(target.toString(), e.getFile());
    assertTrue(e.getMessage().startsWith(target + ": "), e.getMessage());
    assertFalse(e.getReason() == null || e.getReason().isBlank(), e.getMessage());
    assertEquals(List.of("loss.csv"), names());
  }
}
