package io.github.ddpm4j.console;

import java.io.PrintWriter;
import java.time.Duration;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The shown bar of a {@link ConsoleProgress}, rendered by the progressbar library: the only class that
 * names that library's types, so that a {@link ConsoleProgress} that shows nothing loads none of them
 * (the library is an optional dependency; a project that depends on ddpm4j may not have it).
 *
 * <p>Not for use by several working threads, as {@link ConsoleProgress}.
 */
final class RenderedBar {
  private static final int WIDTH = 100;

  private final ProgressBar bar;
  private final Lines lines;
  private int printedStep = -1;

  private RenderedBar(ProgressBar bar, Lines lines) {
    this.bar = bar;
    this.lines = lines;
  }

  /** {@link ConsoleProgress#open(String, long, long, boolean, PrintWriter)} of a shown bar, in a given mode. */
  static RenderedBar open(String task, long max, long start, PrintWriter lines, boolean interactive, int refreshMillis) {
    ProgressBarBuilder builder = new ProgressBarBuilder().setTaskName(task).setInitialMax(max).startsFrom(start, Duration.ZERO)
        .setStyle(ProgressBarStyle.ASCII).showSpeed().setUnit(" it", 1).setUpdateIntervalMillis(refreshMillis);
    // On a terminal: carriage-return redraws of the bar's own line, as tqdm does. The library's default there moves
    // the cursor up by the lines it counts itself, which lands on another line once anything else is printed.
    if (interactive) return new RenderedBar(builder.setConsumer(new ConsoleProgressBarConsumer(System.err)).build(), null);
    Lines consumer = new Lines(lines);
    // Renders on the bar's own timer would race with the working thread's: in line mode that thread renders alone.
    ProgressBar bar = builder.setConsumer(consumer).setMaxRenderedLength(WIDTH).setUpdateIntervalMillis(Integer.MAX_VALUE).build();
    consumer.bar = bar;
    return new RenderedBar(bar, consumer);
  }

  /** {@link ConsoleProgress#step(long, long)}. */
  void step(long done, long total) {
    if (total != bar.getMax()) bar.maxHint(total);
    stepTo(done);
  }

  /** {@link ConsoleProgress#stepTo(long)}. */
  void stepTo(long done) {
    bar.stepTo(done);
    long max = bar.getMax();
    if (lines == null || max <= 0 || done <= bar.getStart()) return;
    int step = (int) Math.min(100 / ConsoleProgress.LINE_PERCENT, 100 * done / max / ConsoleProgress.LINE_PERCENT);
    if (step > printedStep) {
      printedStep = step;
      lines.printNext();
      bar.refresh(); // renders now, on this thread, and the line shows this very step
      lines.printIfPending(); // the bar had rendered this step already (its first render raced with the first step)
    }
  }

  /** {@link ConsoleProgress#setExtraMessage(String)}. */
  void setExtraMessage(String message) {
    bar.setExtraMessage(message);
  }

  /** {@link ConsoleProgress#close()}. */
  void close() {
    bar.close();
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
