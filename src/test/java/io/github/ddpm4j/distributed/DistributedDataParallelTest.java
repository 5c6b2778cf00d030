package io.github.ddpm4j.distributed;

import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.nn.Linear;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link DistributedDataParallel} on two child JVMs whose modules start from different weights
 * ({@link RankMain.Net}): after construction both hold rank 0's parameters and buffers; after
 * {@link DistributedDataParallel#averageGradients()} both hold the mean of the two ranks' own
 * gradients, computed here from what each rank printed, a missing gradient counting as zeros.
 */
class DistributedDataParallelTest extends TorchTestBase {
  @TempDir Path dir;

  @Test
  void ranksStartFromRankZeroAndStepWithTheMeanGradient() throws Exception {
    List<Ranks.Outcome> ranks = Ranks.group(Duration.ofSeconds(150), "ddp", 2, "tcp:" + Ranks.freePort(), 60_000);
    Ranks.Outcome r0 = ranks.get(0);
    Ranks.Outcome r1 = ranks.get(1);
    assertEquals(0, r0.code(), r0::describe);
    assertEquals(0, r1.code(), r1::describe);

    List<String> state = List.of("a.weight", "a.bias", "b.weight", "b.bias", "extra.weight", "extra.bias", "scale");
    for (String name : state) {
      assertNotEquals(r0.value("init." + name), r1.value("init." + name), "the ranks start from different " + name);
      assertEquals(r0.value("init." + name), r0.value("synced." + name), "rank 0 keeps its " + name);
      assertEquals(r0.value("init." + name), r1.value("synced." + name), "rank 1 gets rank 0's " + name);
    }

    assertEquals("none", r1.value("local.extra.weight"), "rank 1's forward pass does not use extra");
    for (String name : state.subList(0, 6)) {
      float[] g0 = parse(r0.value("local." + name));
      float[] g1 = r1.value("local." + name).equals("none") ? new float[g0.length] : parse(r1.value("local." + name));
      float[] mean = new float[g0.length];
      for (int i = 0; i < mean.length; i++) mean[i] = (g0[i] + g1[i]) / 2;
      assertArrayEquals(mean, parse(r0.value("avg." + name)), 1e-6f, "rank 0's averaged " + name);
      assertArrayEquals(mean, parse(r1.value("avg." + name)), 1e-6f, "rank 1's averaged " + name);
    }
  }

  @Test
  void ranksWithDifferentModelsAreRefused() throws Exception {
    List<Ranks.Outcome> ranks = Ranks.group(Duration.ofSeconds(150), "ddp-mismatch", 2, "tcp:" + Ranks.freePort(), 60_000);
    for (Ranks.Outcome r : ranks) {
      assertEquals(3, r.code(), r::describe);
      assertEquals("FAILED", r.value("error.reason"), r::describe);
      assertTrue(r.value("error.message").contains("the ranks' modules differ"), r::describe);
    }
    // rank 0 has Linear(3, 2): 8 elements; rank 1 Linear(3, 3): 12
    assertTrue(ranks.get(0).value("error.message").contains("8 state-dict elements here, 12 on rank 1"), ranks.get(0)::describe);
    assertTrue(ranks.get(1).value("error.message").contains("12 state-dict elements here, 8 on rank 0"), ranks.get(1)::describe);
  }

  private static float[] parse(String csv) {
    String[] parts = csv.split(",");
    float[] out = new float[parts.length];
    for (int i = 0; i < parts.length; i++) out[i] = Float.parseFloat(parts[i]);
    return out;
  }

  @Test
  void aGroupOfOneLeavesWeightsAndGradientsAlone() {
    try (ProcessGroup g = ProcessGroup.initProcessGroup("gloo", dir.resolve("one"), 0, 1, Duration.ofSeconds(20));
         Linear layer = new Linear(3, 2)) {
      float[] weight = layer.stateDict().get("weight").toFloatArray();
      DistributedDataParallel ddp = new DistributedDataParallel(layer, g);
      assertSame(layer, ddp.module());
      assertSame(g, ddp.group());
      assertArrayEquals(weight, layer.stateDict().get("weight").toFloatArray());
      layer.forward(Torch.ones(1, 3)).sum().backward();
      layer.parameters().get(1).setGrad(null); // a parameter without a gradient gets zeros
      float[] grad = layer.parameters().get(0).grad().toFloatArray();
      ddp.averageGradients();
      assertArrayEquals(grad, layer.parameters().get(0).grad().toFloatArray());
      Tensor biasGrad = layer.parameters().get(1).grad();
      assertNotNull(biasGrad, "a missing gradient becomes zeros");
      assertArrayEquals(new float[] {0, 0}, biasGrad.toFloatArray());
    }
  }
}
