package io.github.ddpm4j.cli;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.data.ImageDataset;
import io.github.ddpm4j.data.ImageFolderReader;
import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.Interpolator;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j interpolate}: a strip of images between two sources. */
@Command(name = "interpolate", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Interpolate between two images (Ho et al. 2020, section 4.3): both are noised to step t with the same noise,",
        "mixed by lambda, and denoised from t. Writes a PNG strip over lambda = 0..1."})
final class InterpolateCommand implements Callable<Integer> {
  @Mixin
  CheckpointOption model;

  static final class Sources {
    @Option(names = "--indices", paramLabel = "I,J", split = ",", description = "Two indices into the run's training set.")
    List<Long> indices;

    @Option(names = "--images", paramLabel = "A,B", split = ",", description = "Two PNG/JPEG files.")
    List<Path> images;
  }

  @ArgGroup(exclusive = true, multiplicity = "1")
  Sources sources;

  @Option(names = "--t", paramLabel = "T", description = "Noise step to interpolate at, in [0, T) (default: T / 2, 500 for T = 1000).")
  Integer t;

  @Option(names = "--frames", paramLabel = "N", defaultValue = "9", description = "Images in the strip, >= 2 (default: ${DEFAULT-VALUE}).")
  int frames;

  @Option(names = "--out", paramLabel = "PNG", defaultValue = "interpolation.png", description = "Output strip (default: ${DEFAULT-VALUE}).")
  Path out;

  @Mixin
  ExecutionOptions execution;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    Sampling.checkExtension(out, ".png");
    if (frames < 2) throw new IllegalArgumentException("--frames must be >= 2, got " + frames);
    if (t != null && t < 0) throw new IllegalArgumentException("--t must be >= 0, got " + t);
    Device device = common.apply();
    Sampling.outputFolder(out);
    try (Sampling s = Sampling.open(model.checkpoint, device, execution); Scope scope = Scope.open()) {
      DDPMPipeline m = s.model();
      int step = t == null ? m.config().timesteps() / 2 : t;
      if (step >= m.config().timesteps()) {
        throw new IllegalArgumentException("--t must be in [0, " + m.config().timesteps() + ") for this model, got " + step);
      }
      Tensor pair = sources(m);
      Tensor x1 = pair.narrow(0, 0, 1).to(device);
      Tensor x2 = pair.narrow(0, 1, 1).to(device);
      Interpolator interpolator = new Interpolator(s.diffusion());
      List<Tensor> strip = new ArrayList<>();
      try (ConsoleProgress bar = common.progress("interpolate", -1)) {
        for (int i = 0; i < frames; i++) {
          double lambda = (double) i / (frames - 1);
          long before = (long) i * (step + 1);
          Progress p = (done, total) -> bar.step(before + done, (long) frames * total);
          try (Generator g = new Generator(common.seed, device)) {
            strip.add(interpolator.interpolate(x1, x2, lambda, step, g, p));
          }
        }
      }
      Tensor images = Torch.cat(strip, 0);
      s.requireFinite(images);
      ImageWriter.writePng(ImageWriter.grid(images, frames, 2), out);
    }
    common.report("wrote " + frames + " images from lambda = 0 to 1 into " + out);
    return 0;
  }

  private Tensor sources(DDPMPipeline m) throws Exception {
    int size = m.config().imageSize();
    int channels = m.config().model().imageChannels();
    if (sources.images != null) {
      if (sources.images.size() != 2) throw new IllegalArgumentException("--images needs exactly two files, got " + sources.images.size());
      try (ImageDataset ds = ImageFolderReader.readFiles(sources.images, size, channels, "--images")) {
        return ds.normalized(Torch.arange(2));
      }
    }
    if (sources.indices.size() != 2) throw new IllegalArgumentException("--indices needs exactly two indices, got " + sources.indices.size());
    long i = sources.indices.get(0), j = sources.indices.get(1);
    if (i < 0 || j < 0) throw new IllegalArgumentException("--indices must be >= 0, got " + i + "," + j);
    try (ImageDataset ds = Datasets.open(m.config().data(), size, channels, Math.max(i, j) + 1)) {
      if (Math.max(i, j) >= ds.size()) {
        throw new IllegalArgumentException("--indices " + i + "," + j + ": the training set has only " + ds.size() + " images");
      }
      return ds.normalized(Torch.tensor(new long[] {i, j}, 2));
    }
  }
}
