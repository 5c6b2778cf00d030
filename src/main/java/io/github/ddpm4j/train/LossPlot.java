package io.github.ddpm4j.train;

import io.github.ddpm4j.data.ImageWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * {@link LossLog}'s curve, drawn with JFreeChart: the only class of the package that names JFreeChart's
 * types, loaded only when {@link LossLog#canPlot()} found JFreeChart (an optional dependency of ddpm4j).
 * Stateless and thread-safe.
 */
final class LossPlot {
  /** Plot size in pixels. */
  static final int WIDTH = 900, HEIGHT = 500;

  private LossPlot() {}

  /**
   * Draws the raw loss and its moving average and writes the PNG atomically.
   *
   * @param points {step, loss} pairs in step order
   * @param smoothing steps in the moving average
   * @param png the output file
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   * @throws IOException if encoding fails
   */
  static void write(List<double[]> points, int smoothing, Path png) throws IOException {
    XYSeries raw = new XYSeries("loss");
    XYSeries smooth = new XYSeries("moving average (" + smoothing + " steps)");
    double sum = 0;
    for (int i = 0; i < points.size(); i++) {
      raw.add(points.get(i)[0], points.get(i)[1]);
      sum += points.get(i)[1];
      if (i >= smoothing) sum -= points.get(i - smoothing)[1];
      smooth.add(points.get(i)[0], sum / Math.min(i + 1, smoothing));
    }
    XYSeriesCollection data = new XYSeriesCollection();
    data.addSeries(raw);
    data.addSeries(smooth);
    JFreeChart chart = ChartFactory.createXYLineChart("DDPM training loss", "step", "MSE(eps, eps_theta)", data,
        PlotOrientation.VERTICAL, true, false, false);
    ImageWriter.writePng(chart.createBufferedImage(WIDTH, HEIGHT), png);
  }

  /**
   * Draws FID against step (the evaluations of {@link EvalLog}) and writes the PNG atomically.
   *
   * @param points {step, fid} pairs in step order
   * @param png the output file
   * @throws java.nio.file.FileSystemException naming the file and the reason if writing fails
   * @throws IOException if encoding fails
   */
  static void writeFid(List<double[]> points, Path png) throws IOException {
    XYSeries fid = new XYSeries("FID");
    for (double[] p : points) fid.add(p[0], p[1]);
    JFreeChart chart = ChartFactory.createXYLineChart("FID of EMA samples during training", "step", "FID", new XYSeriesCollection(fid),
        PlotOrientation.VERTICAL, true, false, false);
    ImageWriter.writePng(chart.createBufferedImage(WIDTH, HEIGHT), png);
  }
}
