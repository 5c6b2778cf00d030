package io.github.ddpm4j.cli;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.Sampler;
import io.github.ddpm4j.diffusion.Trajectory;
import io.github.ddpm4j.diffusion.TrajectoryRecorder;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j animate}: the denoising trajectory as a GIF or PNG strip. */
@Command(name = "animate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Show the model's estimate of x_0 every K sampling steps, as an animated GIF or a PNG strip (by the --out extension).")
final class AnimateCommand implements Callable<Integer> {
  @Mixin
  CheckpointOption model;

  @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "4", description = "Images side by side (default: ${DEFAULT-VALUE}).")
  int count;

  @Mixin
  SamplerMixin sampler;

  @Option(names = "--every", paramLabel = "K", defaultValue = "5",
      description = "A frame every K sampling steps (default: ${DEFAULT-VALUE}; with --sampler ancestral, try 50).")
  int every;

  @Option(names = "--delay", paramLabel = "MS", defaultValue = "120", description = "GIF frame time in milliseconds (default: ${DEFAULT-VALUE}).")
  int delay;

  @Option(names = "--out", paramLabel = "FILE", defaultValue = "trajectory.gif", description = "Output .gif or .png (default: ${DEFAULT-VALUE}).")
  Path out;

  @Mixin
  ExecutionOptions execution;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    Sampling.checkExtension(out, ".gif", ".png");
    boolean gif = out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".gif");
    Sampling.checkCount("count", count);
    if (every < 1) throw new IllegalArgumentException("--every must be >= 1, got " + every);
    if (delay < 10) throw new IllegalArgumentException("--delay must be >= 10 ms, got " + delay);
    Device device = common.apply();
    Sampling.outputFolder(out);
    try (Sampling s = Sampling.open(model.checkpoint, device, execution); Scope scope = Scope.open()) {
      Sampler sampling = sampler.options(s.model().config().timesteps()).create(s.diffusion());
      TrajectoryRecorder recorder = new TrajectoryRecorder(every);
      Tensor x;
      try (ConsoleProgress bar = common.progress("animate", -1)) {
        x = sampling.sample(count, s.model().imageShape(), common.seed, recorder.andThen((Progress) bar::step));
      }
      try (Trajectory tr = recorder.trajectory(x)) {
        s.requireFinite(tr.x0Hat());
        int frames = (int) tr.x0Hat().size(0);
        if (gif) {
          List<BufferedImage> images = new ArrayList<>();
          for (int f = 0; f < frames; f++) images.add(ImageWriter.grid(tr.x0Hat().select(0, f), count, 2));
          ImageWriter.writeGif(images, delay, out);
        } else {
          Tensor all = tr.x0Hat().transpose(0, 1).flatten(0, 1);
          ImageWriter.writePng(ImageWriter.grid(all, frames, 2), out);
        }
        common.report("wrote " + frames + " frames to " + out);
      }
    }
    return 0;
  }
}
