package io.github.ddpm4j.train;

import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/** A tiny model and data set that train in well under a second per step on a CPU. */
public final class TrainFixtures {
  /** 8 base channels, two levels with attention on the second, GroupNorm with 4 groups. */
  public static final UNetConfig TINY = new UNetConfig(1, 8, List.of(1, 2), List.of(false, true), 1, 0.1, 4, 4);

  private TrainFixtures() {}

  /**
   * Writes 20 images of 8x8 as {@code train-images-idx3-ubyte.gz} into {@code dir}.
   *
   * @return {@code dir}
   */
  public static Path data(Path dir) throws IOException {
    IdxFiles.write(dir.resolve("train-images-idx3-ubyte.gz"), 20, 8, 8);
    return dir;
  }

  /** @return a run of {@code steps} steps of batch 8 on {@code data}, with flips, warm-up, clipping and dropout */
  public static TrainConfig config(Path data, long steps) {
    return new TrainConfig(data.toString(), 8, 0, true, TINY, io.github.ddpm4j.diffusion.ScheduleType.LINEAR, 50, 1e-4, 0.02, 8, steps, 2e-3, 3, 1.0, 0.9, true, 7, io.github.ddpm4j.torch.Precision.FP32);
  }

  /**
   * @return {@link #config(Path, long)} with another prediction type and loss weighting (min-SNR gamma 5)
   */
  public static TrainConfig config(Path data, long steps, io.github.ddpm4j.diffusion.PredictionType prediction,
      io.github.ddpm4j.diffusion.LossWeighting weighting) {
    TrainConfig c = config(data, steps);
    return new TrainConfig(c.data(), c.imageSize(), c.limit(), c.flip(), c.model(), c.schedule(), c.timesteps(), c.betaStart(),
        c.betaEnd(), c.batchSize(), c.trainSteps(), c.lr(), c.warmupSteps(), c.gradClip(), c.emaDecay(), c.emaWarmup(), c.seed(),
        c.precision(), prediction, weighting, 5.0, c.lrSchedule(), c.gradAccumulation(), c.pUncond());
  }

  /** @return output into {@code dir}, checkpoints every 3 steps, a 4-image grid every 1000 steps and at the end */
  public static Trainer.Output output(Path dir) {
    return new Trainer.Output(dir, 3, 1000, 4, ddim(3), false);
  }

  /** @return DDIM with {@code samplingSteps} steps and eta 0, as sample grids use it */
  public static io.github.ddpm4j.diffusion.SamplerOptions ddim(int samplingSteps) {
    return new io.github.ddpm4j.diffusion.SamplerOptions(io.github.ddpm4j.diffusion.SamplerType.DDIM, samplingSteps, 0.0);
  }

  /** @return a trainer on the CPU whose messages go to {@code log} */
  public static Trainer trainer(TrainConfig config, Path out, StringWriter log) {
    return new Trainer(config, output(out), Device.CPU, new PrintWriter(log, true));
  }

  /** Trains {@code steps} steps into {@code out} and returns the checkpoint file. */
  public static Path train(Path data, Path out, long steps) throws IOException {
    Trainer t = trainer(config(data, steps), out, new StringWriter());
    t.run(Trainer.Mode.NEW);
    return t.checkpointFile();
  }

  /**
   * Trains the tiny model for two steps on the fixture data, both written below {@code dir}, and loads it to sample from.
   *
   * @return the pipeline on the CPU; the caller closes it
   */
  public static io.github.ddpm4j.pipeline.DDPMPipeline pipeline(Path dir) throws IOException {
    return io.github.ddpm4j.pipeline.DDPMPipeline.fromCheckpoint(checkpoint(dir), Device.CPU);
  }

  /** @return the checkpoint of the tiny model after two steps on the fixture data, both made below {@code dir} */
  public static Path checkpoint(Path dir) throws IOException {
    return train(data(dir.resolve("data")), dir.resolve("run"), 2);
  }

  /**
   * @param checkpoint a checkpoint written by {@link Checkpoint#save}
   * @return the bytes of its largest EMA weight, which the file stores in a record of its own
   */
  public static byte[] largestEmaWeight(Path checkpoint) throws IOException {
    try (StateDict ck = StateDict.loadPyTorch(checkpoint); Scope s = Scope.open()) {
      Tensor w = Checkpoint.weights(ck, "ema.").values().stream().max(Comparator.comparingLong(Tensor::nbytes)).orElseThrow();
      return w.contiguous().data().toArray(ValueLayout.JAVA_BYTE);
    }
  }
}
