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
    // Renders on the bar's own timer would race with the working thread's: in line mode that thread renders the lines
    // alone. continuousUpdate: refresh() renders even when the bar's own first render has seen this step already.
    ProgressBar bar = builder.setConsumer(consumer).setMaxRenderedLength(WIDTH).setUpdateIntervalMillis(Integer.MAX_VALUE)
        .continuousUpdate().build();
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
      bar.refresh(); // renders now, on this thread (continuousUpdate), and the line shows this very step
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
   * Line mode: prints the renders that {@link #stepTo} asks for, each as a line of its own: the next render
   * made on the thread that asked. The bar also renders once by itself on its own thread when it starts,
   * and that render may read the state while a step changes it (a stale count, or {@code ?} for a total
   * just set): it is never printed. The final line at close shows the last state unless the last line
   * already did.
   */
  private static final class Lines implements ProgressBarConsumer {
    private final PrintWriter out;
    private volatile ProgressBar bar;
    /** The thread whose next render is printed; null when none is asked for. */
    private Thread printer;
    private long printedCurrent = -1;
    private String last = "";

    Lines(PrintWriter out) {
      this.out = out;
    }

    /** Prints the next render that the calling thread makes. */
    synchronized void printNext() {
      printer = Thread.currentThread();
    }

    @Override
    public int getMaxRenderedLength() {
      return WIDTH;
    }

    @Override
    public synchronized void accept(String rendered) {
      last = rendered.stripTrailing();
      if (printer == Thread.currentThread()) {
        printer = null;
        print();
      }
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
