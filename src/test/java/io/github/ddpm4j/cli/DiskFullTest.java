package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A full disk: a 1 MiB tmpfs, filled up to a few pages. Writing there fails with a message that
 * names the file and says "No space left on device", exit 1, and leaves no temporary file behind.
 * Mounting needs root (or CAP_SYS_ADMIN); without it the tests are skipped.
 */
@ExtendWith(CliRunner.Threads.class)
class DiskFullTest {
  @TempDir static Path dir;
  private static Path checkpoint;
  private static Path data;
  private Path disk;

  @BeforeAll
  static void train() throws IOException {
    data = TrainFixtures.data(dir.resolve("data"));
    checkpoint = TrainFixtures.train(data, dir.resolve("run"), 1);
  }

  private static int run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", command));
    return p.exitValue();
  }

  /** Mounts a 1 MiB tmpfs and fills it but for {@code freeBytes}. */
  private void mountFull(long freeBytes) throws IOException, InterruptedException {
    disk = Files.createDirectories(dir.resolve("disk-" + System.nanoTime()));
    int rc = run("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", disk.toString());
    if (rc != 0) disk = null;
    assumeTrue(rc == 0, "cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)");
    Files.write(disk.resolve("filler"), new byte[(int) ((1 << 20) - freeBytes)]);
  }

  @AfterEach
  void unmount() throws IOException, InterruptedException {
    if (disk != null) assertEquals(0, run("umount", disk.toString()), "umount " + disk);
  }

  private List<String> names(Path folder) throws IOException {
    try (Stream<Path> s = Files.list(folder)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aSampleGridOnAFullDisk() throws Exception {
    mountFull(0);
    Path grid = disk.resolve("grid.png");
    CliRunner.Result r = CliRunner.run("sample", "--checkpoint", checkpoint.toString(), "-n", "4", "--sampling-steps", "2", "--out",
        grid.toString(), "--no-progress", "--threads", CliRunner.THREADS);
    assertEquals(1, r.code(), r::toString);
    assertEquals("ddpm4j sample: " + grid + ": No space left on device", r.err().strip(), r::toString);
    assertEquals(List.of("filler"), names(disk), "no temporary file left");
  }

  @Test
  void aCheckpointOnAFullDisk() throws Exception {
    mountFull(64 << 10);
    Path out = disk.resolve("run");
    CliRunner.Result r = CliRunner.run(TrainOutputFolderTest.train(data, out, 2));
    assertEquals(1, r.code(), r::toString);
    assertEquals("ddpm4j train: " + out.resolve("checkpoint.pt") + ": No space left on device", r.err().strip(), r::toString);
    assertEquals(List.of("loss.csv", "samples"), names(out), "no temporary file left");
    assertEquals(List.of(), names(out.resolve("samples")));
  }
}
