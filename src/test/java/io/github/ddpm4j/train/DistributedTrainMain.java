package io.github.ddpm4j.train;

import io.github.ddpm4j.distributed.ProcessGroup;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One process of a data-parallel run of the tiny fixture model, for {@link DistributedTrainingTest}:
 * trains {@link TrainFixtures#config} with the given steps, batch and dropout on one intra-op thread,
 * checkpointing every {@code CHECKPOINT_EVERY} steps, then prints {@code done=STEPS} and the
 * fingerprints of its weights ({@code weights=}, {@code ema=}, {@code fingerprint_step=}).
 *
 * <p>Arguments: {@code DATA OUT STEPS BATCH DROPOUT new|resume CHECKPOINT_EVERY single|env TIMEOUT_SECONDS}:
 * {@code single} trains alone, {@code env} joins the group that torchrun's variables describe (Gloo). An optional
 * tenth argument {@code ACCUMULATION} sets the micro-batches per step (default 1), and an optional eleventh
 * {@code CLASSES} trains a class-conditional model of that many classes with {@code pUncond = 0.5} (the data then
 * needs labels).
 */
public final class DistributedTrainMain {
  private DistributedTrainMain() {}

  /** @return the fixture configuration with another batch size and dropout */
  static TrainConfig config(Path data, long steps, int batch, double dropout) {
    return config(data, steps, batch, dropout, 1);
  }

  /** @return the fixture configuration with another batch size, dropout and number of micro-batches per step */
  static TrainConfig config(Path data, long steps, int batch, double dropout, int accumulation) {
    TrainConfig c = TrainFixtures.config(data, steps);
    var m = TrainFixtures.TINY;
    var model = new io.github.ddpm4j.diffusion.UNetConfig(m.imageChannels(), m.nChannels(), m.chMults(), m.isAttn(), m.nBlocks(), dropout,
        m.nGroups(), m.finalGroups());
    return new TrainConfig(c.data(), c.imageSize(), c.limit(), c.flip(), model, c.schedule(), c.timesteps(), c.betaStart(), c.betaEnd(), batch,
        steps, c.lr(), c.warmupSteps(), c.gradClip(), c.emaDecay(), c.emaWarmup(), c.seed(), c.precision(), c.prediction(),
        c.lossWeighting(), c.snrGamma(), c.lrSchedule(), accumulation, c.pUncond());
  }

  public static void main(String[] args) throws Exception {
    Path data = Path.of(args[0]);
    Path out = Path.of(args[1]);
    long steps = Long.parseLong(args[2]);
    int batch = Integer.parseInt(args[3]);
    double dropout = Double.parseDouble(args[4]);
    Trainer.Mode mode = args[5].equals("resume") ? Trainer.Mode.RESUME : Trainer.Mode.NEW;
    long every = Long.parseLong(args[6]);
    boolean single = args[7].equals("single");
    Duration timeout = Duration.ofSeconds(Long.parseLong(args[8]));
    int accumulation = args.length > 9 ? Integer.parseInt(args[9]) : 1;
    Torch.setNumThreads(1);
    PrintWriter log = new PrintWriter(System.out, true);
    TrainConfig config = config(data, steps, batch, dropout, accumulation);
    if (args.length > 10) {
      TrainConfig c = config;
      config = new TrainConfig(c.data(), c.imageSize(), c.limit(), c.flip(), c.model().withNumClasses(Integer.parseInt(args[10])), c.schedule(),
          c.timesteps(), c.betaStart(), c.betaEnd(), c.batchSize(), c.trainSteps(), c.lr(), c.warmupSteps(), c.gradClip(), c.emaDecay(),
          c.emaWarmup(), c.seed(), c.precision(), c.prediction(), c.lossWeighting(), c.snrGamma(), c.lrSchedule(), c.gradAccumulation(), 0.5);
    }
    Trainer t = new Trainer(config, new Trainer.Output(out, every, 0, 4, TrainFixtures.ddim(3), false),
        Device.CPU, log);
    long done;
    if (single) {
      done = t.run(mode);
    } else {
      try (ProcessGroup group = ProcessGroup.initProcessGroup("gloo", timeout)) {
        done = t.distributed(group).run(mode);
      }
    }
    Trainer.Fingerprints f = t.fingerprints();
    System.out.println("done=" + done);
    System.out.println("fingerprint_step=" + f.step());
    System.out.println("weights=" + f.weights());
    System.out.println("ema=" + f.ema());
  }
}
