package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.data.IdxReader;
import io.github.ddpm4j.diffusion.LossWeighting;
import io.github.ddpm4j.diffusion.PredictionType;
import io.github.ddpm4j.diffusion.ScheduleType;
import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Training a class-conditional model: labels reach the loss, the run resumes bit for bit, missing labels are refused. */
class ClassConditionalTrainingTest extends TorchTestBase {
  @TempDir Path dir;

  /** Writes the fixture's 20 images of 8x8 with labels i mod 3 beside them. */
  static Path labelledData(Path dir) throws IOException {
    TrainFixtures.data(dir);
    byte[] labels = new byte[20];
    for (int i = 0; i < 20; i++) labels[i] = (byte) (i % 3);
    byte[] file = ByteBuffer.allocate(8 + 20).putInt(IdxReader.LABELS_MAGIC).putInt(20).put(labels).array();
    Files.write(dir.resolve("train-labels-idx1-ubyte.gz"), IdxFiles.gzip(file));
    return dir;
  }

  /** The tiny fixture run with a 3-class model and half the labels dropped. */
  static TrainConfig config(Path data, long steps, int classes) {
    return new TrainConfig(data.toString(), 8, 0, true, TrainFixtures.TINY.withNumClasses(classes), ScheduleType.LINEAR, 50, 1e-4, 0.02, 8,
        steps, 2e-3, 3, 1.0, 0.9, true, 7, Precision.FP32, PredictionType.EPSILON, LossWeighting.UNIFORM, TrainConfig.DEFAULT_SNR_GAMMA,
        LrSchedule.CONSTANT, 1, 0.5);
  }

  /**
   * Gradient accumulation draws the label drops of one large batch, as it draws its timesteps and noise: with
   * dropout 0, two micro-batches of 4 of a conditional model train the weights of one batch of 8 up to float
   * rounding. 16 images, so that the epochs end at the same steps.
   */
  @Test
  void twoConditionalMicroBatchesOfFourTrainAsOneBatchOfEight() throws IOException {
    Path data = labelledData(dir.resolve("data"));
    UNetConfig m = TrainFixtures.TINY.withNumClasses(3);
    UNetConfig model = new UNetConfig(m.imageChannels(), m.nChannels(), m.chMults(), m.isAttn(), m.nBlocks(), 0.0, m.nGroups(),
        m.finalGroups(), 3);
    java.util.function.BiFunction<Integer, Integer, TrainConfig> config = (batch, accumulation) -> new TrainConfig(data.toString(), 8,
        16, false, model, ScheduleType.LINEAR, 50, 1e-4, 0.02, batch, 4, 2e-3, 3, 1.0, 0.9, true, 7, Precision.FP32,
        PredictionType.EPSILON, LossWeighting.UNIFORM, TrainConfig.DEFAULT_SNR_GAMMA, LrSchedule.CONSTANT, accumulation, 0.5);
    Path big = dir.resolve("big"), accumulated = dir.resolve("accumulated");
    assertEquals(4, TrainFixtures.trainer(config.apply(8, 1), big, new StringWriter()).run(Trainer.Mode.NEW));
    assertEquals(4, TrainFixtures.trainer(config.apply(4, 2), accumulated, new StringWriter()).run(Trainer.Mode.NEW));
    double[] diff = DistributedTrainingTest.relativeDifference(big.resolve("checkpoint.pt"), accumulated.resolve("checkpoint.pt"), "model.");
    assertTrue(diff[1] <= 1e-6, "conditional weights of 2 x 4 and 8 differ by " + diff[1]);
  }

  @Test
  void aConditionalRunStoppedAndResumedIsBitIdenticalToAnUninterruptedOne() throws IOException {
    Path data = labelledData(dir.resolve("data"));
    Trainer whole = TrainFixtures.trainer(config(data, 5, 3), dir.resolve("whole"), new StringWriter());
    assertEquals(5, whole.run(Trainer.Mode.NEW));

    Trainer first = TrainFixtures.trainer(config(data, 5, 3), dir.resolve("split"), new StringWriter());
    first.onStep(step -> {
      if (step == 2) first.requestStop();
    });
    assertEquals(2, first.run(Trainer.Mode.NEW));
    Trainer second = TrainFixtures.trainer(config(data, 5, 3), dir.resolve("split"), new StringWriter());
    assertEquals(5, second.run(Trainer.Mode.RESUME));

    try (StateDict a = StateDict.load(whole.checkpointFile()); StateDict b = StateDict.load(second.checkpointFile())) {
      assertEquals(a.keySet(), b.keySet());
      assertArrayEquals(new long[] {4, 32}, a.get("model.class_emb.weight").shape(), "the model is conditional");
      int compared = 0;
      for (String k : a.keySet()) {
        if (k.equals("optimizer")) continue; // keyed by tensor addresses; the weights after the resumed steps depend on it
        Tensor x = a.get(k), y = b.get(k);
        assertTrue(x.equal(y), () -> k + " differs");
        compared++;
      }
      assertTrue(compared > 40, "weights, EMA and generators compared");
    }
    assertEquals(Files.readAllLines(dir.resolve("whole/loss.csv")).stream().map(l -> l.split(",")[1]).toList(),
        Files.readAllLines(dir.resolve("split/loss.csv")).stream().map(l -> l.split(",")[1]).toList());
  }

  @Test
  void theLabelsChangeTheTraining() throws IOException {
    // the same run with pUncond 0 and 1 (every label dropped) must train differently: the labels reach the model
    Path data = labelledData(dir.resolve("data"));
    List<String> kept = lossesOf(data, 0.0, "kept");
    List<String> dropped = lossesOf(data, 1.0, "dropped");
    assertTrue(!kept.equals(dropped), kept + " vs " + dropped);
  }

  private List<String> lossesOf(Path data, double pUncond, String name) throws IOException {
    TrainConfig c = config(data, 2, 3);
    c = new TrainConfig(c.data(), c.imageSize(), c.limit(), c.flip(), c.model(), c.schedule(), c.timesteps(), c.betaStart(), c.betaEnd(),
        c.batchSize(), c.trainSteps(), c.lr(), c.warmupSteps(), c.gradClip(), c.emaDecay(), c.emaWarmup(), c.seed(), c.precision(),
        c.prediction(), c.lossWeighting(), c.snrGamma(), c.lrSchedule(), c.gradAccumulation(), pUncond);
    TrainFixtures.trainer(c, dir.resolve(name), new StringWriter()).run(Trainer.Mode.NEW);
    return Files.readAllLines(dir.resolve(name + "/loss.csv")).stream().skip(1).map(l -> l.split(",")[1]).toList();
  }

  @Test
  void aConditionalModelOnDataWithoutLabelsOrWithOtherClassesIsRefused() throws IOException {
    Path unlabelled = TrainFixtures.data(dir.resolve("plain"));
    Trainer t = TrainFixtures.trainer(config(unlabelled, 2, 3), dir.resolve("a"), new StringWriter());
    InvalidSettingException none = assertThrows(InvalidSettingException.class, () -> t.run(Trainer.Mode.NEW));
    assertTrue(none.getMessage().contains("has none"), none.getMessage());
    Path data = labelledData(dir.resolve("data"));
    Trainer other = TrainFixtures.trainer(config(data, 2, 5), dir.resolve("b"), new StringWriter());
    InvalidSettingException classes = assertThrows(InvalidSettingException.class, () -> other.run(Trainer.Mode.NEW));
    assertTrue(classes.getMessage().contains("3 classes"), classes.getMessage());
  }
}
