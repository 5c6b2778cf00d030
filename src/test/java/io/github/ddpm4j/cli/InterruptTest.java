package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainFixtures;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C during training, in a real {@code ddpm4j} process: after the first checkpoint the test
 * sends SIGINT (as a terminal does on Ctrl-C) and expects the exit status of a JVM stopped by
 * SIGINT (128 + 2), a checkpoint, a complete loss.csv, a valid loss.png, a message that says what
 * was saved, and no "Shutdown in progress" from a shutdown hook registered too late. Six runs: the
 * signal lands at a different moment of a step each time.
 */
class InterruptTest {
  private static final int SIGINT_EXIT = 128 + 2;

  @TempDir static Path shared;
  private static Path data;

  @TempDir Path dir;

  @BeforeAll
  static void makeData() throws IOException {
    System.setProperty("java.awt.headless", "true");
    TorchTestBase.useTestThreads();
    data = TrainFixtures.data(shared.resolve("data"));
  }

  @RepeatedTest(6)
  void ctrlCWritesTheCheckpointLossLogAndPlotAndSaysSo() throws Exception {
    Path out = dir.resolve("run");
    Path stdout = dir.resolve("stdout.txt");
    Path stderr = dir.resolve("stderr.txt");
    // A process started with SIGINT ignored (a background job of a non-interactive shell, as CI may run the
    // build) passes that on to its children, and a JVM leaves an ignored SIGINT ignored. A terminal's
    // Ctrl-C reaches a JVM started with the default action, so the child gets that: Python (Debian's
    // python3, here for the fixtures) resets it and execs the JVM.
    List<String> command = new ArrayList<>(List.of("python3", "-c",
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])",
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-Djava.awt.headless=true", "-cp", System.getProperty("java.class.path"),
        "io.github.ddpm4j.cli.Main"));
    List<String> train = new ArrayList<>(List.of(TrainOutputFolderTest.train(data, out, 1_000_000)));
    train.set(train.indexOf("--sample-every") + 1, "0");
    command.addAll(train);
    Process p = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (!Files.exists(out.resolve("checkpoint.pt")) && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(20);
      assertTrue(p.isAlive(), () -> "the run ended early:\n" + read(stdout) + read(stderr));
      assertTrue(Files.exists(out.resolve("checkpoint.pt")), "no checkpoint after 120 s");
      Process kill = new ProcessBuilder("kill", "-INT", Long.toString(p.pid())).inheritIO().start();
      assertEquals(0, kill.waitFor());
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the run did not stop within 120 s of SIGINT");
    } finally {
      p.destroyForcibly();
    }
    String o = read(stdout), e = read(stderr);
    String both = "--- stdout:\n" + o + "--- stderr:\n" + e;
    assertEquals(SIGINT_EXIT, p.exitValue(), both);
    assertFalse(e.contains("Shutdown in progress"), both);
    long step;
    try (StateDict ck = Checkpoint.open(out.resolve("checkpoint.pt"))) {
      step = Checkpoint.meta(ck, "meta.step");
    }
    assertTrue(step >= 2, both);
    assertTrue(o.contains("interrupted at step " + step + ": wrote checkpoint.pt, loss.csv, loss.png in " + out
        + "; continue with --resume"), both);
    BufferedImage png = ImageIO.read(out.resolve("loss.png").toFile());
    assertNotNull(png, "loss.png is a PNG");
    assertEquals(900, png.getWidth());
    List<String> rows = Files.readAllLines(out.resolve("loss.csv"));
    assertEquals(step + 1, rows.size(), both);
    for (int s = 0; s < step; s++) assertTrue(rows.get(s + 1).startsWith(s + ","), rows.get(s + 1));
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return file + ": " + e.getMessage();
    }
  }
}
