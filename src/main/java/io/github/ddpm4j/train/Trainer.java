package io.github.ddpm4j.train;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.data.DataLoader;
import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.data.ImageDataset;
import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.Sampler;
import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.io.AtomicFiles;
import io.github.ddpm4j.io.FileErrors;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.optim.AdamOptions;
import io.github.ddpm4j.optim.GradScaler;
import io.github.ddpm4j.nn.Utils;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Autocast;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongConsumer;
import java.util.regex.Pattern;

/**
 * The DDPM training loop (Ho et al. 2020, Algorithm 1) with Adam, gradient
 * clipping, learning-rate warm-up and an EMA of the weights.
 *
 * <p>Into the output folder it writes {@code checkpoint.pt} (see
 * {@link Checkpoint}), {@code loss.csv}, {@code loss.png}, and sample grids
 * {@code samples/step-NNNNNN.png} drawn with the EMA weights, every file with
 * {@link AtomicFiles}. {@code loss.png} needs JFreeChart, an optional dependency of ddpm4j:
 * without it on the class path the run skips the plot and says so once in its log, and the
 * progress bar ({@link ConsoleProgress}) likewise needs the progressbar library. A run resumed from its checkpoint continues exactly as if
 * never interrupted: on the CPU the weights are bit-identical to an uninterrupted run's.
 *
 * <p>Crash safety: a new run ({@link Mode#NEW}) never overwrites a folder that holds a run;
 * every start removes the temporary files that a killed run's atomic writes left in the folder
 * and in {@code samples/}; the loss rows of all steps a checkpoint covers are forced to disk
 * before that checkpoint is renamed into place, and a resumed run keeps exactly the rows of the
 * steps before its checkpoint, one per step.
 *
 * <p>Ctrl-C (or any JVM shutdown) stops the loop after the current step and writes a checkpoint,
 * {@code loss.csv} and {@code loss.png} before the JVM exits, then says so on the log. Nothing
 * on that path registers a shutdown hook (which the JVM forbids while it shuts down).
 *
 * <p>{@code --resume} requires the configuration stored in the checkpoint to
 * equal the run's in every field except {@link TrainConfig#trainSteps()}: a run
 * can be resumed with more (or fewer, but not fewer than done) steps, and
 * extending it gives the same weights as having asked for the larger number at first.
 */
public final class Trainer {
  /** How a run treats what its output folder already holds. */
  public enum Mode {
    /** Start a new run; refuse ({@link ExistingRunException}) if the folder holds {@code checkpoint.pt} or {@code loss.csv}. */
    NEW,
    /** Continue the run whose checkpoint is in the folder. */
    RESUME,
    /**
     * Start a new run in a folder that may hold one: once the data and model are ready, delete its
     * {@code checkpoint.pt}, {@code loss.png}, {@code samples.png} and {@code samples/step-*.png}, and
     * start {@code loss.csv} afresh. Other files are left alone.
     */
    OVERWRITE
  }

  /** The run's files whose presence means the folder holds a run. */
  private static final List<String> RUN_FILES = List.of("checkpoint.pt", "loss.csv");
  /** Sample grids the trainer draws in {@code samples/}. */
  private static final Pattern STEP_GRID = Pattern.compile("step-\\d+\\.png");

  /**
   * How often and where the trainer reports and saves.
   *
   * @param dir the output folder (created if missing)
   * @param checkpointEvery write a checkpoint every this many steps, &gt;= 1 (and at the last step, and when stopped)
   * @param sampleEvery draw a sample grid every this many steps, 0 for never
   * @param sampleCount images in each sample grid, &gt;= 1
   * @param sampler the sampler of the sample grids; its {@code samplingSteps} &gt;= 1, of which at most
   *     {@link TrainConfig#timesteps()} are used
   * @param progressBar show a progress bar on standard error ({@link ConsoleProgress})
   */
  public record Output(Path dir, long checkpointEvery, long sampleEvery, int sampleCount, SamplerOptions sampler, boolean progressBar) {
    /**
     * @throws InvalidSettingException naming a count that is out of range
     */
    public Output {
      if (checkpointEvery < 1) throw new InvalidSettingException("{checkpointEvery=} must be >= 1", checkpointEvery);
      if (sampleEvery < 0) throw new InvalidSettingException("{sampleEvery=} must be >= 0 (0: never)", sampleEvery);
      if (sampleCount < 1) throw new InvalidSettingException("{sampleCount=} must be >= 1", sampleCount);
      Objects.requireNonNull(sampler, "sampler");
      if (sampler.samplingSteps() < 1) throw new InvalidSettingException("{samplingSteps=} must be >= 1", sampler.samplingSteps());
    }
  }

  private final TrainConfig config;
  private final Output output;
  private final Device device;
  private final PrintWriter log;
  private final AtomicBoolean stop = new AtomicBoolean();
  private volatile LongConsumer stepListener = step -> {};
  private volatile LongConsumer checkpointListener = step -> {};
  private MemoryFormat memoryFormat = MemoryFormat.CONTIGUOUS_FORMAT;
  private PrintWriter progressLines = new PrintWriter(System.err, true);

  /**
   * @param config what to train
   * @param output where to write
   * @param device where to train
   * @param log where to print progress messages (flushed after each)
   */
  public Trainer(TrainConfig config, Output output, Device device, PrintWriter log) {
    this.config = config;
    this.output = output;
    this.device = device;
    this.log = log;
  }

  /**
   * Lays the model's convolution weights and activations out in {@code format} (channels-last
   * can be faster on some CPUs and GPUs; {@code bench/}). Results change only by float rounding,
   * so a resumed run is bit-identical to an uninterrupted one only in the same format.
   *
   * @param format the layout, {@link MemoryFormat#CONTIGUOUS_FORMAT} by default
   * @return this trainer
   */
  public Trainer memoryFormat(MemoryFormat format) {
    this.memoryFormat = Objects.requireNonNull(format, "format");
    return this;
  }

  /**
   * Where the progress bar prints its lines when standard output or standard error is not a terminal
   * ({@link ConsoleProgress}); standard error unless set. On a terminal the bar redraws on standard error.
   *
   * @param lines the writer
   * @return this trainer
   * @throws NullPointerException if {@code lines} is null
   */
  public Trainer progressLines(PrintWriter lines) {
    this.progressLines = Objects.requireNonNull(lines, "lines");
    return this;
  }


  /** @return the path of the run's checkpoint */
  public Path checkpointFile() {
    return output.dir().resolve("checkpoint.pt");
  }

  /** Asks the loop to stop after the current step (it then writes a checkpoint). */
  public void requestStop() {
    stop.set(true);
  }

  /**
   * Sets what to call on the training thread after each optimizer step, with the number of
   * steps completed so far, before the step's checkpoint and sample decisions: calling
   * {@link #requestStop()} from it stops the run at exactly that step, with a checkpoint.
   *
   * @param listener the callback (replaces any earlier one)
   */
  public void onStep(LongConsumer listener) {
    stepListener = java.util.Objects.requireNonNull(listener, "listener");
  }

  /**
   * Sets what to call on the training thread right after a checkpoint has been renamed into
   * place, with its step. A crash at that moment leaves the folder as the callback sees it.
   *
   * @param listener the callback (replaces any earlier one)
   */
  public void onCheckpoint(LongConsumer listener) {
    checkpointListener = java.util.Objects.requireNonNull(listener, "listener");
  }

  /**
   * Trains from scratch, or from the run's checkpoint.
   *
   * @param mode a new run, a resumed one, or a new one over an old one (see {@link Mode})
   * @return the number of completed steps (fewer than {@link TrainConfig#trainSteps()} when stopped)
   * @throws ExistingRunException for {@link Mode#NEW} if the folder holds a run; nothing in it is changed
   * @throws java.nio.file.NoSuchFileException for {@link Mode#RESUME} if there is no checkpoint
   * @throws java.nio.file.FileSystemException naming the file and the reason if an output cannot be
   *     written (the output folder is a file, {@code loss.csv} is a directory, the disk is full)
   * @throws IOException if the data or the checkpoint cannot be read
   * @throws IllegalArgumentException if a resumed checkpoint was made with another configuration, or is past
   *     {@code trainSteps}; an {@link InvalidSettingException} naming the setting, like {@code batchSize} above
   *     the number of images
   */
  public long run(Mode mode) throws IOException {
    config.precision().checkDevice(device);
    prepareFolder(mode);
    Torch.manualSeed(config.seed());
    CountDownLatch finished = new CountDownLatch(1);
    Thread hook = new Thread(() -> {
      stop.set(true);
      try {
        finished.await(120, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "ddpm4j-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    try (ImageDataset data = Datasets.open(config.data(), config.imageSize(), config.model().imageChannels(), config.limit());
         UNet model = new UNet(config.model());
         UNet emaModel = new UNet(config.model());
         NoiseSchedule schedule = config.noiseSchedule(device);
         DataLoader loader = new DataLoader(data, config.batchSize(), config.flip(), device, config.seed() + 1);
         Generator rng = new Generator(config.seed() + 2, device)) {
      model.to(device);
      emaModel.to(device);
      if (memoryFormat != MemoryFormat.CONTIGUOUS_FORMAT) {
        model.to(memoryFormat);
        emaModel.to(memoryFormat);
      }
      log.printf(Locale.ROOT, "ddpm4j: %s, %d images %dx%dx%d, UNet with %,d parameters on %s, %d threads%n", data.source(),
          data.size(), data.channels(), data.height(), data.width(), model.parameterCount(), device, Torch.getNumThreads());
      if (!LossLog.canPlot()) log.println("ddpm4j: loss.png is not drawn: JFreeChart (org.jfree:jfreechart) is not on the class path");
      log.flush();
      try (Adam opt = new Adam(model.parameters(), AdamOptions.adam(config.lr()))) {
        Ema ema = new Ema(model, emaModel, config.emaDecay(), config.emaWarmup());
        GradScaler scaler = config.precision() == Precision.FP16 ? new GradScaler() : null;
        RunState run = new RunState(model, ema, opt, scaler, rng, loader);
        long start = 0;
        if (mode == Mode.RESUME) start = restore(run);
        if (mode == Mode.OVERWRITE) deleteOldRun();
        GaussianDiffusion diffusion = new GaussianDiffusion(model, schedule);
        long done = loop(start, run, diffusion, schedule);
        if (done == config.trainSteps()) {
          log.printf(Locale.ROOT, "ddpm4j: wrote %s after %d steps%n", checkpointFile(), done);
        } else if (done > 0) {
          log.printf(Locale.ROOT, "ddpm4j: interrupted at step %d: wrote checkpoint.pt, %s in %s; continue with --resume%n",
              done, lossFiles(), output.dir());
        } else {
          log.printf(Locale.ROOT, "ddpm4j: interrupted before the first step: wrote %s in %s, no checkpoint%n", lossFiles(), output.dir());
        }
        log.flush();
        return done;
      }
    } finally {
      finished.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // The JVM is already exiting; the hook is running and will return now.
      }
    }
  }

  /** @return the loss files a run writes: {@code loss.csv}, and {@code loss.png} where JFreeChart is present */
  private static String lossFiles() {
    return LossLog.canPlot() ? "loss.csv, loss.png" : "loss.csv";
  }

  /**
   * Checks the output folder before anything is written, then removes the temporary files of
   * killed writes: refuses a new run over an old one, and outputs that are not regular files.
   */
  private void prepareFolder(Mode mode) throws IOException {
    Path dir = output.dir();
    FileErrors.createDirectories(dir);
    if (mode == Mode.NEW) {
      List<String> found = new ArrayList<>();
      for (String name : RUN_FILES) if (Files.exists(dir.resolve(name), LinkOption.NOFOLLOW_LINKS)) found.add(name);
      if (!found.isEmpty()) throw new ExistingRunException(dir, found);
    }
    for (String name : List.of("checkpoint.pt", "loss.csv", "loss.png")) {
      Path p = dir.resolve(name);
      if (Files.exists(p) && !Files.isRegularFile(p)) {
        throw new FileSystemException(p.toString(), null, Files.isDirectory(p) ? "Is a directory" : "not a regular file");
      }
    }
    FileErrors.createDirectories(dir.resolve("samples"));
    AtomicFiles.removeTempFiles(dir);
    AtomicFiles.removeTempFiles(dir.resolve("samples"));
  }

  /** {@link Mode#OVERWRITE}: deletes the old run's outputs, its checkpoint first (loss.csv is rewritten by the loop). */
  private void deleteOldRun() throws IOException {
    Path dir = output.dir();
    List<Path> old = new ArrayList<>();
    for (String name : List.of("checkpoint.pt", "loss.png", "samples.png")) old.add(dir.resolve(name));
    try (DirectoryStream<Path> grids = Files.newDirectoryStream(dir.resolve("samples"),
        p -> STEP_GRID.matcher(p.getFileName().toString()).matches())) {
      grids.forEach(old::add);
    }
    for (Path p : old) {
      try {
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) Files.delete(p);
      } catch (IOException e) {
        throw FileErrors.withPath(p, e);
      }
    }
  }

  /** Names each differing setting, so that the command line shows it as its option. */
  private InvalidSettingException anotherRun(TrainConfig saved) {
    StringBuilder template = new StringBuilder("the checkpoint in {} was made with another configuration; resume with the same "
        + "options (only {trainSteps} may differ), or choose another output folder; differences (saved vs current):");
    List<Object> values = new ArrayList<>(List.of(output.dir()));
    for (TrainConfig.Difference d : saved.diff(config.withTrainSteps(saved.trainSteps()))) {
      template.append("\n  {").append(d.field()).append("}: {} vs {}");
      values.add(d.mine());
      values.add(d.theirs());
    }
    return new InvalidSettingException(template.toString(), values.toArray());
  }

  /** What changes as the run trains, and what a checkpoint saves: the modules, the optimizer, the loss scaler, the generators. */
  private record RunState(UNet model, Ema ema, Adam opt, GradScaler scaler, Generator rng, DataLoader loader) {}

  private long restore(RunState run) throws IOException {
    Path file = checkpointFile();
    try (Checkpoint.Contents ck = Checkpoint.read(file)) {
      TrainConfig saved = ck.config();
      if (!config.sameRunAs(saved)) throw anotherRun(saved);
      long step = ck.step();
      if (step > config.trainSteps()) {
        throw new InvalidSettingException("the checkpoint in {} is at step {}, past {trainSteps=}", output.dir(), step,
            config.trainSteps());
      }
      try {
        run.model().loadStateDict(ck.model(), true);
        run.ema().shadow().loadStateDict(ck.ema(), true);
        run.opt().loadState(present(ck.optimizerState(), Checkpoint.OPTIMIZER));
        Torch.setRngState(present(ck.torchRng(), Checkpoint.RNG_TORCH));
        run.rng().setState(present(ck.diffusionRng(), Checkpoint.RNG_DIFFUSION));
        if (run.scaler() != null) run.scaler().load(present(ck.scaler(), Checkpoint.GRAD_SCALE));
        run.loader().restore(present(ck.loader(), Checkpoint.LOADER_EPOCH));
      } catch (RuntimeException e) {
        throw new IOException(file + ": cannot restore the training state: " + e.getMessage(), e);
      }
      log.printf(Locale.ROOT, "ddpm4j: resuming at step %d of %d%n", step, config.trainSteps());
      log.flush();
      return step;
    }
  }

  private static <T> T present(T part, String key) {
    if (part == null) throw new IllegalArgumentException("no '" + key + "' entry");
    return part;
  }

  private long loop(long start, RunState run, GaussianDiffusion diffusion, NoiseSchedule schedule) throws IOException {
    UNet model = run.model();
    Adam opt = run.opt();
    GradScaler scaler = run.scaler();
    List<Tensor> params = model.parameters();
    long t0 = System.nanoTime();
    long step = start;
    model.train(true);
    try (LossLog losses = new LossLog(output.dir().resolve("loss.csv"), start);
         ConsoleProgress bar = ConsoleProgress.open("train", config.trainSteps(), start, output.progressBar(), progressLines)) {
      while (step < config.trainSteps() && !stop.get()) {
        double lr = config.warmupSteps() == 0 ? config.lr() : config.lr() * Math.min(1.0, (step + 1.0) / config.warmupSteps());
        double loss;
        try (Scope s = Scope.open()) {
          Tensor x0 = run.loader().next();
          opt.setLr(lr);
          opt.zeroGrad();
          Tensor l;
          try (Autocast ac = config.precision().autocast()) {
            l = diffusion.loss(x0, run.rng()); // the forward pass in the run's precision, backward outside
          }
          if (scaler == null) {
            l.backward();
          } else {
            scaler.scale(l).backward();
            scaler.unscale(opt);
          }
          if (config.gradClip() > 0) Utils.clipGradNorm(params, config.gradClip());
          if (scaler == null) {
            opt.step();
          } else {
            scaler.step(opt);
            scaler.update();
          }
          loss = l.item();
        }
        run.ema().update(model, step);
        step++;
        losses.add(step - 1, loss, lr, (System.nanoTime() - t0) / 1e9);
        stepListener.accept(step);
        bar.stepTo(step);
        if (bar.shown()) bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", loss));
        if (!Double.isFinite(loss)) throw new IllegalStateException("the loss diverged (" + loss + ") at step " + step);
        boolean last = step == config.trainSteps();
        if (step % output.checkpointEvery() == 0 || last || stop.get()) {
          losses.flush();
          writeCheckpoint(step, run);
          checkpointListener.accept(step);
        }
        if (output.sampleEvery() > 0 && (step % output.sampleEvery() == 0 || last)) {
          sampleGrid(run.ema(), schedule, output.dir().resolve(String.format(Locale.ROOT, "samples/step-%06d.png", step)));
          model.train(true);
        }
      }
      losses.flush();
      losses.plot(output.dir().resolve("loss.png"));
    }
    return step;
  }

  private void writeCheckpoint(long step, RunState run) throws IOException {
    try (Scope s = Scope.open()) {
      Checkpoint.save(new Checkpoint.State(config, step, run.model(), run.ema().shadow(), run.opt().saveState(), Torch.getRngState(),
          run.rng().getState(), run.loader().state(), run.scaler() == null ? null : run.scaler().state()), checkpointFile());
    }
  }

  private void sampleGrid(Ema ema, NoiseSchedule schedule, Path file) throws IOException {
    UNet shadow = (UNet) ema.shadow();
    GaussianDiffusion d = new GaussianDiffusion(shadow, schedule);
    SamplerOptions o = output.sampler();
    Sampler sampler = new SamplerOptions(o.type(), Math.min(o.samplingSteps(), schedule.timesteps()), o.eta()).create(d);
    try (Scope s = Scope.open(); Autocast ac = config.precision().autocast()) {
      long size = config.imageSize();
      Tensor x = sampler.sample(output.sampleCount(), new long[] {config.model().imageChannels(), size, size}, config.seed(), Progress.NONE);
      ImageWriter.writePng(ImageWriter.grid(x, (int) Math.ceil(Math.sqrt(output.sampleCount())), 2), file);
    }
  }
}
