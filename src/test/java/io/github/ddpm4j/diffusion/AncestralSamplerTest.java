package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.NoiseScheduleTest.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class AncestralSamplerTest extends TorchTestBase {
  private static final int T = 50;
  private static final double MU = -0.2;
  private static final double S_DATA = 0.4;
  private static final long N = 8000;
  private static final long[] SHAPE = {1, 1, 1};
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear(T, 1e-3, 0.2);
  private static final EpsilonModel model = AnalyticModels.gaussianData(schedule, MU, S_DATA);

  /** Records the model's mode and the grad mode it was called under. */
  static final class ModeProbe extends Module implements EpsilonModel {
    final List<Boolean> training = new ArrayList<>();
    final List<Boolean> inference = new ArrayList<>();

    @Override
    public Tensor epsTheta(Tensor xt, Tensor t) {
      training.add(isTraining());
      inference.add(GradMode.isInferenceMode());
      return Torch.zerosLike(xt);
    }
  }

  @Test
  void outputLawMatchesTheExactChain() {
    // With this model each step is x' = A x + B + sigma z, so the output is exactly N(m, v)
    // with m and v carried through the T steps from x_T ~ N(0, 1).
    for (VarianceType type : VarianceType.values()) {
      double m = 0, v = 1;
      for (int t = T - 1; t >= 0; t--) {
        double ab = schedule.alphaBar(t);
        double beta = schedule.beta(t);
        double g = Math.sqrt(1 - ab) / (ab * S_DATA * S_DATA + 1 - ab);
        double a = (1 - beta * g / Math.sqrt(1 - ab)) / Math.sqrt(1 - beta);
        double b = beta * g * Math.sqrt(ab) * MU / (Math.sqrt(1 - ab) * Math.sqrt(1 - beta));
        double sigma2 = t == 0 ? 0 : type == VarianceType.FIXED_LARGE ? beta : schedule.posteriorVariance(t);
        m = a * m + b;
        v = a * a * v + sigma2;
      }
      try (Scope scope = Scope.open()) {
        Tensor x = new AncestralSampler(new GaussianDiffusion(model, schedule, type, false)).sample(N, SHAPE, 3, Progress.NONE);
        assertEquals(m, x.mean().item(), 6 * Math.sqrt(v / N), type + " mean");
        assertEquals(1.0, x.var().item() / v, 6 * Math.sqrt(2.0 / N), type + " variance");
      }
    }
  }

  @Test
  void seedsMakeItReproducibleAndProgressIsReported() {
    try (Scope scope = Scope.open()) {
      AncestralSampler sampler = new AncestralSampler(new GaussianDiffusion(model, schedule));
      List<int[]> reports = new ArrayList<>();
      Tensor a = sampler.sample(4, new long[] {1, 2, 2}, 17, (Progress) (done, total) -> reports.add(new int[] {done, total}));
      assertArrayEquals(new long[] {4, 1, 2, 2}, a.shape());
      assertEquals(T, reports.size());
      for (int i = 0; i < T; i++) assertArrayEquals(new int[] {i + 1, T}, reports.get(i));
      assertTrue(a.equal(sampler.sample(4, new long[] {1, 2, 2}, 17, Progress.NONE)));
      assertFalse(a.equal(sampler.sample(4, new long[] {1, 2, 2}, 18, Progress.NONE)));
    }
  }

  @Test
  void runsInInferenceModeWithTheModelInEvalMode() {
    try (ModeProbe probe = new ModeProbe(); Scope scope = Scope.open()) {
      AncestralSampler sampler = new AncestralSampler(new GaussianDiffusion(probe, schedule));
      sampler.sample(1, SHAPE, 1, Progress.NONE);
      assertEquals(T, probe.training.size());
      assertFalse(probe.training.contains(true));
      assertFalse(probe.inference.contains(false));
      assertTrue(probe.isTraining(), "training mode is restored");
      assertFalse(GradMode.isInferenceMode());
      probe.eval();
      sampler.sample(1, SHAPE, 1, Progress.NONE);
      assertFalse(probe.isTraining(), "an evaluating model stays evaluating");
    }
  }

  @Test
  void denoiseRunsFromTheGivenStep() {
    try (Scope scope = Scope.open(); Generator g = new Generator(2)) {
      AncestralSampler sampler = new AncestralSampler(new GaussianDiffusion(model, schedule));
      int[] count = {0};
      Tensor out = sampler.denoise(Torch.randn(3, 1, 1, 1), 9, g, (Progress) (done, total) -> {
        count[0]++;
        assertEquals(10, total);
      });
      assertEquals(10, count[0]);
      assertArrayEquals(new long[] {3, 1, 1, 1}, out.shape());
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class,
          () -> sampler.denoise(Torch.randn(3, 1, 1, 1), T, g, Progress.NONE)));
    }
  }

  @Test
  void onlyTheResultOutlivesTheRun() {
    AncestralSampler sampler = new AncestralSampler(new GaussianDiffusion(model, schedule, VarianceType.FIXED_SMALL, true));
    long before = Torch.liveHandles(Torch.HandleKind.TENSOR);
    Tensor x = sampler.sample(2, new long[] {1, 2, 2}, 5, Progress.NONE);
    assertEquals(before + 1, Torch.liveHandles(Torch.HandleKind.TENSOR));
    x.close();
    assertEquals(before, Torch.liveHandles(Torch.HandleKind.TENSOR));
  }

  @Test
  void badArgumentsNameTheParameter() {
    AncestralSampler sampler = new AncestralSampler(new GaussianDiffusion(model, schedule));
    assertStartsWith("n ", assertThrows(IllegalArgumentException.class, () -> sampler.sample(-1, SHAPE, 1, Progress.NONE)));
    assertStartsWith("imageShape ", assertThrows(IllegalArgumentException.class,
        () -> sampler.sample(1, new long[0], 1, Progress.NONE)));
  }
}
