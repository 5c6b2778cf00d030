package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Precision;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bfloat16 autocast against float32 on the CPU: the same run (same data order, timesteps and
 * noise) in both precisions. bfloat16 keeps 8 bits of mantissa, so single losses differ by
 * about 1%, and the trajectories drift apart slowly; over 60 steps the mean loss of each
 * block of 20 steps stays within 2% of float32's (measured: 0.05% on LibTorch 1.13 and 2.13).
 */
class MixedPrecisionTest {
  private static final int STEPS = 60;
  @TempDir static Path dir;
  private static Path data;

  @BeforeAll
  static void makeData() throws IOException {
    TorchTestBase.useTestThreads();
    data = TrainFixtures.data(dir.resolve("data"));
  }

  private static TrainConfig config(Precision p) {
    TrainConfig c = TrainFixtures.config(data, STEPS);
    return new TrainConfig(c.data(), c.imageSize(), c.limit(), c.flip(), c.model(), c.schedule(), c.timesteps(), c.betaStart(),
        c.betaEnd(), c.batchSize(), c.trainSteps(), c.lr(), c.warmupSteps(), c.gradClip(), c.emaDecay(), c.emaWarmup(), c.seed(), p);
  }

  private static double[] losses(Path run) throws IOException {
    List<String> rows = Files.readAllLines(run.resolve("loss.csv"));
    return rows.stream().skip(1).mapToDouble(r -> Double.parseDouble(r.split(",")[1])).toArray();
  }

  @Test
  void bfloat16LossCurveStaysWithinTwoPercentOfFloat32() throws IOException {
    Path fp32 = dir.resolve("fp32"), bf16 = dir.resolve("bf16");
    TrainFixtures.trainer(config(Precision.FP32), fp32, new StringWriter()).run(Trainer.Mode.NEW);
    TrainFixtures.trainer(config(Precision.BF16), bf16, new StringWriter()).run(Trainer.Mode.NEW);
    double[] a = losses(fp32), b = losses(bf16);
    assertEquals(STEPS, a.length);
    assertEquals(STEPS, b.length);
    boolean differ = false;
    StringBuilder report = new StringBuilder();
    for (int block = 0; block < STEPS / 20; block++) {
      double ma = 0, mb = 0;
      for (int i = block * 20; i < block * 20 + 20; i++) {
        ma += a[i] / 20;
        mb += b[i] / 20;
        differ |= a[i] != b[i];
      }
      report.append(String.format(java.util.Locale.ROOT, " steps %d-%d: fp32 %.4f bf16 %.4f;", block * 20, block * 20 + 19, ma, mb));
      assertTrue(Math.abs(mb - ma) <= 0.02 * ma, "mean loss of block " + block + ":" + report);
    }
    assertTrue(differ, "bfloat16 really ran: some loss differs from float32's");
    System.out.println("mixed precision:" + report);
    try (StateDict ck = Checkpoint.open(bf16.resolve("checkpoint.pt"))) {
      assertEquals(Precision.BF16, Checkpoint.config(ck).precision(), "the checkpoint records the precision");
    }
  }

  @Test
  void float16NeedsCuda() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainFixtures.trainer(config(Precision.FP16), dir.resolve("fp16"), new StringWriter()).run(Trainer.Mode.NEW));
    assertTrue(e.getMessage().contains("fp16 precision needs a CUDA device"), e.getMessage());
    assertTrue(!Files.exists(dir.resolve("fp16").resolve("checkpoint.pt")), "nothing was written");
  }
}
