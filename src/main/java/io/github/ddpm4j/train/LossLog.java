package io.github.ddpm4j.train;

import io.github.ddpm4j.io.AtomicFiles;
import io.github.ddpm4j.io.FileErrors;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The training loss, appended to a CSV file ({@code step,loss,lr,seconds}) as
 * it is produced and drawn as a PNG curve with JFreeChart: the raw loss and a
 * moving average over 50 steps. The curve needs JFreeChart on the class path
 * ({@link #canPlot()}); the CSV file needs nothing.
 *
 * <p>Crash safety: opening the log rewrites the file with {@link AtomicFiles} (header and the
 * rows kept), so a crash then leaves the old file or the new one; {@link #flush()} forces the
 * appended rows to disk, and the trainer calls it before it renames a checkpoint into place,
 * so the rows of every step that a checkpoint covers are on disk before the checkpoint is.
 * Not thread-safe: one training thread writes it.
 */
public final class LossLog implements AutoCloseable {
  private static final int SMOOTHING = 50;
  private static final String HEADER = "step,loss,lr,seconds";
  private static final boolean PLOTTING = jfreechartPresent();

  private final Path file;
  private final FileChannel channel;
  private final BufferedWriter csv;
  private final List<double[]> points = new ArrayList<>();

  /**
   * Opens {@code file} for appending, after rewriting it atomically with the header and the existing
   * rows of steps below {@code keepUpTo}, one row per step (the last one where a step appears twice),
   * in step order. Rows past {@code keepUpTo} are dropped, so a resumed run continues the log where
   * its checkpoint was taken; rows that do not parse (a line cut short by a crash) are dropped too.
   * Missing parent folders are created.
   *
   * @param file the CSV file
   * @param keepUpTo keep existing rows whose step is below this (the step of the checkpoint resumed), drop the rest;
   *     0 starts a new log
   * @throws java.nio.file.FileSystemException naming the file and the reason if it cannot be read or written
   *     (for example {@code "Is a directory"})
   */
  public LossLog(Path file, long keepUpTo) throws IOException {
    this.file = file;
    FileErrors.createDirectories(file.toAbsolutePath().getParent());
    Map<Long, String> kept = new TreeMap<>();
    try {
      if (keepUpTo > 0 && Files.exists(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          String[] f = line.split(",");
          if (f.length < 2 || !f[0].matches("\\d{1,18}")) continue;
          long step = Long.parseLong(f[0]);
          if (step >= keepUpTo) continue;
          try {
            Double.parseDouble(f[1]);
          } catch (NumberFormatException e) {
            continue;
          }
          kept.put(step, line);
        }
      }
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
    StringBuilder text = new StringBuilder(HEADER).append('\n');
    for (Map.Entry<Long, String> row : kept.entrySet()) {
      text.append(row.getValue()).append('\n');
      points.add(new double[] {row.getKey(), Double.parseDouble(row.getValue().split(",")[1])});
    }
    AtomicFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
    try {
      this.channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
    this.csv = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(channel), StandardCharsets.UTF_8));
  }

  /**
   * Appends a row (buffered; {@link #flush()} writes it to disk).
   *
   * @param step the optimizer step, from 0
   * @param loss the batch loss
   * @param lr the learning rate used
   * @param seconds wall time since training started, in seconds
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   */
  public void add(long step, double loss, double lr, double seconds) throws IOException {
    try {
      csv.write(String.format(Locale.ROOT, "%d,%.6f,%.3e,%.1f%n", step, loss, lr, seconds));
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
    points.add(new double[] {step, loss});
  }

  /**
   * Writes the buffered rows and forces them to disk ({@code fsync}): when this returns, a crash
   * loses no row added so far.
   *
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   */
  public void flush() throws IOException {
    try {
      csv.flush();
      channel.force(false);
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
  }

  /**
   * Draws the loss curve ({@value LossPlot#WIDTH}x{@value LossPlot#HEIGHT} pixels) with JFreeChart,
   * encoded in memory and written with {@link AtomicFiles}; it registers no shutdown hook, so it works
   * while the JVM shuts down (Ctrl-C). JFreeChart ({@code org.jfree:jfreechart}) is an optional
   * dependency of ddpm4j: without it ({@link #canPlot()} false) this writes nothing.
   *
   * @param png the output file
   * @return whether it was drawn: false when JFreeChart is not on the class path
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   * @throws IOException if encoding fails
   */
  public boolean plot(Path png) throws IOException {
    if (!canPlot()) return false;
    LossPlot.write(points, SMOOTHING, png);
    return true;
  }

  /**
   * @return whether {@link #plot} can draw: JFreeChart is on the class path (and, on the module path,
   *     in the module graph: {@code --add-modules org.jfree.jfreechart})
   */
  public static boolean canPlot() {
    return PLOTTING;
  }

  private static boolean jfreechartPresent() {
    try {
      Class.forName("org.jfree.chart.JFreeChart", false, LossLog.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException | LinkageError e) {
      return false;
    }
  }

  /**
   * Flushes, forces and closes the CSV file.
   *
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   */
  @Override
  public void close() throws IOException {
    try (FileChannel ch = channel) {
      flush();
      csv.close();
    }
  }
}
