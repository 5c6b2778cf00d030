package io.github.ddpm4j.cli;

import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.AncestralSampler;
import io.github.ddpm4j.diffusion.Trajectory;
import io.github.ddpm4j.diffusion.TrajectoryRecorder;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
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
    description = "Show the model's estimate of x_0 every K reverse steps, as an animated GIF or a PNG strip (by the --out extension).")
final class AnimateCommand implements Callable<Integer> {
  @Mixin
  CheckpointOption model;

  @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "4", description = "Images side by side (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--every", paramLabel = "K", defaultValue = "50", description = "A frame every K steps (default: ${DEFAULT-VALUE}).")
  int every;

  @Option(names = "--delay", paramLabel = "MS", defaultValue = "120", description = "GIF frame time in milliseconds (default: ${DEFAULT-VALUE}).")
  int delay;

  @Option(names = "--out", paramLabel = "FILE", defaultValue = "trajectory.gif", description = "Output .gif or .png (default: ${DEFAULT-VALUE}).")
  Path out;

  @Mixin
  CommonOptions common;

  /** Ancestral sampling (Algorithm 2) that records {@code x0Hat} every {@code --every} steps. */
  private Trajectory trajectory(LoadedModel m, Generator g) {
    TrajectoryRecorder recorder = new TrajectoryRecorder(every);
    return recorder.trajectory(new AncestralSampler(m.diffusion()).sample(count, m.imageShape(), g, recorder));
  }

  @Override
  public Integer call() throws Exception {
    String name = out.getFileName().toString().toLowerCase(Locale.ROOT);
    boolean gif = name.endsWith(".gif");
    if (!gif && !name.endsWith(".png")) throw new IllegalArgumentException("--out must end in .gif or .png, got " + out);
    if (count < 1) throw new IllegalArgumentException("--count must be >= 1, got " + count);
    if (every < 1) throw new IllegalArgumentException("--every must be >= 1, got " + every);
    if (delay < 10) throw new IllegalArgumentException("--delay must be >= 10 ms, got " + delay);
    Device device = common.apply();
    Sampling.outputFolder(out);
    try (LoadedModel m = LoadedModel.open(model.checkpoint, device, true); Scope scope = Scope.open();
         Generator g = new Generator(common.seed, device);
         Trajectory tr = trajectory(m, g)) {
      m.requireFinite(tr.x0Hat());
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
    return 0;
  }
}
