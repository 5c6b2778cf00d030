package io.github.ddpm4j.cli;

import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.diffusion.LossWeighting;
import io.github.ddpm4j.diffusion.PredictionType;
import io.github.ddpm4j.diffusion.ScheduleType;
import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.train.ExistingRunException;
import io.github.ddpm4j.train.LrSchedule;
import io.github.ddpm4j.train.TrainConfig;
import io.github.ddpm4j.train.Trainer;
import io.github.ddpm4j.distributed.ProcessGroup;
import io.github.ddpm4j.io.InvalidSettingException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j train}: trains a DDPM, then draws a final sample grid. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train a DDPM on real images, checkpointing as it goes, then sample from it.",
        "Writes checkpoint.pt, loss.csv, loss.png, samples/step-*.png and samples.png into --output-dir.",
        "Ctrl-C stops after the current step and writes a checkpoint; --resume continues it.",
        "A folder that holds a run is never overwritten without --force."})
final class TrainCommand implements Callable<Integer> {
  private static final TrainConfig D = TrainConfig.defaults();

  @Option(names = "--data", paramLabel = "SPEC", defaultValue = "fashion-mnist",
      description = "fashion-mnist (Debian's package), an MNIST-style IDX directory/file, or an image folder (default: ${DEFAULT-VALUE}).")
  String data;

  @Option(names = "--output-dir", paramLabel = "DIR", defaultValue = "runs/fashion-mnist",
      description = "The run's folder (default: ${DEFAULT-VALUE}).")
  Path outputDir;

  @Option(names = "--resume",
      description = "Continue the run whose checkpoint is in --output-dir, with the same options; --train-steps may be larger to train longer.")
  boolean resume;

  @Option(names = "--force",
      description = {"Start a new run in an --output-dir that holds one: deletes its checkpoint.pt, loss.png, samples.png,",
          "samples/step-*.png, checkpoints/, checkpoint-best.pt, eval.csv and eval.png and starts loss.csv afresh (once the",
          "data and model are ready). Without --resume or --force,",
          "train refuses a folder that holds checkpoint.pt or loss.csv."})
  boolean force;

  @Option(names = "--train-steps", paramLabel = "N", defaultValue = "2000", description = "Optimizer steps (default: ${DEFAULT-VALUE}).")
  long trainSteps;

  @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32", description = "Images per step, of all workers together (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--lr", paramLabel = "LR", defaultValue = "2e-3", description = "Peak learning rate of Adam, in (0, 1] (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "200", description = "Learning-rate warm-up steps (default: ${DEFAULT-VALUE}).")
  long warmupSteps;

  @Option(names = "--grad-clip", paramLabel = "NORM", defaultValue = "1.0", description = "Gradient-norm limit, 0 for none (default: ${DEFAULT-VALUE}).")
  double gradClip;

  @Option(names = "--ema-decay", paramLabel = "D", defaultValue = "0.995", description = "EMA decay (default: ${DEFAULT-VALUE}); warmed up as min(D, (1+s)/(10+s)).")
  double emaDecay;

  @Option(names = "--image-size", paramLabel = "PX", defaultValue = "28", description = "Training image side (default: ${DEFAULT-VALUE}).")
  int imageSize;

  @Option(names = "--channels", paramLabel = "C", defaultValue = "1", description = "1 (grayscale) or 3 (RGB; image folders) (default: ${DEFAULT-VALUE}).")
  int imageChannels;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "Use at most N training images, 0 for all (default: ${DEFAULT-VALUE}).")
  long limit;

  @Option(names = "--flip", description = "Mirror training images left-right at random.")
  boolean flip;

  @Option(names = "--base-channels", paramLabel = "C", defaultValue = "32", description = "UNet base channels (default: ${DEFAULT-VALUE}).")
  int nChannels;

  @Option(names = "--channel-mults", paramLabel = "M,..", split = ",", defaultValue = "1,2,2",
      description = "Channel multiplier per resolution (default: ${DEFAULT-VALUE}).")
  List<Integer> chMults;

  @Option(names = "--attention", paramLabel = "B,..", split = ",", arity = "1", defaultValue = "false,false,true",
      description = "Self-attention per resolution (default: ${DEFAULT-VALUE}).")
  List<Boolean> isAttn;

  @Option(names = "--blocks", paramLabel = "N", defaultValue = "1", description = "Residual blocks per resolution (default: ${DEFAULT-VALUE}).")
  int nBlocks;

  @Option(names = "--dropout", paramLabel = "P", defaultValue = "0", description = "Dropout in residual blocks (default: ${DEFAULT-VALUE}).")
  double dropout;

  @Option(names = "--groups", paramLabel = "G", defaultValue = "8", description = "GroupNorm groups (default: ${DEFAULT-VALUE}).")
  int nGroups;

  @Option(names = "--schedule", paramLabel = "NAME", defaultValue = "linear", description = "linear or cosine (default: ${DEFAULT-VALUE}).")
  ScheduleType schedule;

  @Option(names = "--timesteps", paramLabel = "T", defaultValue = "1000", description = "Diffusion steps T (default: ${DEFAULT-VALUE}).")
  int timesteps;

  @Option(names = "--prediction-type", paramLabel = "TYPE", defaultValue = "v_prediction",
      description = "What the UNet predicts: epsilon (the noise), v_prediction (v, Salimans & Ho 2022) or sample (x0) (default: ${DEFAULT-VALUE}).")
  PredictionType prediction;

  @Option(names = "--loss-weighting", paramLabel = "NAME", defaultValue = "min-snr",
      description = "uniform (L_simple) or min-snr (min-SNR-gamma, Hang et al. 2023) (default: ${DEFAULT-VALUE}).")
  LossWeighting lossWeighting;

  @Option(names = "--snr-gamma", paramLabel = "G", defaultValue = "5", description = "The gamma of --loss-weighting min-snr (default: ${DEFAULT-VALUE}).")
  double snrGamma;

  @Option(names = "--lr-schedule", paramLabel = "NAME", defaultValue = "cosine",
      description = "Learning rate after the warm-up: constant, or cosine decay to 0 at the last step (default: ${DEFAULT-VALUE}).")
  LrSchedule lrSchedule;

  @Option(names = "--grad-accumulation", paramLabel = "N", defaultValue = "1",
      description = "Micro-batches of --batch-size images summed into each optimizer step (default: ${DEFAULT-VALUE}).")
  int gradAccumulation;

  @Option(names = "--class-conditional", description = "Train a class-conditional model for classifier-free guidance (Ho & Salimans"
      + " 2022), with as many classes as the data set's labels: Fashion-MNIST's, an IDX set's label file, an image folder's subfolders.")
  boolean classConditional;

  @Option(names = "--p-uncond", paramLabel = "P", defaultValue = "0.1",
      description = "Probability of dropping the class label in class-conditional training (default: ${DEFAULT-VALUE}).")
  double pUncond;

  @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "250", description = "Checkpoint interval in steps (default: ${DEFAULT-VALUE}).")
  long checkpointEvery;

  @Option(names = "--sample-every", paramLabel = "N", defaultValue = "500", description = "Sample-grid interval in steps, 0 for none (default: ${DEFAULT-VALUE}).")
  long sampleEvery;

  @Option(names = "--samples", paramLabel = "N", defaultValue = "64", description = "Images in the final sample grid (default: ${DEFAULT-VALUE}).")
  int sampleCount;

  @Option(names = "--keep-checkpoints", paramLabel = "N", defaultValue = "0",
      description = {"Also keep each checkpoint as checkpoints/step-NNNNNN.pt, the newest N of them, and with --eval-every the one",
          "of the best FID as checkpoint-best.pt; 0 keeps only checkpoint.pt (default: ${DEFAULT-VALUE})."})
  int keepCheckpoints;

  @Option(names = "--eval-every", paramLabel = "K", defaultValue = "0",
      description = {"Every K steps and at the last, score --eval-samples EMA samples (FID, KID) into eval.csv and eval.png;",
          "0 for never (default: ${DEFAULT-VALUE}). Needs the evaluator."})
  long evalEvery;

  @Option(names = "--eval-samples", paramLabel = "N", defaultValue = "256",
      description = "Images per evaluation (default: ${DEFAULT-VALUE}).")
  int evalSamples;

  @Mixin
  SamplerMixin sampler;

  @Mixin
  ExecutionOptions execution;

  @Mixin
  CommonOptions common;

  @Mixin
  DistributedOptions distributed;

  /** The command line as parsed, for the arguments the workers get. */
  @Spec
  CommandSpec spec;

  /** This process's place in a data-parallel run, or null when it trains alone or launches workers. */
  private WorkerEnvironment worker;

  /** How long a worker may take to stop (to finish its step and, rank 0, write a checkpoint) before it is killed. */
  private static final Duration WORKER_GRACE = Duration.ofSeconds(60);

  /**
   * Names its Java fields after the settings they set ({@code trainSteps}, {@code nChannels}, ...), so
   * that {@link Main} shows an {@link io.github.ddpm4j.io.InvalidSettingException} of {@link TrainConfig},
   * {@link UNetConfig} or {@link Trainer.Output} under the options' names.
   */
  @Override
  public Integer call() throws Exception {
    Sampling.checkCount("sampleCount", sampleCount);
    UNetConfig model = new UNetConfig(imageChannels, nChannels, chMults, isAttn, nBlocks, dropout, nGroups, nGroups);
    if (classConditional) model = model.withNumClasses(classCount());
    Precision precision = execution.precision() == null ? Precision.FP32 : execution.precision();
    TrainConfig config = new TrainConfig(data, imageSize, limit, flip, model, schedule, timesteps, D.betaStart(), D.betaEnd(),
        batchSize, trainSteps, lr, warmupSteps, gradClip, emaDecay, true, common.seed, precision, prediction, lossWeighting, snrGamma,
        lrSchedule, gradAccumulation, pUncond);
    // after the configuration, which checks timesteps: the sampler's range errors presume a valid T
    SamplerOptions sampling = sampler.options(timesteps);
    Trainer.Output output = new Trainer.Output(outputDir, checkpointEvery, sampleEvery, Math.min(sampleCount, 16), sampling,
        common.progressShown(), keepCheckpoints, evalEvery, evalSamples);
    if (output.evalEvery() > 0) EvaluatorScorer.check(config, evalEvery);
    if (resume && force) throw new IllegalArgumentException("--resume and --force exclude each other: continue the run or start over");
    distributed.check(System.getenv());
    if (distributed.launches()) return launch(config);
    Map<String, String> env = System.getenv();
    worker = WorkerEnvironment.present(env) ? WorkerEnvironment.of(env) : null;
    Device device = common.apply(worker == null ? 1 : worker.localWorldSize());
    // a worker given the plain --device cuda takes the GPU of its local rank, as torchrun's scripts do
    if (worker != null && device.isCuda() && common.device.strip().equalsIgnoreCase("cuda")) device = Device.cuda(worker.localRank());
    execution.check(device);
    if (worker != null && config.batchSize() % worker.worldSize() != 0) {
      throw new InvalidSettingException("{batchSize=} must be divisible by the number of workers ({}): each takes an equal share of "
          + "every batch", config.batchSize(), worker.worldSize());
    }
    long done;
    Trainer trainer;
    try (EvaluatorScorer scorer = output.evalEvery() > 0 ? EvaluatorScorer.on(device) : null) {
      trainer = new Trainer(config, output, device, common.log()).memoryFormat(execution.memoryFormat())
          .progressLines(common.err()).scorer(scorer);
      Trainer.Mode mode = resume ? Trainer.Mode.RESUME : force ? Trainer.Mode.OVERWRITE : Trainer.Mode.NEW;
      if (worker == null) {
        done = run(trainer, mode);
      } else {
        try (ProcessGroup group = ProcessGroup.initProcessGroup(distributed.backend(device), distributed.timeout())) {
          done = run(trainer.distributed(group), mode);
        }
      }
    }
    if (worker != null && worker.rank() != 0) return 0; // rank 0 draws the final grid and reports
    if (done == trainSteps) {
      Path grid = outputDir.resolve("samples.png");
      Sampling.toFiles(trainer.checkpointFile(), device, sampleCount, sampler, common.seed, grid, null, execution, common);
      common.report("wrote checkpoint.pt, loss.csv, loss.png, " + (sampleEvery > 0 ? "samples/step-*.png " : "") + "and samples.png into "
          + outputDir);
    }
    return 0;
  }

  /** @return the number of classes of {@code --data}, for {@code --class-conditional} */
  private int classCount() throws java.io.IOException {
    List<String> names = Datasets.classNames(data);
    if (names.isEmpty()) {
      throw new IllegalArgumentException("--class-conditional needs a data set with class labels, and " + data + " has none: an IDX image"
          + " file needs its *-labels-idx1-ubyte[.gz] file beside it, an image folder one subfolder per class with no image in the"
          + " folder itself");
    }
    if (names.size() > UNetConfig.MAX_CLASSES) {
      throw new IllegalArgumentException("--class-conditional: " + data + " has " + names.size() + " classes, more than the "
          + UNetConfig.MAX_CLASSES + " a UNet takes");
    }
    return names.size();
  }

  private long run(Trainer trainer, Trainer.Mode mode) throws java.io.IOException {
    try {
      return trainer.run(mode);
    } catch (ExistingRunException e) {
      throw new IllegalArgumentException(outputDir + " already holds a run (" + String.join(", ", e.found()) + "): continue it with "
          + "--resume, start over with --force (deletes its checkpoint.pt, loss.png and sample grids), or choose another --output-dir", e);
    }
  }

  /**
   * @return {@code "rank R of W: "} in a worker of a data-parallel run, which {@link Main} puts before
   *     the command's error messages; else the empty string
   */
  String errorPrefix() {
    return worker == null ? "" : worker + ": ";
  }

  /**
   * Starts this machine's workers, each a JVM like this one that runs {@code train} with the same
   * arguments but the placement options, and waits for them.
   *
   * @throws InvalidSettingException naming {@code batchSize} if it does not divide among the workers
   * @throws IllegalStateException naming the worker that failed first
   */
  private int launch(TrainConfig config) throws Exception {
    LocalLauncher.Plan plan = distributed.plan();
    if (config.batchSize() % plan.worldSize() != 0) {
      throw new InvalidSettingException("{batchSize=} must be divisible by the number of workers ({} = --nnodes {} x --nproc-per-node {}): "
          + "each takes an equal share of every batch", config.batchSize(), plan.worldSize(), plan.nnodes(), plan.nprocPerNode());
    }
    List<String> args = spec.root().commandLine().getParseResult().originalArgs();
    List<String> command = LocalLauncher.thisJvm(Main.class, args, DistributedOptions.workerArgs(args));
    LocalLauncher.Outcome outcome = new LocalLauncher(command, plan, WORKER_GRACE, common.err()).run();
    if (outcome.exitCode() != 0) throw new IllegalStateException(outcome.message());
    return 0;
  }
}
