package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.NoiseScheduleTest.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class InterpolatorTest extends TorchTestBase {
  private static final int T = 60;
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear(T, 1e-3, 0.15);

  private static Tensor image(double... v) {
    return Torch.tensor(v, 1, 1, 2, 2).to(DType.FLOAT32);
  }

  @Test
  void noisesBothToTAndDenoisesFromT() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.1, 0.6), schedule);
      Tensor x1 = image(-0.5, 0.2, 0.7, -0.9);
      Tensor x2 = image(0.8, -0.3, 0.0, 0.4);
      int t = 25;
      double lambda = 0.35;
      int[] steps = {0};
      Tensor got;
      try (Generator g = new Generator(8)) {
        got = new Interpolator(diffusion).interpolate(x1, x2, lambda, t, g, (Progress) (done, total) -> {
          steps[0]++;
          assertEquals(t + 1, total);
        });
      }
      assertEquals(t + 1, steps[0], "steps t, t-1, ..., 0");
      Tensor expected;
      try (Generator g = new Generator(8)) {
        Tensor eps = Torch.randnLike(x1, g);
        Tensor ts = diffusion.tBatch(t, x1);
        Tensor xt = diffusion.qSample(x1, ts, eps).mul(1 - lambda).add(diffusion.qSample(x2, ts, eps).mul(lambda));
        expected = new AncestralSampler(diffusion).denoise(xt, t, g, Progress.NONE);
      }
      assertTrue(got.equal(expected));
    }
  }

  @Test
  void endpointsComeBackWithAnOracle() {
    try (Scope scope = Scope.open()) {
      Tensor x1 = image(-0.5, 0.2, 0.7, -0.9);
      Tensor x2 = image(0.8, -0.3, 0.0, 0.4);
      for (double lambda : new double[] {0, 1}) {
        Tensor target = lambda == 0 ? x1 : x2;
        GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.oracle(schedule, target), schedule);
        try (Generator g = new Generator(4)) {
          Tensor out = new Interpolator(diffusion).interpolate(x1, x2, lambda, T - 1, g, Progress.NONE);
          assertTrue(out.sub(target).abs().amax().item() < 1e-4, "lambda " + lambda);
        }
      }
    }
  }

  @Test
  void badArgumentsNameTheParameter() {
    try (Scope scope = Scope.open(); Generator g = new Generator(0)) {
      Interpolator interpolator = new Interpolator(new GaussianDiffusion(AnalyticModels.constant(0), schedule));
      Tensor x = image(0, 0, 0, 0);
      assertStartsWith("lambda ", assertThrows(IllegalArgumentException.class,
          () -> interpolator.interpolate(x, x, 1.5, 3, g, Progress.NONE)));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class,
          () -> interpolator.interpolate(x, x, 0.5, T, g, Progress.NONE)));
      assertStartsWith("x2 ", assertThrows(IllegalArgumentException.class,
          () -> interpolator.interpolate(x, Torch.zeros(1, 1, 2, 3), 0.5, 3, g, Progress.NONE)));
      assertStartsWith("x1 ", assertThrows(IllegalArgumentException.class,
          () -> interpolator.interpolate(Torch.arange(4), x, 0.5, 3, g, Progress.NONE)));
    }
  }
}
