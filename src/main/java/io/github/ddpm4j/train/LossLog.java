package io.github.ddpm4j.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The training loss, appended to a CSV file ({@code step,loss,lr,seconds}) as
 * it is produced and drawn as a PNG curve with JFreeChart: the raw loss and a
 * moving average over 50 steps.
 */
public final class LossLog implements AutoCloseable {
  private static final int SMOOTHING = 50;

  private final BufferedWriter csv;
  private final List<double[]> points = new ArrayList<>();

  /**
   * Opens (appending to) {@code file}, writing the header if the file is new or empty.
   * Rows past {@code keepUpTo} steps are dropped first, so a resumed run continues the log;
   * rows that do not parse (a line cut short by a crash) are dropped too.
   *
   * @param file the CSV file
   * @param keepUpTo keep existing rows whose step is below this (the resumed step), drop the rest
   * @throws IOException if the file cannot be read or written
   */
  public LossLog(Path file, long keepUpTo) throws IOException {
    Files.createDirectories(file.toAbsolutePath().getParent());
    List<String> kept = new ArrayList<>();
    if (Files.exists(file)) {
      for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        String[] f = line.split(",");
        if (f.length < 2 || !f[0].matches("\\d{1,18}")) continue;
        long step = Long.parseLong(f[0]);
        if (step >= keepUpTo) continue;
        double loss;
        try {
          loss = Double.parseDouble(f[1]);
        } catch (NumberFormatException e) {
          continue;
        }
        kept.add(line);
        points.add(new double[] {step, loss});
      }
    }
    Files.write(file, List.of("step,loss,lr,seconds"), StandardCharsets.UTF_8);
    Files.write(file, kept, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    this.csv = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
  }

  /**
   * @param step the optimizer step, from 0
   * @param loss the batch loss
   * @param lr the learning rate used
   * @param seconds wall time since training started, in seconds
   * @throws IOException if writing fails
   */
  public void add(long step, double loss, double lr, double seconds) throws IOException {
    csv.write(String.format(Locale.ROOT, "%d,%.6f,%.3e,%.1f%n", step, loss, lr, seconds));
    points.add(new double[] {step, loss});
  }

  /** @throws IOException if flushing fails */
  public void flush() throws IOException {
    csv.flush();
  }

  /**
   * Draws the loss curve.
   *
   * @param png the output file
   * @throws IOException if writing fails
   */
  public void plot(Path png) throws IOException {
    XYSeries raw = new XYSeries("loss");
    XYSeries smooth = new XYSeries("moving average (" + SMOOTHING + " steps)");
    double sum = 0;
    for (int i = 0; i < points.size(); i++) {
      raw.add(points.get(i)[0], points.get(i)[1]);
      sum += points.get(i)[1];
      if (i >= SMOOTHING) sum -= points.get(i - SMOOTHING)[1];
      smooth.add(points.get(i)[0], sum / Math.min(i + 1, SMOOTHING));
    }
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(raw);
    data.addSeries(smooth);
    JFreeChart chart = ChartFactory.createXYLineChart("DDPM training loss", "step", "MSE(eps, eps_theta)", data,
        PlotOrientation.VERTICAL, true, false, false);
    Path tmp = Files.createTempFile(png.toAbsolutePath().getParent(), "." + png.getFileName(), ".tmp");
    try {
      ChartUtils.saveChartAsPNG(tmp.toFile(), chart, 900, 500);
      Files.move(tmp, png, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Flushes and closes the CSV file. */
  @Override
  public void close() throws IOException {
    csv.close();
  }
}
