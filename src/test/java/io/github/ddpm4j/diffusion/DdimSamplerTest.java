package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.NoiseScheduleTest.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class DdimSamplerTest extends TorchTestBase {
  private static final int T = 50;
  private static final double MU = 0.3;
  private static final double S_DATA = 0.5;
  private static final long N = 8000;
  private static final long[] SHAPE = {1, 1, 1};
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear(T, 1e-3, 0.2);
  private static final GaussianDiffusion small =
      new GaussianDiffusion(AnalyticModels.gaussianData(schedule, MU, S_DATA), schedule, VarianceType.FIXED_SMALL, false);

  private static double[] meanVar(Tensor x) {
    try (Scope scope = Scope.open()) {
      return new double[] {x.mean().item(), x.var().item()};
    }
  }

  @Test
  void timestepsAreEvenlySpaced() {
    int[] all = new DdimSampler(small, T, 0).tau();
    for (int i = 0; i < T; i++) assertEquals(i, all[i]);
    assertArrayEquals(new int[] {0, 5, 10, 15, 20, 25, 30, 35, 40, 45}, new DdimSampler(small, 10, 0).tau());
    assertArrayEquals(new int[] {0, 16, 33}, new DdimSampler(small, 3, 0).tau());
    assertArrayEquals(new int[] {0}, new DdimSampler(small, 1, 0).tau());
  }

  @Test
  void etaOneWithAllStepsIsAncestralSamplingWithPosteriorVariance() {
    try (Scope scope = Scope.open()) {
      Tensor ddim = new DdimSampler(small, T, 1.0).sample(N, SHAPE, 42, Progress.NONE);
      Tensor ancestral = new AncestralSampler(small).sample(N, SHAPE, 42, Progress.NONE);
      // Same noise, same chain: equal up to float32 rounding.
      double pathGap = ddim.sub(ancestral).abs().amax().item();
      assertTrue(pathGap < 1e-4, "largest difference along the same noise: " + pathGap);

      // In distribution, with independent noise.
      Tensor other = new AncestralSampler(small).sample(N, SHAPE, 43, Progress.NONE);
      double[] d = meanVar(ddim);
      double[] a = meanVar(other);
      double seMean = Math.sqrt(S_DATA * S_DATA / N);
      assertEquals(a[0], d[0], 6 * seMean, "means");
      assertEquals(1.0, d[1] / a[1], 6 * Math.sqrt(4.0 / N), "variance ratio");
      // Both recover the data distribution N(MU, S_DATA^2) that the analytic model denoises towards.
      assertEquals(MU, d[0], 0.03);
      assertEquals(S_DATA * S_DATA, d[1], 0.04);
    }
  }

  @Test
  void etaOneDiffersFromFixedLargeAncestralPath() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion large = new GaussianDiffusion(small.epsModel(), schedule, VarianceType.FIXED_LARGE, false);
      Tensor ddim = new DdimSampler(large, T, 1.0).sample(64, SHAPE, 42, Progress.NONE);
      Tensor ancestral = new AncestralSampler(large).sample(64, SHAPE, 42, Progress.NONE);
      assertTrue(ddim.sub(ancestral).abs().amax().item() > 1e-3, "DDIM with eta = 1 uses beta~, not beta");
    }
  }

  @Test
  void deterministicDdimFollowsItsAffineUpdates() {
    try (Scope scope = Scope.open()) {
      DdimSampler sampler = new DdimSampler(small, 10, 0.0);
      List<int[]> reports = new ArrayList<>();
      Tensor x = sampler.sample(N, SHAPE, 9, (Progress) (done, total) -> reports.add(new int[] {done, total}));
      assertEquals(10, reports.size());
      assertArrayEquals(new int[] {1, 10}, reports.get(0));
      assertArrayEquals(new int[] {10, 10}, reports.get(9));
      // With this model every DDIM update is affine in x, x' = A x + B, so the exact output law is
      // N(m, k^2) with m and k carried through the ten updates from x_T ~ N(0, 1).
      int[] tau = sampler.tau();
      double m = 0, k = 1;
      for (int i = tau.length - 1; i >= 0; i--) {
        double ab = schedule.alphaBar(tau[i]);
        double abPrev = i == 0 ? 1 : schedule.alphaBar(tau[i - 1]);
        double g = Math.sqrt(1 - ab) / (ab * S_DATA * S_DATA + 1 - ab);
        double h = Math.sqrt(ab) * MU;
        double a = Math.sqrt(abPrev / ab) * (1 - Math.sqrt(1 - ab) * g) + Math.sqrt(1 - abPrev) * g;
        double b = (Math.sqrt(abPrev / ab) * Math.sqrt(1 - ab) - Math.sqrt(1 - abPrev)) * g * h;
        m = a * m + b;
        k = Math.abs(a) * k;
      }
      double[] mv = meanVar(x);
      assertEquals(m, mv[0], 6 * k / Math.sqrt(N), "mean of the DDIM output");
      assertEquals(1.0, mv[1] / (k * k), 6 * Math.sqrt(2.0 / N), "variance of the DDIM output");
      assertTrue(Math.abs(k * k - S_DATA * S_DATA) > 0.05, "ten coarse steps do shrink the variance, so this checks the update");
      assertTrue(x.equal(sampler.sample(N, SHAPE, 9, Progress.NONE)), "same seed, same images");
      assertFalse(x.equal(sampler.sample(N, SHAPE, 10, Progress.NONE)));
    }
  }

  @Test
  void clippingKeepsTheResultInRange() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion clip = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.9, 0.5), schedule,
          VarianceType.FIXED_SMALL, true);
      Tensor x = new DdimSampler(clip, 5, 0.5).sample(500, SHAPE, 1, Progress.NONE);
      assertTrue(x.amax().item() <= 1.0 + 1e-6 && x.amin().item() >= -1.0 - 1e-6);
    }
  }

  @Test
  void badArgumentsNameTheParameter() {
    assertStartsWith("samplingSteps ", assertThrows(IllegalArgumentException.class, () -> new DdimSampler(small, T + 1, 0)));
    assertStartsWith("samplingSteps ", assertThrows(IllegalArgumentException.class, () -> new DdimSampler(small, 0, 0)));
    assertStartsWith("eta ", assertThrows(IllegalArgumentException.class, () -> new DdimSampler(small, 5, -0.1)));
    assertStartsWith("eta ", assertThrows(IllegalArgumentException.class, () -> new DdimSampler(small, 5, Double.NaN)));
    DdimSampler sampler = new DdimSampler(small, 5, 0);
    assertStartsWith("n ", assertThrows(IllegalArgumentException.class, () -> sampler.sample(0, SHAPE, 1, Progress.NONE)));
    assertStartsWith("imageShape[1] ", assertThrows(IllegalArgumentException.class,
        () -> sampler.sample(1, new long[] {1, 0, 1}, 1, Progress.NONE)));
  }
}
