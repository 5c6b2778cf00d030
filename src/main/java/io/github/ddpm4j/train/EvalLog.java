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
 * The evaluations of a run ({@link SampleScorer}), appended to a CSV file ({@code step,train_seconds,fid,kid,kid_std_err})
 * and drawn as an FID-against-step curve with JFreeChart when it is present ({@link LossLog#canPlot()}).
 *
 * <p>Crash safety as {@link LossLog}: opening rewrites the file atomically with the rows kept; {@link #flush()}
 * forces the appended rows to disk, and the trainer calls it before it renames a checkpoint into place.
 * Not thread-safe: one training thread writes it.
 */
final class EvalLog implements AutoCloseable {
  static final String HEADER = "step,train_seconds,fid,kid,kid_std_err";

  /** One evaluation: after {@code step} optimizer steps, {@code seconds} of training. */
  record Row(long step, double seconds, double fid, double kid, double kidStdErr) {}

  private final Path file;
  private final FileChannel channel;
  private final BufferedWriter csv;
  private final List<Row> rows = new ArrayList<>();

  /**
   * Opens {@code file} for appending, after rewriting it atomically with the header and the existing rows of
   * steps up to {@code keepUpTo} (inclusive: an evaluation after step {@code s} is covered by the checkpoint of
   * step {@code s}), one per step, in step order; rows that do not parse (a line cut short by a crash) are dropped.
   *
   * @param file the CSV file
   * @param keepUpTo keep the existing rows of steps up to this one (the checkpoint resumed); 0 starts a new log
   * @throws java.nio.file.FileSystemException naming the file and the reason if it cannot be read or written
   */
  EvalLog(Path file, long keepUpTo) throws IOException {
    this.file = file;
    Map<Long, Row> kept = new TreeMap<>();
    try {
      if (keepUpTo > 0 && Files.exists(file)) {
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
          Row r = parse(line);
          if (r != null && r.step() <= keepUpTo) kept.put(r.step(), r);
        }
      }
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
    StringBuilder text = new StringBuilder(HEADER).append('\n');
    for (Row r : kept.values()) {
      text.append(format(r));
      rows.add(r);
    }
    AtomicFiles.write(file, text.toString().getBytes(StandardCharsets.UTF_8));
    try {
      this.channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
    this.csv = new BufferedWriter(new OutputStreamWriter(Channels.newOutputStream(channel), StandardCharsets.UTF_8));
  }

  private static Row parse(String line) {
    String[] f = line.split(",");
    if (f.length != 5 || !f[0].matches("\\d{1,18}")) return null;
    try {
      return new Row(Long.parseLong(f[0]), Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]),
          Double.parseDouble(f[4]));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  private static String format(Row r) {
    return String.format(Locale.ROOT, "%d,%.1f,%.6g,%.6g,%.6g%n", r.step(), r.seconds(), r.fid(), r.kid(), r.kidStdErr());
  }

  /** @return the rows so far (kept and added), in step order */
  List<Row> rows() {
    return List.copyOf(rows);
  }

  /** @return the row of the lowest FID so far (the earliest of equal ones), or null when there is none */
  Row best() {
    Row best = null;
    for (Row r : rows) if (best == null || r.fid() < best.fid()) best = r;
    return best;
  }

  /**
   * Appends a row (buffered; {@link #flush()} writes it to disk).
   *
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   */
  void add(Row row) throws IOException {
    try {
      csv.write(format(row));
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
    rows.add(row);
  }

  /**
   * Writes the buffered rows and forces them to disk.
   *
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   */
  void flush() throws IOException {
    try {
      csv.flush();
      channel.force(false);
    } catch (IOException e) {
      throw FileErrors.withPath(file, e);
    }
  }

  /**
   * Draws FID against step with JFreeChart, written atomically; nothing without JFreeChart.
   *
   * @return whether it was drawn
   * @throws IOException if encoding or writing fails
   */
  boolean plot(Path png) throws IOException {
    if (!LossLog.canPlot()) return false;
    List<double[]> points = new ArrayList<>();
    for (Row r : rows) points.add(new double[] {r.step(), r.fid()});
    LossPlot.writeFid(points, png);
    return true;
  }

  @Override
  public void close() throws IOException {
    try (FileChannel ch = channel) {
      flush();
      csv.close();
    }
  }
}
