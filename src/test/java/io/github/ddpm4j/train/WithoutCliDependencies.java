package io.github.ddpm4j.train;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.pipeline.GeneratedImages;
import io.github.ddpm4j.pipeline.SampleRequest;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A child JVM's main for {@link WithoutCliDependenciesTest}, on a class path without picocli,
 * progressbar (and jline) or JFreeChart, as a project that depends on ddpm4j has it: trains two
 * steps through {@link Trainer} (once without the progress bar, once asking for it), loads the
 * checkpoint through the pipeline API and samples from it (the PNGs too). Prints what it finds as {@code key=value} lines.
 *
 * <p>Arguments: the data folder, and the folder for the two runs.
 */
public final class WithoutCliDependencies {
  private WithoutCliDependencies() {}

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]);
    Path out = Path.of(args[1]);
    for (String name : new String[] {"picocli.CommandLine", "me.tongfei.progressbar.ProgressBar", "org.jfree.chart.JFreeChart"}) {
      System.out.println(name + "=" + present(name));
    }
    Torch.setNumThreads(1);
    try (ConsoleProgress hidden = ConsoleProgress.open("test", 2, 0, false, new PrintWriter(System.err, true))) {
      hidden.stepTo(1);
    }
    for (boolean bar : new boolean[] {false, true}) {
      StringWriter log = new StringWriter();
      StringWriter lines = new StringWriter();
      Path dir = out.resolve(bar ? "with-bar" : "without-bar");
      Trainer.Output o = new Trainer.Output(dir, 3, 0, 4, TrainFixtures.ddim(3), bar);
      Trainer t = new Trainer(TrainFixtures.config(data, 2), o, Device.CPU, new PrintWriter(log, true))
          .progressLines(new PrintWriter(lines, true));
      System.out.println("steps=" + t.run(Trainer.Mode.NEW));
      System.out.println("log=" + Arrays.toString(log.toString().split("\n")));
      System.out.println("lines=" + Arrays.toString(lines.toString().split("\n")));
    }
    try (DDPMPipeline pipeline = DDPMPipeline.fromCheckpoint(out.resolve("without-bar/checkpoint.pt"), Device.CPU);
         GeneratedImages images = pipeline.sample(SampleRequest.ddim(2, 5L, 3))) {
      System.out.println("sampled=" + Arrays.toString(images.images().shape()) + " pngs=" + images.pngs().size()
          + " grid=" + (images.gridPng().length > 0));
    }
  }

  private static boolean present(String name) {
    try {
      Class.forName(name, false, WithoutCliDependencies.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }
}
