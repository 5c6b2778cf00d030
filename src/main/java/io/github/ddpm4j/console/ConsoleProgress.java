package io.github.ddpm4j.console;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.Objects;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

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
 * <p>A progress that is not {@linkplain #open shown} does nothing. Steps are reported from the thread
 * that does the work; the bar renders on a thread of its own. Not for use by several working threads.
 */
public final class ConsoleProgress implements AutoCloseable {
  /** In line mode, a line each time progress passes another multiple of this percentage. */
  public static final int LINE_PERCENT = 5;

  private static final int WIDTH = 100;
  private static final int REFRESH_MILLIS = 500;

  private final ProgressBar bar;
  private final Lines lines;
  private int printedStep = -1;

  private ConsoleProgress(ProgressBar bar, Lines lines) {
    this.bar = bar;
    this.lines = lines;
  }

  /**
   * Starts a progress bar: in place on standard error when standard output and standard error are
   * terminals, else as lines on {@code lines}.
   *
   * @param task the name it shows first, e.g. {@code "sample"}
   * @param max the number of steps, or -1 until known ({@link #step(long, long)} sets it)
   * @param start steps already done (a resumed run), counted in the total but not in the speed
   * @param shown false for a progress that shows nothing (--no-progress, --quiet)
   * @param lines where the lines go when the streams are not terminals, usually standard error
   * @return the progress, to close when the work ends
   * @throws NullPointerException if {@code shown} and {@code task} or {@code lines} is null
   */
  public static ConsoleProgress open(String task, long max, long start, boolean shown, PrintWriter lines) {
    return open(task, max, start, shown, lines, Terminal.interactive(), REFRESH_MILLIS);
  }

  /** {@link #open(String, long, long, boolean, PrintWriter)} in a given mode, redrawn every {@code refreshMillis}. */
  static ConsoleProgress open(String task, long max, long start, boolean shown, PrintWriter lines, boolean interactive,
      int refreshMillis) {
    if (!shown) return new ConsoleProgress(null, null);
    Objects.requireNonNull(lines, "lines");
    ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName(task).setInitialMax(max).startsFrom(start, Duration.ZERO)
        .setStyle(ProgressBarStyle.ASCII).showSpeed().setUnit(" it", 1).setUpdateIntervalMillis(refreshMillis);
    // On a terminal: carriage-return redraws of the bar's own line, as tqdm does. The library's default there moves
    // the cursor up by the lines it counts itself, which lands on another line once anything else is printed.
    if (interactive) return new ConsoleProgress(builder.setConsumer(new ConsoleProgressBarConsumer(System.err)).build(), null);
    Lines consumer = new Lines(lines);
    // Renders on the bar's own timer would race with the working thread's: in line mode that thread renders alone.
    ProgressBar bar = builder.setConsumer(consumer).setMaxRenderedLength(WIDTH).setUpdateIntervalMillis(Integer.MAX_VALUE).build();
    consumer.bar = bar;
    return new ConsoleProgress(bar, consumer);
  }

  /**
   * @param done steps done
   * @param total steps in all (may grow as a task learns its length)
   */
  public void step(long done, long total) {
    if (bar == null) return;
    if (total != bar.getMax()) bar.maxHint(total);
    stepTo(done);
  }

  /** @param done steps done, of the total given at {@link #open} or by the last {@link #step(long, long)} */
  public void stepTo(long done) {
    if (bar == null) return;
    bar.stepTo(done);
    long max = bar.getMax();
    if (lines == null || max <= 0 || done <= bar.getStart()) return;
    int step = (int) Math.min(100 / LINE_PERCENT, 100 * done / max / LINE_PERCENT);
    if (step > printedStep) {
      printedStep = step;
      lines.printNext();
      bar.refresh(); // renders now, on this thread, and the line shows this very step
      lines.printIfPending(); // the bar had rendered this step already (its first render raced with the first step)
    }
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

  /**
   * Line mode: prints the renders that {@link #stepTo} asks for, each as a line of its own. The bar renders
   * once by itself, when it starts, and once when it closes; the final line at close shows the last state
   * unless the last line already did.
   */
  private static final class Lines implements ProgressBarConsumer {
    private final PrintWriter out;
    private volatile ProgressBar bar;
    private boolean printNext;
    private long printedCurrent = -1;
    private String last = "";

    Lines(PrintWriter out) {
      this.out = out;
    }

    synchronized void printNext() {
      printNext = true;
    }

    synchronized void printIfPending() {
      if (printNext) {
        printNext = false;
        print();
      }
    }

    @Override
    public int getMaxRenderedLength() {
      return WIDTH;
    }

    @Override
    public synchronized void accept(String rendered) {
      last = rendered.stripTrailing();
      printIfPending();
    }

    private void print() {
      out.println(last);
      out.flush();
      ProgressBar b = bar;
      if (b != null) printedCurrent = b.getCurrent();
    }

    /** Prints the final state unless the last line showed it. */
    @Override
    public synchronized void close() {
      ProgressBar b = bar;
      if (b != null && b.getMax() > 0 && !last.isEmpty() && b.getCurrent() != printedCurrent) print();
    }
  }
}
