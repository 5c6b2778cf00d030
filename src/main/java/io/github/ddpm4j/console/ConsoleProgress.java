package io.github.ddpm4j.console;

import java.io.PrintWriter;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The progress bar of every long command, on standard error: the task, the percentage, steps done of
 * the total, elapsed time and ETA, and iterations per second, rendered by the progressbar library:
 * <pre>train  35% [=======>            ]  700/2000 it (0:01:02 / 0:01:55) 11.2it/s loss 0.0500</pre>
 *
 * <p>When standard output and standard error are both terminals ({@link Terminal#interactive()}), the
 * bar redraws one line of standard error in place twice a second. Otherwise (a pipe, a file, a CI log)
 * it never writes a carriage return: it prints the bar as a line of its own each time progress passes
 * another {@value #LINE_PERCENT}% and once more when it closes, so that a log holds about twenty lines
 * per task.
 *
 * <p>A progress that is not {@linkplain #open shown} does nothing, and needs no progressbar classes:
 * the progressbar library ({@code me.tongfei:progressbar}) is an optional dependency of ddpm4j, which
 * the command line has and a project that depends on ddpm4j need not have. Without it a progress that
 * should be shown shows nothing either, and the first one in the JVM says so in one line.
 *
 * <p>Steps are reported from the thread that does the work; the bar renders on a thread of its own.
 * Not for use by several working threads.
 */
public final class ConsoleProgress implements AutoCloseable {
  /** In line mode, a line each time progress passes another multiple of this percentage. */
  public static final int LINE_PERCENT = 5;

  private static final int REFRESH_MILLIS = 500;
  private static final String LIBRARY_CLASS = "me.tongfei.progressbar.ProgressBar";
  private static final AtomicBoolean SAID_ABSENT = new AtomicBoolean();

  /** The shown bar; null when nothing is shown. */
  private final RenderedBar bar;

  private ConsoleProgress(RenderedBar bar) {
    this.bar = bar;
  }

  /**
   * Starts a progress bar: in place on standard error when standard output and standard error are
   * terminals, else as lines on {@code lines}.
   *
   * @param task the name it shows first, e.g. {@code "sample"}
   * @param max the number of steps, or -1 until known ({@link #step(long, long)} sets it)
   * @param start steps already done (a resumed run), counted in the total but not in the speed
   * @param shown false for a progress that shows nothing (--no-progress, --quiet)
   * @param lines where the lines go when the streams are not terminals, usually standard error; also
   *     where the first progress without the progressbar library says that it shows nothing
   * @return the progress, to close when the work ends
   * @throws NullPointerException if {@code shown} and {@code task} or {@code lines} is null
   */
  public static ConsoleProgress open(String task, long max, long start, boolean shown, PrintWriter lines) {
    return open(task, max, start, shown, lines, Terminal.interactive(), REFRESH_MILLIS);
  }

  /** {@link #open(String, long, long, boolean, PrintWriter)} in a given mode, redrawn every {@code refreshMillis}. */
  static ConsoleProgress open(String task, long max, long start, boolean shown, PrintWriter lines, boolean interactive,
      int refreshMillis) {
    if (!shown) return new ConsoleProgress(null);
    Objects.requireNonNull(task, "task");
    Objects.requireNonNull(lines, "lines");
    if (!barLibraryPresent()) {
      if (SAID_ABSENT.compareAndSet(false, true)) {
        lines.println("ddpm4j: no progress bar: progressbar (me.tongfei:progressbar) is not on the class path");
        lines.flush();
      }
      return new ConsoleProgress(null);
    }
    return new ConsoleProgress(RenderedBar.open(task, max, start, lines, interactive, refreshMillis));
  }

  /** @return whether the progressbar library can be loaded by ddpm4j's class loader (and, on the module path, is read) */
  static boolean barLibraryPresent() {
    try {
      Class.forName(LIBRARY_CLASS, false, ConsoleProgress.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /**
   * @param done steps done
   * @param total steps in all (may grow as a task learns its length)
   */
  public void step(long done, long total) {
    if (bar != null) bar.step(done, total);
  }

  /** @param done steps done, of the total given at {@link #open} or by the last {@link #step(long, long)} */
  public void stepTo(long done) {
    if (bar != null) bar.stepTo(done);
  }

  /** @param message text shown after the speed, e.g. {@code " loss 0.0500"} */
  public void setExtraMessage(String message) {
    if (bar != null) bar.setExtraMessage(message);
  }

  /** @return whether this progress shows anything */
  public boolean shown() {
    return bar != null;
  }

  /** Draws the bar a last time and ends its line. */
  @Override
  public void close() {
    if (bar != null) bar.close();
  }
}
