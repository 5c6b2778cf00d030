import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * Draws FID against wall-clock minutes for bench/quality: one line per run, from CSV files with the
 * header {@code minutes,fid}, and the real-data floor as a flat line.
 *
 * <pre>java -cp 'target/lib/*' bench/quality/FidPlot.java OUT.png FLOOR NAME=FILE.csv [NAME=FILE.csv ...]</pre>
 */
public final class FidPlot {
  private FidPlot() {}

  public static void main(String[] args) throws Exception {
    if (args.length < 3) throw new IllegalArgumentException("usage: FidPlot OUT.png FLOOR NAME=FILE.csv [NAME=FILE.csv ...]");
    double floor = Double.parseDouble(args[1]);
    XYSeriesCollection data = new XYSeriesCollection();
    double maxMinutes = 0;
    for (int i = 2; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      XYSeries s = new XYSeries(args[i].substring(0, eq));
      List<String> lines = Files.readAllLines(Path.of(args[i].substring(eq + 1)));
      for (String line : lines.subList(1, lines.size())) {
        String[] f = line.split(",");
        double minutes = Double.parseDouble(f[0]);
        s.add(minutes, Double.parseDouble(f[1]));
        maxMinutes = Math.max(maxMinutes, minutes);
      }
      data.addSeries(s);
    }
    XYSeries real = new XYSeries("real images (the floor)");
    real.add(0, floor);
    real.add(maxMinutes, floor);
    data.addSeries(real);
    JFreeChart chart = ChartFactory.createXYLineChart("FID against wall-clock time, Fashion-MNIST, 2-core CPU",
        "minutes (training, and the final grid at the last point)", "FID (ddpm4j classifier features)", data,
        PlotOrientation.VERTICAL, true, false, false);
    ImageIO.write(chart.createBufferedImage(900, 500), "png", new File(args[0]));
  }
}
