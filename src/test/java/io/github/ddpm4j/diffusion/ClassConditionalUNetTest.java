package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The class embedding of a class-conditional {@link UNet} (Ho &amp; Salimans 2022). */
class ClassConditionalUNetTest extends TorchTestBase {
  /** 8 base channels (time embedding 32), two levels, attention on the second. */
  static final UNetConfig TINY = new UNetConfig(1, 8, List.of(1, 2), List.of(false, true), 1, 0.0, 4, 4);

  private static Tensor x(int batch) {
    try (Generator g = new Generator(11)) {
      return Torch.randn(new long[] {batch, 1, 8, 8}, DType.FLOAT32, Device.CPU, g);
    }
  }

  /** @return the largest absolute difference */
  static double maxDiff(Tensor a, Tensor b) {
    try (Scope s = Scope.open()) {
      return a.sub(b).abs().amax().item();
    }
  }

  @Test
  void aConditionalUNetHasAClassTableWithANoClassRowAndAnUnconditionalOneHasNone() {
    try (UNet cond = new UNet(TINY.withNumClasses(3)); UNet uncond = new UNet(TINY)) {
      assertArrayEquals(new long[] {4, 32}, cond.stateDict().get("class_emb.weight").shape());
      assertEquals(3, cond.numClasses());
      assertFalse(uncond.stateDict().keySet().stream().anyMatch(k -> k.startsWith("class_emb")), "no class parameter");
      assertEquals(0, uncond.numClasses());
      assertEquals(uncond.parameterCount() + 4 * 32, cond.parameterCount());
    }
  }

  @Test
  void theTableStartsStandardNormalAsTorchNnEmbedding() {
    Torch.manualSeed(5);
    try (UNet cond = new UNet(TINY.withNumClasses(999)); Scope s = Scope.open()) {
      Tensor w = cond.stateDict().get("class_emb.weight");
      assertEquals(1000 * 32, w.numel());
      // 32000 draws of N(0, 1): the mean's standard error is 0.0056, the std's 0.004
      assertEquals(0.0, w.mean().item(), 0.03);
      assertEquals(1.0, w.std().item(), 0.03);
    }
  }

  /**
   * The class row is added to the time embedding after lin2: the conditional network for label c must equal an
   * unconditional network with the same weights whose lin2 bias has the row of c added (an independent way to
   * compute the same function).
   */
  @Test
  void theClassRowIsAddedToTheTimeEmbedding() {
    try (UNet cond = new UNet(TINY.withNumClasses(3)); UNet uncond = new UNet(TINY); Scope s = Scope.open()) {
      cond.eval();
      uncond.eval();
      Tensor x = x(2);
      Tensor t = Torch.tensor(new long[] {3, 17}, 2);
      Map<String, Tensor> weights = cond.stateDict();
      Tensor table = weights.get("class_emb.weight");
      for (int c = 0; c <= 3; c++) {
        Map<String, Tensor> folded = new HashMap<>(weights);
        folded.remove("class_emb.weight");
        folded.put("time_emb.lin2.bias", weights.get("time_emb.lin2.bias").add(table.narrow(0, c, 1).reshape(32)));
        uncond.loadStateDict(folded);
        Tensor expected = uncond.forward(x, t);
        Tensor labels = Torch.tensor(new long[] {c, c}, 2);
        assertEquals(0.0, maxDiff(cond.forward(x, t, labels), expected), 1e-5, "label " + c);
        if (c == 3) {
          assertEquals(0.0, maxDiff(cond.forward(x, t), expected), 1e-5, "no labels: the no-class row");
          assertEquals(0.0, maxDiff(cond.epsTheta(x, t), expected), 1e-5, "epsTheta(xt, t): unconditional");
        }
      }
    }
  }

  @Test
  void gradientsReachOnlyTheRowsOfTheLabelsUsed() {
    try (UNet cond = new UNet(TINY.withNumClasses(3)); Scope s = Scope.open()) {
      cond.forward(x(2), Torch.tensor(new long[] {1, 2}, 2), Torch.tensor(new long[] {0, 2}, 2)).sum().backward();
      Tensor grad = cond.namedParameters().get("class_emb.weight").grad();
      float[] rowNorms = grad.abs().sum(new long[] {1}, false).toFloatArray();
      assertTrue(rowNorms[0] > 0 && rowNorms[2] > 0, "used rows");
      assertEquals(0f, rowNorms[1], "unused class");
      assertEquals(0f, rowNorms[3], "unused no-class row");
    }
  }

  @Test
  void badLabelsAreRefusedNamingThem() {
    try (UNet cond = new UNet(TINY.withNumClasses(3)); UNet uncond = new UNet(TINY); Scope s = Scope.open()) {
      Tensor x = x(2);
      Tensor t = Torch.tensor(new long[] {1, 2}, 2);
      IllegalArgumentException high = assertThrows(IllegalArgumentException.class, () -> cond.forward(x, t, Torch.tensor(new long[] {0, 4}, 2)));
      assertTrue(high.getMessage().contains("0..3") && high.getMessage().contains("classLabels"), high.getMessage());
      IllegalArgumentException low = assertThrows(IllegalArgumentException.class, () -> cond.forward(x, t, Torch.tensor(new long[] {-1, 0}, 2)));
      assertTrue(low.getMessage().contains("0..3"), low.getMessage());
      IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> cond.forward(x, t, Torch.tensor(new long[] {0, 1, 2}, 3)));
      assertTrue(shape.getMessage().contains("[batch] = [2]"), shape.getMessage());
      IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class, () -> cond.forward(x, t, Torch.tensor(new int[] {0, 1}, 2)));
      assertTrue(dtype.getMessage().contains("int64"), dtype.getMessage());
      IllegalArgumentException unconditional = assertThrows(IllegalArgumentException.class,
          () -> uncond.forward(x, t, Torch.tensor(new long[] {0, 1}, 2)));
      assertTrue(unconditional.getMessage().contains("unconditional"), unconditional.getMessage());
    }
  }
}
