package io.github.ddpm4j.cli;

import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.CudaGraphEpsilon;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.Sampler;
import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.io.FileErrors;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Autocast;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Sampling from a checkpoint into PNG files, shared by {@code train} and {@code sample}. */
final class Sampling {
  /** Most images one command draws: they are sampled as one batch. */
  static final int MAX_COUNT = 4096;

  private Sampling() {}

  /**
   * Checks a number of images to sample, once, where the command reads it.
   *
   * @param setting the name of the command's field that holds it
   * @param n the number of images
   * @throws InvalidSettingException naming {@code setting} unless {@code n} is in 1..{@value #MAX_COUNT}
   */
  static void checkCount(String setting, int n) {
    if (n < 1 || n > MAX_COUNT) {
      throw new InvalidSettingException("{" + setting + "=} must be in 1..{} (they are sampled as one batch)", n, MAX_COUNT);
    }
  }

  /**
   * @param checkpoint a ddpm4j checkpoint
   * @param device where to sample
   * @param n number of images, in 1..{@value #MAX_COUNT} ({@link #checkCount})
   * @param sampler which sampler, and its settings
   * @param seed sampling seed
   * @param grid PNG grid to write, or null
   * @param singles folder for one PNG per image, or null
   * @param progressBar show a progress bar
   * @param execution the precision, memory format and CUDA graphs of the forward passes
   * @throws IOException if reading the checkpoint or writing images fails, or the model's weights or images are
   *     not finite (naming the checkpoint)
   * @throws InvalidSettingException naming {@code samplingSteps} or {@code eta} if the sampler refuses them
   *     (more sampling steps than the model's {@code timesteps})
   */
  static void fromCheckpoint(Path checkpoint, Device device, int n, SamplerOptions sampler, long seed, Path grid, Path singles,
      boolean progressBar, Execution execution) throws IOException {
    execution.check(device);
    if (grid != null) outputFolder(grid);
    if (singles != null) FileErrors.createDirectories(singles);
    try (LoadedModel m = LoadedModel.open(checkpoint, device, true); Scope scope = Scope.open()) {
      if (execution.memoryFormat() != MemoryFormat.CONTIGUOUS_FORMAT) m.model().to(execution.memoryFormat());
      Precision p = execution.precision() != null ? execution.precision() : m.config().precision();
      p.checkDevice(device);
      Tensor x;
      try (Autocast ac = p.autocast();
           CudaGraphEpsilon graphs = execution.cudaGraphs() ? new CudaGraphEpsilon(m.model(), device) : null) {
        GaussianDiffusion diffusion = graphs == null ? m.diffusion() : new GaussianDiffusion(graphs, m.schedule());
        x = sample(sampler.create(diffusion), n, m.imageShape(), seed, progressBar);
      }
      m.requireFinite(x);
      if (grid != null) ImageWriter.writePng(ImageWriter.grid(x, (int) Math.ceil(Math.sqrt(n)), 2), grid);
      if (singles != null) {
        for (int i = 0; i < n; i++) {
          ImageWriter.writePng(ImageWriter.grid(x.narrow(0, i, 1), 1, 0), singles.resolve(String.format(Locale.ROOT, "sample-%04d.png", i)));
        }
      }
    }
  }

  /**
   * Creates the folder of an output file before any work, so that a file in the way fails at once,
   * as {@code "PATH: exists and is not a directory"}.
   *
   * @param file an output file
   * @throws java.nio.file.FileSystemException naming the path and the reason if the folder cannot be created
   */
  static void outputFolder(Path file) throws IOException {
    FileErrors.createDirectories(file.toAbsolutePath().getParent());
  }

  private static Tensor sample(Sampler sampler, int n, long[] shape, long seed, boolean progressBar) {
    try (ProgressBar bar = progressBar ? bar("sample") : null) {
      Progress p = bar == null ? Progress.NONE : (done, total) -> {
        bar.maxHint(total);
        bar.stepTo(done);
      };
      return sampler.sample(n, shape, seed, p);
    }
  }

  static ProgressBar bar(String task) {
    return new ProgressBarBuilder().setTaskName(task).setInitialMax(-1).setStyle(ProgressBarStyle.ASCII).showSpeed()
        .setUnit(" steps", 1).setUpdateIntervalMillis(500).build();
  }
}
