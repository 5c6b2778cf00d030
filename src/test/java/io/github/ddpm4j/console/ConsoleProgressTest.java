package io.github.ddpm4j.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The progress bar's line mode (a pipe or a file): whole lines, one per 5% passed, with count, speed and ETA. */
class ConsoleProgressTest {
  private static final Pattern COUNT = Pattern.compile("^work +(\\d+|\\?) ?% .* (\\d+)/200 it ");

  /** Runs {@code steps} steps of {@code sleepMillis} each under a line-mode bar that renders every {@code refreshMillis}. */
  private static String run(int steps, int sleepMillis, int refreshMillis) throws InterruptedException {
    StringWriter text = new StringWriter();
    try (ConsoleProgress bar = ConsoleProgress.open("work", -1, 0, true, new PrintWriter(text, true), false, refreshMillis)) {
      for (int i = 1; i <= steps; i++) {
        Thread.sleep(sleepMillis);
        bar.step(i, steps);
      }
    }
    return text.toString();
  }

  @Test
  void linesNeverRedrawAndComeOncePerFivePercent() throws InterruptedException {
    String text = run(200, 2, 5);
    assertFalse(text.contains("\r"), text);
    List<Integer> buckets = new ArrayList<>();
    String[] lines = text.split("\n");
    for (String line : lines) {
      Matcher m = COUNT.matcher(line);
      assertTrue(m.find(), () -> "not a progress line: '" + line + "' in\n" + text);
      buckets.add(100 * Integer.parseInt(m.group(2)) / 200 / ConsoleProgress.LINE_PERCENT);
    }
    // Exactly one line as each 5% is passed: 0-4%, 5%, ..., 100%; each shows the step that passed it.
    List<Integer> expected = new ArrayList<>();
    for (int b = 0; b <= 100 / ConsoleProgress.LINE_PERCENT; b++) expected.add(b);
    assertEquals(expected, buckets, text);
    String last = lines[lines.length - 1];
    assertTrue(last.startsWith("work 100%") && last.contains("200/200 it"), last);
    assertTrue(last.matches(".*\\(\\d+:\\d\\d:\\d\\d / \\d+:\\d\\d:\\d\\d\\).*"), () -> "elapsed / ETA missing: " + last);
    // The speed reads "? it/s" until a second has passed, then e.g. "96.2it/s".
    assertTrue(last.matches(".*(\\d+(\\.\\d+)?|\\? )it/s.*"), () -> "speed missing: " + last);
  }

  @Test
  void aShortTaskStillEndsWithItsFinalLine() throws InterruptedException {
    String text = run(3, 0, 500);
    String[] lines = text.split("\n");
    assertEquals(3, lines.length, text); // 33%, 66%, 100%
    assertTrue(lines[lines.length - 1].contains("100%") && lines[lines.length - 1].contains("3/3 it"), text);
  }

  /**
   * The bar renders once by itself on its own thread when it starts; that render used to race with the
   * first step's, and about one bar in five on a loaded machine printed the stale render ({@code 0/? it})
   * instead of the first step's line. Many short bars make the race likely.
   */
  @Test
  void everyLineShowsTheStepThatPrintedIt() throws InterruptedException {
    Pattern line = Pattern.compile("^work +\\d+% .* (\\d+)/4 it ");
    for (int bar = 0; bar < 300; bar++) {
      String text = run(4, 0, 500);
      String[] lines = text.split("\n");
      assertEquals(4, lines.length, text);
      for (int i = 0; i < lines.length; i++) {
        Matcher m = line.matcher(lines[i]);
        assertTrue(m.find(), "bar " + bar + ", line " + i + ":\n" + text);
        assertEquals(i + 1, Integer.parseInt(m.group(1)), text);
      }
    }
  }

  @Test
  void aHiddenProgressPrintsNothing() {
    StringWriter text = new StringWriter();
    try (ConsoleProgress bar = ConsoleProgress.open("work", 10, 0, false, new PrintWriter(text, true))) {
      for (int i = 1; i <= 10; i++) bar.step(i, 10);
      assertFalse(bar.shown());
    }
    assertEquals("", text.toString());
  }

  @Test
  void aTestJvmIsNotATerminal() {
    // Surefire pipes the forked JVM's output: progress there must come as lines.
    assertFalse(Terminal.isTerminal(Terminal.STDOUT) && Terminal.isTerminal(Terminal.STDERR));
    assertFalse(Terminal.interactive());
    assertFalse(Terminal.isTerminal(-1));
  }
}
