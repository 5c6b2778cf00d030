package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/ddpm4j train} in a tmux pane (Debian's tmux), as a person watches it in a terminal: the pane,
 * read with {@code capture-pane}, shows the bar redrawn in place on one line with the step count, the
 * elapsed time and ETA and the speed in it/s; Ctrl-C ({@code send-keys C-c}) leaves the message that says
 * what was saved. bin/ddpm4j runs the classes under test ({@code DDPM4J_CLASSPATH}).
 */
class TerminalTest {
  /** One bar line: task, percentage, bar, count, (elapsed / ETA), a measured speed. */
  private static final Pattern BAR = Pattern.compile(
      "train +\\d+% \\[[=> ]*\\] +\\d+/1000000 it \\(\\d+:\\d\\d:\\d\\d / \\d+:\\d\\d:\\d\\d\\) \\d+(\\.\\d+)? ?it/s loss \\d\\.\\d{4}");

  @TempDir Path dir;
  private String socket;

  private static boolean installed(String program) {
    try {
      return new ProcessBuilder(program, "-V").redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  private String tmux(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("tmux", "-L", socket));
    command.addAll(Arrays.asList(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "tmux " + String.join(" ", args) + " hung");
    assertEquals(0, p.exitValue(), () -> "tmux " + String.join(" ", args) + ": " + out);
    return out;
  }

  /** @return the pane's text, its scroll-back included (a pane that dies scrolls its first line into it) */
  private String pane() throws IOException, InterruptedException {
    return tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "train");
  }

  private static String quote(String s) {
    return "'" + s.replace("'", "'\\''") + "'";
  }

  @Test
  void theBarShowsStepsSpeedAndEtaOnOneLineAndCtrlCSaysWhatWasSaved() throws Exception {
    assumeTrue(installed("tmux"), "tmux is not installed (Debian's tmux package; .ci/run installs it)");
    TorchTestBase.useTestThreads();
    Path data = TrainFixtures.data(dir.resolve("data"));
    Path out = dir.resolve("run");
    List<String> train = new ArrayList<>(List.of(TrainOutputFolderTest.train(data, out, 1_000_000)));
    train.remove("--no-progress");
    train.set(train.indexOf("--sample-every") + 1, "0");
    train.set(train.indexOf("--checkpoint-every") + 1, "1000000");
    StringBuilder command = new StringBuilder("env DDPM4J_CLASSPATH=" + quote(System.getProperty("java.class.path")) + " "
        + quote(Path.of("bin", "ddpm4j").toAbsolutePath().toString()));
    for (String a : train) command.append(' ').append(quote(a));
    socket = "ddpm4j-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    try {
      // remain-on-exit keeps the pane, and what the program printed last, after it exits
      tmux("new-session", "-d", "-s", "train", "-x", "150", "-y", "20", command.toString(), ";",
          "set-option", "-t", "train", "remain-on-exit", "on");
      String screen = "";
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline && screen.lines().noneMatch(l -> BAR.matcher(l).find())) {
        Thread.sleep(250);
        screen = pane();
      }
      String bar = screen;
      assertTrue(bar.lines().anyMatch(l -> BAR.matcher(l).find()), () -> "no progress bar with a count, ETA and it/s:\n" + bar);
      assertEquals(1, bar.lines().filter(l -> l.startsWith("train ")).count(), () -> "the bar is not redrawn in place:\n" + bar);
      tmux("send-keys", "-t", "train", "C-c");
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline && !tmux("display-message", "-p", "-t", "train", "#{pane_dead}").strip().equals("1")) {
        Thread.sleep(250);
      }
      String end = pane();
      System.out.println("--- the tmux pane after Ctrl-C:\n" + end.stripTrailing());
      assertEquals("1", tmux("display-message", "-p", "-t", "train", "#{pane_dead}").strip(), () -> "still running 120 s after Ctrl-C:\n" + end);
      assertTrue(Pattern.compile("ddpm4j: interrupted at step \\d+: wrote checkpoint\\.pt, loss\\.csv, loss\\.png in " + Pattern.quote(out.toString())
          + "; continue with --resume").matcher(end.replace("\n", "")).find(), () -> "no message of what was saved:\n" + end);
      assertTrue(Files.exists(out.resolve("checkpoint.pt")), "no checkpoint");
      // the bar redraws its own line only: the line printed before it stays
      assertTrue(end.contains("ddpm4j: " + data.resolve("train-images-idx3-ubyte.gz") + ", 20 images 1x8x8"),
          () -> "the line before the bar was overwritten:\n" + end);
      List<String> lines = end.lines().filter(l -> !l.isBlank()).toList();
      assertTrue(lines.size() >= 3 && lines.get(1).startsWith("train ") && lines.get(2).startsWith("ddpm4j: interrupted"),
          () -> "expected the data line, the bar, the message:\n" + end);
    } finally {
      new ProcessBuilder("tmux", "-L", socket, "kill-server").redirectErrorStream(true).start().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
