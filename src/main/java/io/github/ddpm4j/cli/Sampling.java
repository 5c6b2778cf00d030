package io.github.ddpm4j.cli;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.ClassifierFreeGuidance;
import io.github.ddpm4j.diffusion.CudaGraphEpsilon;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.io.FileErrors;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.torch.Autocast;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A checkpoint opened to sample from, as {@link ExecutionOptions} ask: its EMA weights in the chosen
 * layout, the forward passes in the chosen precision, and optionally replayed from CUDA graphs. Every
 * command that runs a trained model ({@code sample}, {@code animate}, {@code interpolate}, and
 * {@code train}'s final grid) samples through one. Closed on the thread that opened it (it holds that
 * thread's autocast mode).
 */
final class Sampling implements AutoCloseable {
  /** Most images one command draws: they are sampled as one batch. */
  static final int MAX_COUNT = 4096;

  private final DDPMPipeline model;
  private final Autocast autocast;
  private final CudaGraphEpsilon graphs;
  private final GaussianDiffusion diffusion;

  private Sampling(DDPMPipeline model, Autocast autocast, CudaGraphEpsilon graphs) {
    this.model = model;
    this.autocast = autocast;
    this.graphs = graphs;
    this.diffusion = graphs == null ? model.diffusion() : new GaussianDiffusion(graphs, model.scheduler(), model.config().prediction());
  }

  /**
   * @param checkpoint a ddpm4j checkpoint
   * @param device where to sample
   * @param execution the precision, memory format and CUDA graphs of the forward passes
   * @return the model, ready to sample from
   * @throws IOException if reading the checkpoint fails, or its weights are not finite (naming the checkpoint)
   * @throws IllegalArgumentException naming the option if an execution setting is not available on {@code device}
   */
  static Sampling open(Path checkpoint, Device device, ExecutionOptions execution) throws IOException {
    execution.check(device);
    DDPMPipeline m = DDPMPipeline.fromCheckpoint(checkpoint, device);
    Autocast ac = null;
    try {
      if (execution.memoryFormat() != MemoryFormat.CONTIGUOUS_FORMAT) m.unet().to(execution.memoryFormat());
      Precision p = execution.precision() != null ? execution.precision() : m.config().precision();
      p.checkDevice(device);
      ac = p.autocast();
      return new Sampling(m, ac, execution.cudaGraphs ? new CudaGraphEpsilon(m.unet(), device) : null);
    } catch (RuntimeException | Error e) {
      if (ac != null) ac.close();
      m.close();
      throw e;
    }
  }

  /** @return the model and schedule, as the samplers take them */
  GaussianDiffusion diffusion() {
    return diffusion;
  }

  /** @return the checkpoint's model, configuration and image shape */
  DDPMPipeline model() {
    return model;
  }

  /**
   * @param images what a sampler made with this model
   * @throws IllegalStateException naming the checkpoint if a value is NaN or infinite
   */
  void requireFinite(Tensor images) {
    model.requireFinite(images);
  }

  /** Frees the CUDA graphs, restores the thread's autocast mode and frees the model. */
  @Override
  public void close() {
    try {
      if (graphs != null) graphs.close();
    } finally {
      try {
        autocast.close();
      } finally {
        model.close();
      }
    }
  }

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
   * Samples {@code n} images from a checkpoint into a PNG grid and/or one PNG per image, with a progress bar.
   *
   * @param checkpoint a ddpm4j checkpoint
   * @param device where to sample
   * @param n number of images, in 1..{@value #MAX_COUNT} ({@link #checkCount})
   * @param sampler which sampler, and its settings (their default capped at the checkpoint's T)
   * @param seed sampling seed
   * @param grid PNG grid to write, or null
   * @param singles folder for one PNG per image, or null
   * @param execution the precision, memory format and CUDA graphs of the forward passes
   * @param common the command's progress and output settings
   * @throws IOException if reading the checkpoint or writing images fails, or the model's weights or images are
   *     not finite (naming the checkpoint)
   * @throws InvalidSettingException naming {@code samplingSteps} or {@code eta} if the sampler refuses them
   *     (more sampling steps than the model's {@code timesteps})
   */
  static void toFiles(Path checkpoint, Device device, int n, SamplerMixin sampler, long seed, Path grid, Path singles,
      ExecutionOptions execution, CommonOptions common) throws IOException {
    toFiles(checkpoint, device, n, sampler, seed, grid, singles, execution, common, null);
  }

  /**
   * The classes to sample with classifier-free guidance (Ho &amp; Salimans 2022), as {@code sample} asks.
   *
   * @param classSpec {@code --class}: a class index or name, or null
   * @param guidance {@code --guidance}: the scale {@code w} (diffusers' convention: 0 unconditional, 1 conditional,
   *     &gt; 1 guided)
   * @param perClass {@code --per-class}: images per class, one grid row per class; 0: not asked
   */
  record Conditioning(String classSpec, double guidance, int perClass) {
    /** @return the number of images: {@code perClass} per class, else {@code n} */
    int count(int numClasses, int n) {
      return perClass > 0 ? numClasses * perClass : n;
    }

    /**
     * @param names the model's class names
     * @return one label for every image ({@code --class}), or {@code perClass} labels of each class in order
     * @throws IllegalArgumentException naming {@code --class} and the valid classes if it names none of them
     */
    long[] labels(List<String> names) {
      int k = names.size();
      if (perClass > 0) {
        long[] labels = new long[k * perClass];
        for (int i = 0; i < labels.length; i++) labels[i] = i / perClass;
        return labels;
      }
      int index = names.indexOf(classSpec);
      if (index < 0) {
        try {
          index = Integer.parseInt(classSpec.strip());
        } catch (NumberFormatException e) {
          index = -1;
        }
      }
      if (index < 0 || index >= k) {
        StringBuilder valid = new StringBuilder();
        for (int i = 0; i < k && i < 20; i++) valid.append(i == 0 ? "" : ", ").append(i).append(" (").append(names.get(i)).append(')');
        if (k > 20) valid.append(", ... ").append(k - 1);
        throw new IllegalArgumentException("--class " + classSpec + " is not a class of this model; the valid classes are " + valid);
      }
      return new long[] {index};
    }
  }

  /**
   * The class names of a checkpoint's model: Fashion-MNIST's, else those of its data set where it can still be read
   * and has the model's number of classes, else the numbers 0..K-1.
   */
  static List<String> classNames(DDPMPipeline model) {
    int k = model.config().model().numClasses();
    List<String> names = List.of();
    try {
      if (model.config().data().equals("fashion-mnist")) {
        names = Datasets.FASHION_MNIST_CLASSES;
      } else if (Files.exists(Path.of(model.config().data()))) {
        names = Datasets.classNames(model.config().data());
      }
    } catch (IOException | RuntimeException e) {
      names = List.of();
    }
    if (names.size() == k) return names;
    List<String> numbers = new ArrayList<>();
    for (int i = 0; i < k; i++) numbers.add(Integer.toString(i));
    return numbers;
  }

  /**
   * {@link #toFiles(Path, Device, int, SamplerMixin, long, Path, Path, ExecutionOptions, CommonOptions)} with class
   * labels and classifier-free guidance ({@link ClassifierFreeGuidance}); with {@code perClass > 0} the grid has one
   * row per class.
   *
   * @param conditioning the classes and the guidance scale, or null for unconditional samples
   * @throws IllegalArgumentException naming {@code --class} or {@code --per-class} if the checkpoint's model is
   *     unconditional, or {@code --class} if it names no class of the model (the message lists the valid ones);
   *     naming {@code --per-class} if the images would be more than {@value #MAX_COUNT}
   */
  static void toFiles(Path checkpoint, Device device, int n, SamplerMixin sampler, long seed, Path grid, Path singles,
      ExecutionOptions execution, CommonOptions common, Conditioning conditioning) throws IOException {
    if (grid != null) outputFolder(grid);
    if (singles != null) FileErrors.createDirectories(singles);
    try (Sampling s = open(checkpoint, device, execution); Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = s.diffusion();
      int columns = (int) Math.ceil(Math.sqrt(n));
      if (conditioning != null) {
        UNet unet = s.model().unet();
        if (!unet.config().isClassConditional()) {
          throw new IllegalArgumentException((conditioning.perClass() > 0 ? "--per-class" : "--class") + " needs a class-conditional "
              + "model, and " + checkpoint + " holds an unconditional one (train with --class-conditional)");
        }
        int k = unet.numClasses();
        if (conditioning.perClass() > 0 && (long) k * conditioning.perClass() > MAX_COUNT) {
          throw new IllegalArgumentException("--per-class " + conditioning.perClass() + " asks for " + (long) k * conditioning.perClass()
              + " images (" + k + " classes), more than the " + MAX_COUNT + " sampled as one batch");
        }
        long[] labels = conditioning.labels(classNames(s.model()));
        n = conditioning.count(k, n);
        if (conditioning.perClass() > 0) columns = conditioning.perClass();
        diffusion = diffusion.withEpsModel(new ClassifierFreeGuidance(unet, labels, conditioning.guidance()));
      }
      Tensor x;
      try (ConsoleProgress bar = common.progress("sample", -1)) {
        x = sampler.options(s.model().config().timesteps()).create(diffusion).sample(n, s.model().imageShape(), seed, (Progress) bar::step);
      }
      s.requireFinite(x);
      if (grid != null) ImageWriter.writePng(ImageWriter.grid(x, columns, 2), grid);
      if (singles != null) {
        for (int i = 0; i < n; i++) {
          ImageWriter.writePng(ImageWriter.grid(x.narrow(0, i, 1), 1, 0), singles.resolve(String.format(Locale.ROOT, "sample-%04d.png", i)));
        }
      }
    }
  }

  /**
   * Checks that an output file's name ends in one of the extensions a command writes, before any work.
   *
   * @param file the {@code --out} file
   * @param extensions the accepted extensions, lower case with the dot, e.g. {@code ".png"}
   * @throws IllegalArgumentException naming {@code --out} if the name ends in none of them
   */
  static void checkExtension(Path file, String... extensions) {
    String name = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(Locale.ROOT);
    for (String e : extensions) {
      if (name.endsWith(e)) return;
    }
    throw new IllegalArgumentException("--out must end in " + String.join(" or ", extensions) + ", got " + file);
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
}
