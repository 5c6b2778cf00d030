package io.github.ddpm4j.train;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.data.DataLoader;
import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.data.ImageDataset;
import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.distributed.DistributedDataParallel;
import io.github.ddpm4j.distributed.ProcessGroup;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.Sampler;
import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.diffusion.VarianceType;
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
import io.github.ddpm4j.torch.DType;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
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
 * clipping, learning-rate warm-up then a constant or cosine learning rate ({@link TrainConfig#lrSchedule()}),
 * gradient accumulation over micro-batches ({@link TrainConfig#gradAccumulation()}), and an EMA of the weights.
 *
 * <p>Into the output folder it writes {@code checkpoint.pt} (see
 * {@link Checkpoint}), {@code loss.csv}, {@code loss.png}, and sample grids
 * {@code samples/step-NNNNNN.png} drawn with the EMA weights, every file with
 * {@link AtomicFiles}; with {@link Output#keepCheckpoints()} also {@code checkpoints/step-NNNNNN.pt}, and with
 * evaluation ({@link #scorer(SampleScorer)}) {@code eval.csv}, {@code eval.png} and {@code checkpoint-best.pt}. {@code loss.png} needs JFreeChart, an optional dependency of ddpm4j:
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
 * <p>With a process group ({@link #distributed}) the loop is one replica of a data-parallel run, and only
 * rank 0 writes the files above; a resumed run then continues bit for bit on the same number of processes.
 *
 * <p>{@code --resume} requires the configuration stored in the checkpoint to
 * equal the run's in every field except {@link TrainConfig#trainSteps()}: a run
 * can be resumed with more (or fewer, but not fewer than done) steps, and
 * extending it gives the same weights as having asked for the larger number at first (with a constant learning
 * rate: the cosine schedule's rate depends on {@code trainSteps}, so an extended cosine run decays along the new
 * total from the step it resumes at).
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
     * {@code checkpoint.pt}, {@code loss.png}, {@code samples.png}, {@code samples/step-*.png}, its kept checkpoints
     * ({@code checkpoints/step-*.pt}, and the folder), {@code checkpoint-best.pt}, {@code eval.csv} and
     * {@code eval.png}, and start {@code loss.csv} afresh. Other files are left alone.
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
   * @param keepCheckpoints also keep each checkpoint as {@code checkpoints/step-NNNNNN.pt}, the newest this many of
   *     them, and the one of the best FID as {@code checkpoint-best.pt} when evaluating; 0 (the default) keeps only
   *     {@code checkpoint.pt}
   * @param evalEvery score samples of the EMA weights ({@link #scorer(SampleScorer)}) every this many steps and at the
   *     last step, 0 (the default) for never
   * @param evalSamples images per evaluation, &gt;= 1 ({@value #DEFAULT_EVAL_SAMPLES} by default)
   */
  public record Output(Path dir, long checkpointEvery, long sampleEvery, int sampleCount, SamplerOptions sampler, boolean progressBar,
      int keepCheckpoints, long evalEvery, int evalSamples) {
    /** The default number of images per evaluation. */
    public static final int DEFAULT_EVAL_SAMPLES = 256;

    /**
     * @throws InvalidSettingException naming a count that is out of range
     */
    public Output {
      if (checkpointEvery < 1) throw new InvalidSettingException("{checkpointEvery=} must be >= 1", checkpointEvery);
      if (sampleEvery < 0) throw new InvalidSettingException("{sampleEvery=} must be >= 0 (0: never)", sampleEvery);
      if (sampleCount < 1) throw new InvalidSettingException("{sampleCount=} must be >= 1", sampleCount);
      Objects.requireNonNull(sampler, "sampler");
      if (sampler.samplingSteps() < 1) throw new InvalidSettingException("{samplingSteps=} must be >= 1", sampler.samplingSteps());
      if (keepCheckpoints < 0) throw new InvalidSettingException("{keepCheckpoints=} must be >= 0 (0: only checkpoint.pt)", keepCheckpoints);
      if (evalEvery < 0) throw new InvalidSettingException("{evalEvery=} must be >= 0 (0: never)", evalEvery);
      if (evalSamples < 1) throw new InvalidSettingException("{evalSamples=} must be >= 1", evalSamples);
    }

    /**
     * Output without kept checkpoints and without evaluation.
     *
     * @throws InvalidSettingException naming a count that is out of range
     */
    public Output(Path dir, long checkpointEvery, long sampleEvery, int sampleCount, SamplerOptions sampler, boolean progressBar) {
      this(dir, checkpointEvery, sampleEvery, sampleCount, sampler, progressBar, 0, 0, DEFAULT_EVAL_SAMPLES);
    }
  }

  /** Kept checkpoints in {@code checkpoints/}. */
  private static final Pattern KEPT = Pattern.compile("step-(\\d+)\\.pt");
  /** Images per sampling call of an evaluation. */
  private static final int EVAL_BATCH = 256;

  private final TrainConfig config;
  private final Output output;
  private final Device device;
  private final PrintWriter log;
  private final AtomicBoolean stop = new AtomicBoolean();
  private volatile LongConsumer stepListener = step -> {};
  private volatile LongConsumer checkpointListener = step -> {};
  private MemoryFormat memoryFormat = MemoryFormat.CONTIGUOUS_FORMAT;
  private Replicas replicas = Replicas.SINGLE;
  private volatile Fingerprints fingerprints;
  /** The wall time of the last run's loop. */
  private long loopNanos;
  private PrintWriter progressLines = new PrintWriter(System.err, true);
  private SampleScorer scorer;
  /** Nanoseconds of the current loop spent evaluating and drawing sample grids, left out of eval.csv's train_seconds. */
  private long asideNanos;

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


  /**
   * Sets what scores the evaluations that {@link Output#evalEvery()} asks for: every {@code evalEvery} steps and at
   * the last step, rank 0 samples {@link Output#evalSamples()} images with the EMA weights and the run's grid sampler
   * ({@link Output#sampler()}, in calls of at most 256 images, from generators seeded from the run's seed alone, so
   * that every evaluation sees the same noise and the training's draws are untouched), scores them, appends a row to
   * {@code eval.csv} ({@code step,train_seconds,fid,kid,kid_std_err}) and redraws {@code eval.png} (FID against step,
   * where JFreeChart is present). {@code train_seconds} is the training wall time so far without the time spent
   * evaluating and drawing sample grids; a resumed run adds its own to the {@code train_seconds} of the last row kept.
   * With {@link Output#keepCheckpoints()} &gt; 0 every evaluation step also writes a checkpoint, and the one of the
   * lowest FID so far is kept as {@code checkpoint-best.pt}.
   *
   * <p>In a data-parallel run every rank needs a scorer set (only rank 0 calls it), and the other ranks wait for
   * rank 0's evaluation in their next collective: an evaluation must end within the process group's timeout.
   *
   * @param scorer the scorer (called on the training thread), or null for none
   * @return this trainer
   */
  public Trainer scorer(SampleScorer scorer) {
    this.scorer = scorer;
    return this;
  }

  /**
   * Trains data-parallel with the other processes of {@code group} (torch's DistributedDataParallel
   * recipe), or alone when {@code group} is null (the default). Every process runs {@link #run} with the
   * same configuration; {@link TrainConfig#batchSize()} is the global batch, of which each of the
   * {@code W} processes takes {@code batchSize / W} images ({@link DataLoader}), with the timesteps and
   * noise that one process would draw for them. After each backward pass the gradients are averaged
   * ({@link DistributedDataParallel#averageGradients()}) before clipping and the optimizer step, so the
   * weights and the EMA stay bit-identical on every rank (compared by fingerprint at each checkpoint).
   * The loss is averaged over the ranks, and a stop asked of any rank stops all at the same step.
   * Rank 0 alone writes the checkpoint (with every rank's dropout generator and the world size),
   * {@code loss.csv}, {@code loss.png}, the sample grids, the progress bar and the log.
   *
   * <p>Resuming needs the checkpoint on every rank (a shared folder, or a copy at the same path). It
   * works with another number of processes too: the batches, their order and their noise go on as
   * before; only the dropout draws of ranks that the checkpoint has no generator of start afresh.
   *
   * @param group the run's process group (not owned: the caller closes it after {@link #run}), or null
   * @return this trainer
   */
  public Trainer distributed(ProcessGroup group) {
    this.replicas = group == null ? Replicas.SINGLE : new GroupReplicas(group);
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
   * Fingerprints of this process's weights at a step: 52-bit hashes of the bytes of every tensor of
   * the state dicts, in order. Two processes with equal fingerprints hold bit-identical weights (up to
   * a hash collision, about 2<sup>-52</sup>).
   *
   * @param step the step after which they were taken
   * @param weights the trained weights' fingerprint
   * @param ema the EMA weights' fingerprint
   */
  public record Fingerprints(long step, long weights, long ema) {}

  /**
   * The fingerprints of this process's weights and EMA weights at the last checkpoint step of the last
   * {@link #run}, where the processes of a data-parallel run check that their replicas agree (every rank
   * takes them, not only rank 0, which writes the checkpoint).
   *
   * @return the fingerprints, or null before the first checkpoint step
   */
  public Fingerprints fingerprints() {
    return fingerprints;
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
   *     the number of images, or {@code evalEvery} when no {@link #scorer(SampleScorer) scorer} is set
   */
  public long run(Mode mode) throws IOException {
    if (output.evalEvery() > 0 && scorer == null) {
      throw new InvalidSettingException("{evalEvery=} needs a scorer of the samples (Trainer.scorer), and none is set", output.evalEvery());
    }
    config.precision().checkDevice(device);
    if (replicas instanceof GroupReplicas g) g.checkDevice(device);
    int rank = replicas.rank();
    int world = replicas.worldSize();
    if (config.batchSize() % world != 0) {
      throw new InvalidSettingException("{batchSize=} must be divisible by the number of processes ({}): each takes an equal share of "
          + "every batch", config.batchSize(), world);
    }
    boolean lead = rank == 0;
    PrintWriter say = lead ? log : new PrintWriter(java.io.Writer.nullWriter());
    together("prepare the output folder", () -> {
      if (lead) prepareFolder(mode);
      return null;
    });
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
    try (ImageDataset data = together("read the data",
        () -> Datasets.open(config.data(), config.imageSize(), config.model().imageChannels(), config.limit()));
         UNet model = new UNet(config.model());
         UNet emaModel = new UNet(config.model());
         NoiseSchedule schedule = config.noiseSchedule(device);
         DataLoader loader = new DataLoader(data, config.batchSize(), config.flip(), device, config.seed() + 1, rank, world);
         Generator rng = new Generator(config.seed() + 2, device)) {
      checkLabels(data);
      // every rank builds the same initial weights from the run's seed; dropout then draws from a seed of each rank's own
      if (rank > 0) Torch.manualSeed(rankSeed(rank, 0));
      model.to(device);
      emaModel.to(device);
      if (memoryFormat != MemoryFormat.CONTIGUOUS_FORMAT) {
        model.to(memoryFormat);
        emaModel.to(memoryFormat);
      }
      int threads = Torch.getNumThreads();
      say.printf(Locale.ROOT, "ddpm4j: %s, %d images %dx%dx%d, UNet with %,d parameters on %s, %d thread%s%s%n", data.source(),
          data.size(), data.channels(), data.height(), data.width(), model.parameterCount(), device, threads, threads == 1 ? "" : "s",
          world == 1 ? "" : String.format(Locale.ROOT, " in each of %d processes (%d images of each batch of %d)", world,
              config.batchSize() / world, config.batchSize()));
      if (!LossLog.canPlot()) {
        say.println("ddpm4j: " + (output.evalEvery() > 0 ? "loss.png and eval.png are" : "loss.png is")
            + " not drawn: JFreeChart (org.jfree:jfreechart) is not on the class path");
      }
      say.flush();
      try (Adam opt = new Adam(model.parameters(), AdamOptions.adam(config.lr()))) {
        Ema ema = new Ema(model, emaModel, config.emaDecay(), config.emaWarmup());
        GradScaler scaler = config.precision() == Precision.FP16 ? new GradScaler() : null;
        RunState run = new RunState(model, ema, opt, scaler, rng, loader);
        long start = 0;
        if (mode == Mode.RESUME) start = together("read the checkpoint", () -> restore(run, say));
        if (mode == Mode.OVERWRITE) {
          together("delete the old run's files", () -> {
            if (lead) deleteOldRun();
            return null;
          });
        }
        replicas.replicate(model);
        GaussianDiffusion diffusion = new GaussianDiffusion(model, schedule, VarianceType.FIXED_LARGE, false, config.prediction(),
            config.lossWeighting(), config.snrGamma());
        long done = loop(start, run, diffusion, schedule);
        if (done == config.trainSteps()) {
          say.printf(Locale.ROOT, "ddpm4j: wrote %s after %d steps%n", checkpointFile(), done);
        } else if (done > 0) {
          say.printf(Locale.ROOT, "ddpm4j: interrupted at step %d: wrote checkpoint.pt, %s in %s; continue with --resume%n",
              done, lossFiles(), output.dir());
        } else {
          say.printf(Locale.ROOT, "ddpm4j: interrupted before the first step: wrote %s in %s, no checkpoint%n", lossFiles(), output.dir());
        }
        if (replicas instanceof GroupReplicas g && done > start) {
          long bytes = 0;
          for (Tensor p : model.parameters()) bytes += p.nbytes();
          say.printf(Locale.ROOT, "ddpm4j: %d processes: averaging %.1f MB of gradients took %.1f ms a step (waits for the slowest rank "
              + "included), of %.1f ms a step in all%n", world, bytes / 1e6, g.averageMillis(), loopNanos / 1e6 / (done - start));
        }
        say.flush();
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

  /** A step of a run's start that may fail on one rank. */
  private interface Part<T> {
    T call() throws IOException;
  }

  /**
   * Runs a part of the start on every rank, then lets the ranks tell each other whether it succeeded, so
   * that a failure on one rank (a folder that holds a run, data or a checkpoint missing on one machine)
   * stops all of them at once rather than leaving the others waiting in the next collective.
   *
   * @return the part's result
   * @throws IllegalStateException on a rank whose part succeeded when another's failed, naming the failed ranks
   */
  private <T> T together(String what, Part<T> part) throws IOException {
    T result = null;
    Throwable failure = null;
    try {
      result = part.call();
    } catch (IOException | RuntimeException | Error e) {
      failure = e;
    }
    if (replicas.worldSize() > 1) {
      double[] failed = replicas.allGather(failure == null ? 0 : 1);
      List<Integer> ranks = new ArrayList<>();
      for (int r = 0; r < failed.length; r++) if (failed[r] != 0) ranks.add(r);
      if (failure == null && !ranks.isEmpty()) {
        if (result instanceof AutoCloseable c) {
          try {
            c.close();
          } catch (Exception e) {
            // the other rank's failure is the one to report
          }
        }
        throw new IllegalStateException((ranks.size() == 1 ? "rank " + ranks.getFirst() : "ranks " + ranks) + " of " + failed.length
            + " could not " + what + " (see " + (ranks.size() == 1 ? "its" : "their") + " own error); stopping");
      }
    }
    if (failure instanceof IOException e) throw e;
    if (failure instanceof RuntimeException e) throw e;
    if (failure instanceof Error e) throw e;
    return result;
  }

  /**
   * The seed of a rank's dropout draws: the run's seed on rank 0 (as in a single process); a seed of its
   * own on every other rank, and another one for a rank that a resumed checkpoint has no state of.
   */
  private long rankSeed(int rank, long step) {
    long z = config.seed() + 0x9E3779B97F4A7C15L * rank + 0xBF58476D1CE4E5B9L * step;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
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
    for (String name : List.of("checkpoint.pt", "loss.csv", "loss.png", "eval.csv", "eval.png", "checkpoint-best.pt")) {
      Path p = dir.resolve(name);
      if (Files.exists(p) && !Files.isRegularFile(p)) {
        throw new FileSystemException(p.toString(), null, Files.isDirectory(p) ? "Is a directory" : "not a regular file");
      }
    }
    FileErrors.createDirectories(dir.resolve("samples"));
    AtomicFiles.removeTempFiles(dir);
    AtomicFiles.removeTempFiles(dir.resolve("samples"));
    if (output.keepCheckpoints() > 0) FileErrors.createDirectories(dir.resolve("checkpoints"));
    AtomicFiles.removeTempFiles(dir.resolve("checkpoints"));
  }

  /**
   * {@link Mode#OVERWRITE}: deletes the old run's outputs, its checkpoint first (loss.csv is rewritten by the loop): also
   * its kept checkpoints ({@code checkpoints/step-*.pt}, then the folder if that leaves it empty), {@code checkpoint-best.pt},
   * {@code eval.csv} and {@code eval.png}.
   */
  private void deleteOldRun() throws IOException {
    Path dir = output.dir();
    List<Path> old = new ArrayList<>();
    for (String name : List.of("checkpoint.pt", "checkpoint-best.pt", "loss.png", "samples.png", "eval.csv", "eval.png")) {
      old.add(dir.resolve(name));
    }
    try (DirectoryStream<Path> grids = Files.newDirectoryStream(dir.resolve("samples"),
        p -> STEP_GRID.matcher(p.getFileName().toString()).matches())) {
      grids.forEach(old::add);
    }
    Path kept = dir.resolve("checkpoints");
    if (Files.isDirectory(kept, LinkOption.NOFOLLOW_LINKS)) {
      try (DirectoryStream<Path> files = Files.newDirectoryStream(kept, p -> KEPT.matcher(p.getFileName().toString()).matches())) {
        files.forEach(old::add);
      }
    }
    for (Path p : old) {
      try {
        if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) Files.delete(p);
      } catch (IOException e) {
        throw FileErrors.withPath(p, e);
      }
    }
    if (output.keepCheckpoints() == 0 && Files.isDirectory(kept, LinkOption.NOFOLLOW_LINKS)) {
      try (var left = Files.list(kept)) {
        if (left.findAny().isEmpty()) Files.delete(kept);
      } catch (IOException e) {
        throw FileErrors.withPath(kept, e);
      }
    }
  }

  /**
   * Keeps the checkpoint just written as {@code checkpoints/step-NNNNNN.pt} (a hard link, or an atomic copy), then
   * deletes the kept checkpoints older than the newest {@link Output#keepCheckpoints()}.
   */
  private void keepCheckpoint(long step) throws IOException {
    Path kept = output.dir().resolve("checkpoints");
    AtomicFiles.link(checkpointFile(), kept.resolve(String.format(Locale.ROOT, "step-%06d.pt", step)));
    java.util.TreeMap<Long, Path> all = new java.util.TreeMap<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(kept)) {
      for (Path p : files) {
        var m = KEPT.matcher(p.getFileName().toString());
        if (m.matches() && m.group(1).length() <= 18) all.put(Long.parseLong(m.group(1)), p);
      }
    } catch (IOException e) {
      throw FileErrors.withPath(kept, e);
    }
    while (all.size() > output.keepCheckpoints()) {
      Path p = all.pollFirstEntry().getValue();
      try {
        Files.deleteIfExists(p);
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
  /**
   * @throws InvalidSettingException naming {@code numClasses} if the model is class-conditional and the data set has
   *     no labels or another number of classes
   */
  private void checkLabels(ImageDataset data) {
    int k = config.model().numClasses();
    if (k == 0) return;
    if (!data.hasLabels()) {
      throw new InvalidSettingException("a class-conditional model ({numClasses=}) needs a data set with class labels; {} has none (an IDX"
          + " image file needs its *-labels-idx1-ubyte file beside it, an image folder one subfolder per class)", k, data.source());
    }
    if (data.numClasses() != k) {
      throw new InvalidSettingException("the model has {numClasses=} but {} has {} classes", k, data.source(), data.numClasses());
    }
  }

  private record RunState(UNet model, Ema ema, Adam opt, GradScaler scaler, Generator rng, DataLoader loader) {}

  private long restore(RunState run, PrintWriter say) throws IOException {
    Path file = checkpointFile();
    int rank = replicas.rank();
    int world = replicas.worldSize();
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
        if (rank == 0) {
          Torch.setRngState(present(ck.torchRng(), Checkpoint.RNG_TORCH));
        } else if (rank < ck.worldSize()) {
          Torch.setRngState(present(ck.rankTorchRng(rank), Checkpoint.RNG_TORCH + Checkpoint.RANK + rank));
        } else {
          Torch.manualSeed(rankSeed(rank, step));
        }
        run.rng().setState(present(ck.diffusionRng(), Checkpoint.RNG_DIFFUSION));
        if (run.scaler() != null) run.scaler().load(present(ck.scaler(), Checkpoint.GRAD_SCALE));
        run.loader().restore(present(ck.loader(), Checkpoint.LOADER_EPOCH));
      } catch (RuntimeException e) {
        throw new IOException(file + ": cannot restore the training state: " + e.getMessage(), e);
      }
      say.printf(Locale.ROOT, "ddpm4j: resuming at step %d of %d%n", step, config.trainSteps());
      if (ck.worldSize() != world) {
        say.printf(Locale.ROOT, "ddpm4j: the checkpoint was written by %d process%s, this run has %d: the batches of %d images, their order "
            + "and their noise go on unchanged, each process now takes %d images of each%s%n", ck.worldSize(), ck.worldSize() == 1 ? "" : "es",
            world, config.batchSize(), config.batchSize() / world,
            world > ck.worldSize() ? String.format(Locale.ROOT, "; the dropout of ranks %d..%d draws from new seeds", ck.worldSize(), world - 1)
                : "");
      }
      say.flush();
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
    int rank = replicas.rank();
    int world = replicas.worldSize();
    boolean lead = rank == 0;
    long t0 = System.nanoTime();
    asideNanos = 0;
    long step = start;
    model.train(true);
    // every rank stops at the same step: the one at whose end any of them had been asked to
    boolean stopping = stop.get();
    if (world > 1) stopping = agree(Double.NaN, stopping).stop();
    boolean evaluating = lead && output.evalEvery() > 0;
    boolean keeping = output.keepCheckpoints() > 0;
    try (LossLog losses = lead ? new LossLog(output.dir().resolve("loss.csv"), start) : null;
         EvalLog evals = evaluating ? new EvalLog(output.dir().resolve("eval.csv"), start) : null;
         ConsoleProgress bar = ConsoleProgress.open("train", config.trainSteps(), start, lead && output.progressBar(), progressLines)) {
      double secondsBefore = evals == null || evals.rows().isEmpty() ? 0 : evals.rows().getLast().seconds();
      EvalLog.Row best = evals == null ? null : evals.best();
      // a kill between checkpoint.pt and checkpoint-best.pt of the same step: the best is the checkpoint resumed
      if (best != null && keeping && best.step() == start) AtomicFiles.link(checkpointFile(), output.dir().resolve("checkpoint-best.pt"));
      while (step < config.trainSteps() && !stopping) {
        double lr = config.lrSchedule().lr(step, config.lr(), config.warmupSteps(), config.trainSteps());
        double loss;
        try (Scope s = Scope.open()) {
          opt.setLr(lr);
          opt.zeroGrad();
          if (config.gradAccumulation() == 1) {
            DataLoader.Batch batch = run.loader().nextBatch();
            Tensor x0 = batch.images();
            Tensor l;
            try (Autocast ac = config.precision().autocast()) {
              // the forward pass in the run's precision, backward outside
              if (config.model().isClassConditional()) {
                // labels dropped to "no class" with probability pUncond, drawn from the run's generator (Ho & Salimans 2022)
                l = diffusion.loss(x0, batch.labels(), config.pUncond(), run.rng(), config.batchSize(), rank, world);
              } else {
                l = world == 1 ? diffusion.loss(x0, run.rng()) : diffusion.loss(x0, run.rng(), config.batchSize(), rank, world);
              }
            }
            if (scaler == null) {
              l.backward();
            } else {
              scaler.scale(l).backward();
            }
            loss = l.item();
          } else {
            loss = accumulate(run, diffusion);
          }
          // one all-reduce of the summed gradients per optimizer step
          replicas.averageGradients();
          if (scaler != null) scaler.unscale(opt);
          if (config.gradClip() > 0) Utils.clipGradNorm(params, config.gradClip());
          if (scaler == null) {
            opt.step();
          } else {
            scaler.step(opt);
            scaler.update();
          }
        }
        run.ema().update(model, step);
        step++;
        stepListener.accept(step);
        // read once per step: a stop asked for later (while a grid is drawn) ends the next step, with its checkpoint
        if (world == 1) {
          stopping = stop.get();
        } else {
          Agreement a = agree(loss, stop.get());
          loss = a.loss();
          stopping = a.stop();
        }
        if (lead) losses.add(step - 1, loss, lr, (System.nanoTime() - t0) / 1e9);
        bar.stepTo(step);
        if (bar.shown()) bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f", loss));
        if (!Double.isFinite(loss)) {
          throw new IllegalStateException("the loss diverged (" + loss + (world == 1 ? "" : ", averaged over the processes") + ") at step " + step);
        }
        boolean last = step == config.trainSteps();
        // the same decision on every rank: it depends on the step alone
        boolean evalStep = output.evalEvery() > 0 && (step % output.evalEvery() == 0 || last);
        boolean newBest = false;
        if (evaluating && evalStep) {
          long began = System.nanoTime();
          double seconds = secondsBefore + (began - t0 - asideNanos) / 1e9;
          SampleScorer.Score score = evaluate(run.ema(), schedule);
          EvalLog.Row row = new EvalLog.Row(step, seconds, score.fid(), score.kid(), score.kidStdErr());
          evals.add(row);
          evals.plot(output.dir().resolve("eval.png"));
          newBest = best == null || row.fid() < best.fid();
          if (newBest) best = row;
          log.printf(Locale.ROOT, "ddpm4j: step %d: FID %.4g, KID %.4g ± %.2g%s%n", step, score.fid(), score.kid(), score.kidStdErr(),
              newBest ? " (best so far)" : "");
          log.flush();
          model.train(true);
          asideNanos += System.nanoTime() - began;
        }
        if (step % output.checkpointEvery() == 0 || last || stopping || (evalStep && keeping)) {
          List<Tensor> rankRng = world == 1 ? List.of() : gatherTorchRng();
          checkReplicas(run, step);
          if (lead) {
            losses.flush();
            if (evals != null) evals.flush();
            writeCheckpoint(step, run, rankRng);
            if (keeping) {
              keepCheckpoint(step);
              if (newBest) AtomicFiles.link(checkpointFile(), output.dir().resolve("checkpoint-best.pt"));
            }
            checkpointListener.accept(step);
          }
        }
        if (lead && output.sampleEvery() > 0 && (step % output.sampleEvery() == 0 || last)) {
          long began = System.nanoTime();
          sampleGrid(run.ema(), schedule, output.dir().resolve(String.format(Locale.ROOT, "samples/step-%06d.png", step)));
          model.train(true);
          asideNanos += System.nanoTime() - began;
        }
      }
      loopNanos = System.nanoTime() - t0;
      if (lead) {
        losses.flush();
        losses.plot(output.dir().resolve("loss.png"));
      }
    }
    return step;
  }

  /**
   * The micro-batches of one optimizer step ({@link TrainConfig#gradAccumulation()} {@code = k} &gt; 1): draws the
   * timesteps and the noise of all {@code k * batchSize} images first, exactly as {@link GaussianDiffusion#loss(Tensor,
   * Generator)} draws them for one batch of that size, then for each micro-batch takes the next batch of the loader,
   * the draws of its positions (this rank's share of them in a data-parallel run), and runs forward and backward on
   * its loss divided by {@code k} (scaled by the loss scaler in FP16), so that the summed gradients are those of the
   * mean loss over all the step's images. With dropout 0, {@code k} micro-batches of {@code b} images thus give the
   * gradients of one batch of {@code k * b} images (up to float rounding), as long as no epoch ends inside the step
   * (the loader starts a new epoch when fewer than {@code b} images remain, a batch of {@code k * b} when fewer than
   * {@code k * b} do).
   *
   * @return the mean of the micro-batches' losses (this rank's)
   */
  private double accumulate(RunState run, GaussianDiffusion diffusion) {
    int k = config.gradAccumulation();
    long b = config.batchSize();
    int rank = replicas.rank();
    int world = replicas.worldSize();
    double sum = 0;
    try (Scope s = Scope.open()) {
      long size = config.imageSize();
      Tensor t = Torch.randint(0, diffusion.timesteps(), new long[] {k * b}, device, run.rng());
      Tensor eps = Torch.randn(new long[] {k * b, config.model().imageChannels(), size, size}, DType.FLOAT32, device, run.rng());
      int classes = config.model().numClasses();
      // a conditional model's label drops, drawn after t and eps as GaussianDiffusion.loss draws them for one batch
      Tensor drop = classes > 0 ? Torch.rand(new long[] {k * b}, DType.FLOAT32, device, run.rng()).lt(config.pUncond()) : null;
      for (int j = 0; j < k; j++) {
        try (Scope micro = Scope.open()) {
          DataLoader.Batch batch = run.loader().nextBatch();
          Tensor x0 = batch.images();
          Tensor labels = null;
          if (drop != null) {
            Tensor noClass = Torch.full(new long[] {x0.size(0)}, classes, DType.INT64, device);
            labels = Torch.where(drop.slice(0, j * b + rank, (j + 1) * b, world), noClass, batch.labels());
          }
          Tensor l;
          try (Autocast ac = config.precision().autocast()) {
            l = diffusion.loss(x0, t.slice(0, j * b + rank, (j + 1) * b, world), eps.slice(0, j * b + rank, (j + 1) * b, world), labels);
          }
          Tensor share = l.div(k);
          if (run.scaler() == null) {
            share.backward();
          } else {
            run.scaler().scale(share).backward();
          }
          sum += l.item();
        }
      }
    }
    return sum / k;
  }

  /**
   * Samples {@link Output#evalSamples()} images with the EMA weights and the grid sampler, in calls of at most
   * {@value #EVAL_BATCH}, each from a generator seeded from the run's seed and the call's index, and scores them.
   */
  private SampleScorer.Score evaluate(Ema ema, NoiseSchedule schedule) {
    UNet shadow = (UNet) ema.shadow();
    GaussianDiffusion d = new GaussianDiffusion(shadow, schedule, config.prediction());
    Sampler sampler = output.sampler().cappedTo(schedule.timesteps()).create(d);
    try (Scope s = Scope.open()) {
      long size = config.imageSize();
      List<Tensor> parts = new ArrayList<>();
      for (int done = 0, call = 0; done < output.evalSamples(); done += EVAL_BATCH, call++) {
        int n = Math.min(EVAL_BATCH, output.evalSamples() - done);
        try (Autocast ac = config.precision().autocast()) {
          Tensor x = sampler.sample(n, new long[] {config.model().imageChannels(), size, size}, evalSeed(call), Progress.NONE);
          parts.add(x.to(DType.FLOAT32).clamp(-1, 1));
        }
      }
      Tensor images = parts.size() == 1 ? parts.getFirst() : Torch.cat(parts, 0);
      return scorer.score(images);
    }
  }

  /** The seed of an evaluation's {@code call}-th sampling call: from the run's seed, apart from the sample grids' seed. */
  private long evalSeed(int call) {
    long z = config.seed() ^ 0x6A09E667F3BCC909L;
    z += 0x9E3779B97F4A7C15L * (call + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    return z ^ (z >>> 27);
  }

  /** What the ranks agree on after a step: the loss averaged over them, and whether any of them was asked to stop. */
  private record Agreement(double loss, boolean stop) {}

  private Agreement agree(double loss, boolean stopAsked) {
    try (Scope s = Scope.open()) {
      Tensor t = Torch.tensor(new double[] {loss, stopAsked ? 1 : 0}, 2);
      if (device.isCuda()) t = t.to(device);
      replicas.sum(t);
      double[] v = t.toDoubleArray();
      return new Agreement(v[0] / replicas.worldSize(), v[1] > 0);
    }
  }

  /**
   * Every rank's default generator state (its dropout draws), gathered on every rank: each rank puts
   * its own state in its row of a zero matrix, and the ranks sum the matrix.
   *
   * @return the states of ranks 1..worldSize-1, uint8 CPU tensors owned by the caller's scope
   */
  private List<Tensor> gatherTorchRng() {
    int world = replicas.worldSize();
    try (Scope s = Scope.open()) {
      Tensor mine = Torch.getRngState();
      Tensor rows = Torch.zeros(new long[] {world, mine.numel()}, DType.FLOAT32, device);
      rows.select(0, replicas.rank()).copy_(mine.to(DType.FLOAT32, device));
      replicas.sum(rows);
      Tensor all = rows.to(DType.UINT8, Device.CPU);
      List<Tensor> out = new ArrayList<>();
      for (int r = 1; r < world; r++) out.add(Scope.keep(all.select(0, r).contiguous()));
      return out;
    }
  }

  /**
   * Checks that every rank holds the same weights and EMA weights, by a fingerprint of their bytes that
   * the ranks exchange: data-parallel training keeps the replicas bit-identical, and a difference
   * (a rank that missed a step, a non-deterministic kernel) is a fault to stop at, not to train on.
   *
   * @throws IllegalStateException naming the ranks whose weights differ from rank 0's
   */
  private void checkReplicas(RunState run, long step) {
    long weights = fingerprint(run.model().stateDict().values());
    long ema = fingerprint(run.ema().shadow().stateDict().values());
    fingerprints = new Fingerprints(step, weights, ema);
    if (replicas.worldSize() == 1) return;
    double[] allWeights = replicas.allGather(weights);
    double[] allEma = replicas.allGather(ema);
    List<String> differ = new ArrayList<>();
    for (int r = 1; r < allWeights.length; r++) {
      if (allWeights[r] != allWeights[0]) differ.add("rank " + r + "'s weights");
      if (allEma[r] != allEma[0]) differ.add("rank " + r + "'s EMA weights");
    }
    if (!differ.isEmpty()) {
      throw new IllegalStateException("the processes' models diverged at step " + step + ": " + String.join(", ", differ)
          + " differ from rank 0's; the last checkpoint before this step is sound");
    }
  }

  /**
   * A 52-bit hash of the bytes of {@code tensors}, in order, with their sizes: exact in a double, so that
   * the ranks exchange it with an all-gather of doubles.
   *
   * @param tensors the tensors, on any device
   * @return the hash, in 0..2<sup>52</sup>-1
   */
  static long fingerprint(Iterable<Tensor> tensors) {
    long h = 0xcbf29ce484222325L;
    for (Tensor t : tensors) {
      try (Scope s = Scope.open()) {
        Tensor c = (t.device().isCuda() ? t.to(Device.CPU) : t).contiguous();
        MemorySegment bytes = c.data();
        long n = bytes.byteSize();
        h = mix(h, n);
        long i = 0;
        for (; i + 8 <= n; i += 8) h = mix(h, bytes.get(ValueLayout.JAVA_LONG_UNALIGNED, i));
        for (; i < n; i++) h = mix(h, bytes.get(ValueLayout.JAVA_BYTE, i));
      }
    }
    return h & ((1L << 52) - 1);
  }

  private static long mix(long h, long v) {
    h = (h ^ v) * 0x100000001b3L;
    return h ^ (h >>> 29);
  }

  private void writeCheckpoint(long step, RunState run, List<Tensor> rankRng) throws IOException {
    try (Scope s = Scope.open()) {
      Checkpoint.save(new Checkpoint.State(config, step, run.model(), run.ema().shadow(), run.opt().saveState(), Torch.getRngState(),
          run.rng().getState(), run.loader().state(), run.scaler() == null ? null : run.scaler().state(), replicas.worldSize(), rankRng),
          checkpointFile());
    }
  }

  private void sampleGrid(Ema ema, NoiseSchedule schedule, Path file) throws IOException {
    UNet shadow = (UNet) ema.shadow();
    GaussianDiffusion d = new GaussianDiffusion(shadow, schedule, config.prediction());
    Sampler sampler = output.sampler().cappedTo(schedule.timesteps()).create(d);
    try (Scope s = Scope.open(); Autocast ac = config.precision().autocast()) {
      long size = config.imageSize();
      Tensor x = sampler.sample(output.sampleCount(), new long[] {config.model().imageChannels(), size, size}, config.seed(), Progress.NONE);
      ImageWriter.writePng(ImageWriter.grid(x, (int) Math.ceil(Math.sqrt(output.sampleCount())), 2), file);
    }
  }
}
