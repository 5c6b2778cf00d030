package io.github.ddpm4j.cli;

import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.AncestralSampler;
import io.github.ddpm4j.diffusion.CudaGraphEpsilon;
import io.github.ddpm4j.diffusion.DdimSampler;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.io.FileErrors;
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
   * Checks the sampling options that do not depend on the model.
   *
   * @throws IllegalArgumentException naming the option that is out of range
   */
  static void checkOptions(int n, String sampler, int ddimSteps, double eta) {
    if (n < 1 || n > MAX_COUNT) {
      throw new IllegalArgumentException("--count must be in 1.." + MAX_COUNT + " (they are sampled as one batch), got " + n);
    }
    if (!sampler.equals("ddim") && !sampler.equals("ancestral")) {
      throw new IllegalArgumentException("--sampler must be ddim or ancestral, got '" + sampler + "'");
    }
    if (ddimSteps < 1) throw new IllegalArgumentException("--ddim-steps must be >= 1, got " + ddimSteps);
    if (!(eta >= 0 && Double.isFinite(eta))) throw new IllegalArgumentException("--eta must be finite and >= 0, got " + eta);
  }

  /**
   * @param checkpoint a ddpm4j checkpoint
   * @param device where to sample
   * @param n number of images
   * @param sampler {@code ddim} or {@code ancestral}
   * @param ddimSteps DDIM steps S (ignored for ancestral)
   * @param eta DDIM's eta (ignored for ancestral)
   * @param seed sampling seed
   * @param grid PNG grid to write, or null
   * @param singles folder for one PNG per image, or null
   * @param progressBar show a progress bar
   * @param execution the precision, memory format and CUDA graphs of the forward passes
   * @throws IOException if reading the checkpoint or writing images fails, or the model's weights or images are
   *     not finite (naming the checkpoint)
   * @throws IllegalArgumentException if the sampler name or its settings are invalid, or the DDIM
   *     steps exceed the model's diffusion steps
   */
  static void fromCheckpoint(Path checkpoint, Device device, int n, String sampler, int ddimSteps, double eta, long seed, Path grid,
      Path singles, boolean progressBar, Execution execution) throws IOException {
    checkOptions(n, sampler, ddimSteps, eta);
    execution.check(device);
    if (grid != null) outputFolder(grid);
    if (singles != null) FileErrors.createDirectories(singles);
    try (LoadedModel m = LoadedModel.open(checkpoint, device, true); Scope scope = Scope.open()) {
      if (sampler.equals("ddim") && ddimSteps > m.config().steps()) {
        throw new IllegalArgumentException("--ddim-steps " + ddimSteps + " exceeds the model's " + m.config().steps()
            + " diffusion steps");
      }
      if (execution.memoryFormat() != MemoryFormat.CONTIGUOUS_FORMAT) m.model().to(execution.memoryFormat());
      Precision p = execution.precision() != null ? execution.precision() : m.config().precision();
      p.checkDevice(device);
      Tensor x;
      try (Autocast ac = p.autocast();
           CudaGraphEpsilon graphs = execution.cudaGraphs() ? new CudaGraphEpsilon(m.model(), device) : null) {
        GaussianDiffusion diffusion = graphs == null ? m.diffusion() : new GaussianDiffusion(graphs, m.schedule());
        x = sample(diffusion, n, m.imageShape(), sampler, ddimSteps, eta, seed, progressBar);
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

  static Tensor sample(GaussianDiffusion diffusion, int n, long[] shape, String sampler, int ddimSteps, double eta, long seed,
      boolean progressBar) {
    if (n < 1) throw new IllegalArgumentException("the number of images must be >= 1, got " + n);
    try (ProgressBar bar = progressBar ? bar("sample") : null) {
      Progress p = bar == null ? Progress.NONE : (done, total) -> {
        bar.maxHint(total);
        bar.stepTo(done);
      };
      return switch (sampler) {
        case "ddim" -> new DdimSampler(diffusion, ddimSteps, eta).sample(n, shape, seed, p);
        case "ancestral" -> new AncestralSampler(diffusion).sample(n, shape, seed, p);
        default -> throw new IllegalArgumentException("--sampler must be ddim or ancestral, got '" + sampler + "'");
      };
    }
  }

  static ProgressBar bar(String task) {
    return new ProgressBarBuilder().setTaskName(task).setInitialMax(-1).setStyle(ProgressBarStyle.ASCII).showSpeed()
        .setUnit(" steps", 1).setUpdateIntervalMillis(500).build();
  }
}
