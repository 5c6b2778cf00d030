package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.train.TrainConfig;
import io.github.ddpm4j.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j train}: trains a DDPM, then draws a final sample grid. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train a DDPM on real images, checkpointing as it goes, then sample from it.",
        "Writes checkpoint.pt, loss.csv, loss.png, samples/step-*.png and samples.png into --out.",
        "Ctrl-C stops after the current step and writes a checkpoint; --resume continues it."})
final class TrainCommand implements Callable<Integer> {
  private static final TrainConfig D = TrainConfig.defaults();

  @Option(names = "--data", paramLabel = "SPEC", defaultValue = "fashion-mnist",
      description = "fashion-mnist (Debian's package), an MNIST-style IDX directory/file, or an image folder (default: ${DEFAULT-VALUE}).")
  String data;

  @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/fashion-mnist", description = "Output folder (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--resume", description = "Continue the run whose checkpoint is in --out.")
  boolean resume;

  @Option(names = "--steps", paramLabel = "N", description = "Optimizer steps (default: " + "${DEFAULT-VALUE}).", defaultValue = "4000")
  long steps;

  @Option(names = "--batch-size", paramLabel = "N", defaultValue = "32", description = "Images per step (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--lr", paramLabel = "LR", defaultValue = "1e-3", description = "Peak learning rate of Adam (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--warmup", paramLabel = "N", defaultValue = "200", description = "Learning-rate warm-up steps (default: ${DEFAULT-VALUE}).")
  long warmup;

  @Option(names = "--grad-clip", paramLabel = "NORM", defaultValue = "1.0", description = "Gradient-norm limit, 0 for none (default: ${DEFAULT-VALUE}).")
  double gradClip;

  @Option(names = "--ema-decay", paramLabel = "D", defaultValue = "0.999", description = "EMA decay (default: ${DEFAULT-VALUE}); warmed up as min(D, (1+s)/(10+s)).")
  double emaDecay;

  @Option(names = "--image-size", paramLabel = "PX", defaultValue = "28", description = "Training image side (default: ${DEFAULT-VALUE}).")
  int imageSize;

  @Option(names = "--channels", paramLabel = "C", defaultValue = "1", description = "1 (grayscale) or 3 (RGB; image folders) (default: ${DEFAULT-VALUE}).")
  int channels;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "0", description = "Use at most N training images, 0 for all (default: ${DEFAULT-VALUE}).")
  long limit;

  @Option(names = "--flip", description = "Mirror training images left-right at random.")
  boolean flip;

  @Option(names = "--base-channels", paramLabel = "C", defaultValue = "32", description = "UNet base channels (default: ${DEFAULT-VALUE}).")
  int baseChannels;

  @Option(names = "--channel-mults", paramLabel = "M,..", split = ",", defaultValue = "1,2,2",
      description = "Channel multiplier per resolution (default: ${DEFAULT-VALUE}).")
  List<Integer> mults;

  @Option(names = "--attention", paramLabel = "B,..", split = ",", defaultValue = "false,false,true",
      description = "Self-attention per resolution (default: ${DEFAULT-VALUE}).")
  List<Boolean> attention;

  @Option(names = "--blocks", paramLabel = "N", defaultValue = "1", description = "Residual blocks per resolution (default: ${DEFAULT-VALUE}).")
  int blocks;

  @Option(names = "--dropout", paramLabel = "P", defaultValue = "0.1", description = "Dropout in residual blocks (default: ${DEFAULT-VALUE}).")
  double dropout;

  @Option(names = "--groups", paramLabel = "G", defaultValue = "8", description = "GroupNorm groups (default: ${DEFAULT-VALUE}).")
  int groups;

  @Option(names = "--schedule", paramLabel = "NAME", defaultValue = "linear", description = "linear or cosine (default: ${DEFAULT-VALUE}).")
  String schedule;

  @Option(names = "--diffusion-steps", paramLabel = "T", defaultValue = "1000", description = "Diffusion steps T (default: ${DEFAULT-VALUE}).")
  int diffusionSteps;

  @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "250", description = "Checkpoint interval in steps (default: ${DEFAULT-VALUE}).")
  long checkpointEvery;

  @Option(names = "--sample-every", paramLabel = "N", defaultValue = "1000", description = "Sample-grid interval in steps, 0 for none (default: ${DEFAULT-VALUE}).")
  long sampleEvery;

  @Option(names = "--samples", paramLabel = "N", defaultValue = "64", description = "Images in the final sample grid (default: ${DEFAULT-VALUE}).")
  int samples;

  @Option(names = "--sample-steps", paramLabel = "S", defaultValue = "100",
      description = "DDIM steps for sample grids (default: ${DEFAULT-VALUE}).")
  int sampleSteps;

  @Option(names = "--no-progress", description = "Print no progress bar.")
  boolean noProgress;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    Device device = common.apply();
    UNetConfig model = new UNetConfig(channels, baseChannels, mults, attention, blocks, dropout, groups, groups);
    TrainConfig config = new TrainConfig(data, imageSize, limit, flip, model, schedule, diffusionSteps, D.betaStart(), D.betaEnd(),
        batchSize, steps, lr, warmup, gradClip, emaDecay, true, common.seed);
    Trainer.Output output = new Trainer.Output(out, checkpointEvery, sampleEvery, Math.min(samples, 16), sampleSteps, !noProgress);
    Trainer trainer = new Trainer(config, output, device, new java.io.PrintWriter(System.out, true));
    long done = trainer.run(resume);
    if (done == steps) {
      Path grid = out.resolve("samples.png");
      Sampling.fromCheckpoint(trainer.checkpointFile(), device, samples, "ddim", sampleSteps, 0.0, common.seed, grid, null, !noProgress);
      System.out.println("ddpm4j: samples in " + grid);
    }
    return 0;
  }
}
