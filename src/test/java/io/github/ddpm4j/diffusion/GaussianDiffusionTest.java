package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.NoiseScheduleTest.assertStartsWith;
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
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class GaussianDiffusionTest extends TorchTestBase {
  private static final int T = 1000;
  private static final double[] X0 = {-0.8, -0.2, 0.3, 0.9};
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear();

  /** alphaBar_t of the default linear schedule, by plain double arithmetic. */
  private static double alphaBar(int t) {
    double p = 1;
    for (int i = 0; i <= t; i++) p *= 1 - (1e-4 + (0.02 - 1e-4) * i / (T - 1));
    return p;
  }

  private static Tensor batchOf(double[] image, int n) {
    return Torch.tensor(image, 1, 1, 2, 2).to(DType.FLOAT32).repeat(n, 1, 1, 1);
  }

  private static Tensor steps(long... t) {
    return Torch.tensor(t, t.length);
  }

  @Test
  void qSampleHasTheMarginalMeanAndVariance() {
    int n = 20000;
    try (Scope scope = Scope.open(); Generator g = new Generator(7)) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
      Tensor x0 = batchOf(X0, n);
      for (int t : new int[] {0, 99, 500, 999}) {
        Tensor xt = diffusion.qSample(x0, Torch.full(new long[] {n}, t, DType.INT64, Device.CPU), g);
        double[] mean = AnalyticModels.values(xt.mean(new long[] {0}, false));
        double[] var = AnalyticModels.values(xt.var(new long[] {0}, 1, false));
        double ab = alphaBar(t);
        double sd = Math.sqrt((1 - ab) / n);
        for (int i = 0; i < X0.length; i++) {
          assertEquals(Math.sqrt(ab) * X0[i], mean[i], 5 * sd + 1e-6, "mean of x_t at t=" + t);
          assertEquals(1 - ab, var[i], 5 * (1 - ab) * Math.sqrt(2.0 / n) + 1e-9, "variance of x_t at t=" + t);
        }
        Gaussian q = diffusion.qMeanVariance(x0.narrow(0, 0, 1), steps(t));
        double[] qMean = AnalyticModels.values(q.mean());
        for (int i = 0; i < X0.length; i++) assertEquals(Math.sqrt(ab) * X0[i], qMean[i], 1e-6);
        assertEquals(1 - ab, q.variance().item(), 1e-6);
        assertArrayEquals(new long[] {1, 1, 1, 1}, q.variance().shape());
      }
    }
  }

  @Test
  void qSampleIsTheReparameterisedMarginal() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
      Tensor x0 = batchOf(X0, 2);
      Tensor eps = Torch.randn(2, 1, 2, 2);
      Tensor t = steps(3, 640);
      double[] xt = AnalyticModels.values(diffusion.qSample(x0, t, eps));
      double[] e = AnalyticModels.values(eps);
      for (int b = 0; b < 2; b++) {
        double ab = alphaBar(b == 0 ? 3 : 640);
        for (int i = 0; i < 4; i++) {
          assertEquals(Math.sqrt(ab) * X0[i] + Math.sqrt(1 - ab) * e[b * 4 + i], xt[b * 4 + i], 1e-5);
        }
      }
      double[] back = AnalyticModels.values(diffusion.predictX0FromEps(diffusion.qSample(x0, t, eps), t, eps));
      for (int i = 0; i < 8; i++) assertEquals(X0[i % 4], back[i], 2e-4, "predictX0FromEps inverts qSample");
    }
  }

  @Test
  void posteriorMatchesEquationSeven() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
      Tensor x0 = batchOf(X0, 1);
      Tensor xt = Torch.tensor(new double[] {0.5, -1.5, 2.0, 0.1}, 1, 1, 2, 2).to(DType.FLOAT32);
      int t = 250;
      Gaussian post = diffusion.qPosterior(x0, xt, steps(t));
      double ab = alphaBar(t), abPrev = alphaBar(t - 1);
      double beta = 1 - ab / abPrev;
      double[] mean = AnalyticModels.values(post.mean());
      double[] xtv = AnalyticModels.values(xt);
      for (int i = 0; i < 4; i++) {
        double expected = beta * Math.sqrt(abPrev) / (1 - ab) * X0[i] + (1 - abPrev) * Math.sqrt(1 - beta) / (1 - ab) * xtv[i];
        assertEquals(expected, mean[i], 1e-5);
      }
      assertEquals(beta * (1 - abPrev) / (1 - ab), post.variance().item(), 1e-9);
    }
  }

  @Test
  void pSampleAddsSigmaTimesNoiseExceptAtTheLastStep() {
    try (Scope scope = Scope.open()) {
      for (VarianceType type : VarianceType.values()) {
        GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0.3), schedule, type, false);
        Tensor xt = Torch.randn(3, 1, 2, 2);
        Tensor t = steps(0, 10, 700);
        Prediction p = diffusion.pMeanVariance(xt, t);
        Tensor sample;
        Tensor z;
        try (Generator g1 = new Generator(11); Generator g2 = new Generator(11)) {
          sample = diffusion.pSample(xt, t, g1);
          z = Torch.randnLike(xt, g2);
        }
        double[] got = AnalyticModels.values(sample);
        double[] mean = AnalyticModels.values(p.mean());
        double[] var = AnalyticModels.values(p.variance());
        double[] zv = AnalyticModels.values(z);
        long[] ts = {0, 10, 700};
        for (int b = 0; b < 3; b++) {
          int s = (int) ts[b];
          double expectedVar = type == VarianceType.FIXED_LARGE ? schedule.beta(s) : schedule.posteriorVariance(s);
          assertEquals(expectedVar, var[b], 1e-9);
          for (int i = 0; i < 4; i++) {
            double noise = s == 0 ? 0 : Math.sqrt(expectedVar) * zv[b * 4 + i];
            assertEquals(mean[b * 4 + i] + noise, got[b * 4 + i], 1e-5, type + " at t=" + s);
          }
        }
        // Equation 11 with epsTheta = 0.3 everywhere.
        double[] xv = AnalyticModels.values(xt);
        for (int b = 0; b < 3; b++) {
          int s = (int) ts[b];
          double beta = schedule.beta(s);
          double ab = schedule.alphaBar(s);
          for (int i = 0; i < 4; i++) {
            double expected = (xv[b * 4 + i] - beta / Math.sqrt(1 - ab) * 0.3) / Math.sqrt(1 - beta);
            assertEquals(expected, mean[b * 4 + i], 1e-4);
          }
        }
      }
    }
  }

  @Test
  void lastStepIsDeterministic() {
    try (Scope scope = Scope.open(); Generator g1 = new Generator(1); Generator g2 = new Generator(2)) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0.1), schedule);
      Tensor xt = Torch.randn(2, 1, 2, 2);
      assertTrue(diffusion.pSample(xt, 0, g1).equal(diffusion.pSample(xt, 0, g2)));
      assertFalse(diffusion.pSample(xt, 1, g1).equal(diffusion.pSample(xt, 1, g2)));
    }
  }

  @Test
  void meanOfEquationElevenIsThePosteriorMeanOfX0Hat() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(-0.4), schedule);
      Tensor xt = Torch.randn(2, 1, 2, 2);
      Tensor t = steps(5, 300);
      Prediction p = diffusion.pMeanVariance(xt, t);
      Gaussian post = diffusion.qPosterior(p.x0Hat(), xt, t);
      assertTrue(p.mean().sub(post.mean()).abs().amax().item() < 1e-4);
    }
  }

  @Test
  void clippingBoundsX0HatAndUsesItsPosterior() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion clipped = new GaussianDiffusion(AnalyticModels.constant(-3), schedule, VarianceType.FIXED_LARGE, true);
      GaussianDiffusion free = new GaussianDiffusion(AnalyticModels.constant(-3), schedule, VarianceType.FIXED_LARGE, false);
      Tensor xt = Torch.randn(2, 1, 2, 2);
      Tensor t = steps(400, 900);
      Prediction p = clipped.pMeanVariance(xt, t);
      Prediction q = free.pMeanVariance(xt, t);
      assertTrue(q.x0Hat().amax().item() > 1.0, "the test needs an estimate outside [-1, 1]");
      assertTrue(p.x0Hat().amax().item() <= 1.0 && p.x0Hat().amin().item() >= -1.0);
      Gaussian post = clipped.qPosterior(p.x0Hat(), xt, t);
      assertTrue(p.mean().sub(post.mean()).abs().amax().item() < 1e-6);
      assertTrue(p.mean().sub(q.mean()).abs().amax().item() > 1e-3);
    }
  }

  @Test
  void lossIsSmallForTheOracleAndAboutOneForZero() {
    try (Scope scope = Scope.open()) {
      Tensor x0 = batchOf(X0, 512);
      GaussianDiffusion oracle = new GaussianDiffusion(AnalyticModels.oracle(schedule, x0.narrow(0, 0, 1)), schedule);
      GaussianDiffusion zero = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
      double oracleLoss;
      double zeroLoss;
      try (Generator g = new Generator(5)) {
        oracleLoss = oracle.loss(x0, g).item();
      }
      try (Generator g = new Generator(5)) {
        zeroLoss = zero.loss(x0, g).item();
      }
      assertTrue(oracleLoss < 1e-6, "oracle loss " + oracleLoss);
      assertEquals(1.0, zeroLoss, 0.1, "mean of eps^2");
      double again;
      try (Generator g = new Generator(5)) {
        again = zero.loss(x0, g).item();
      }
      assertEquals(zeroLoss, again, 0.0, "the generator makes the loss reproducible");
    }
  }

  @Test
  void lossIsMseOfGivenNoise() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0.5), schedule);
      Tensor x0 = batchOf(X0, 2);
      Tensor eps = Torch.randn(2, 1, 2, 2);
      double expected = 0;
      for (double e : AnalyticModels.values(eps)) expected += (e - 0.5) * (e - 0.5) / 8;
      assertEquals(expected, diffusion.loss(x0, steps(1, 2), eps).item(), 1e-5);
    }
  }

  @Test
  void theRanksSharesOfTheLossAverageToTheLossOfTheWholeBatch() {
    Torch.manualSeed(3);
    UNetConfig config = UNetConfig.builder().imageChannels(1).nChannels(8).chMults(1, 2).isAttn(false, true).nBlocks(1)
        .dropout(0.0).nGroups(4).finalGroups(4).build();
    try (UNet unet = new UNet(config); NoiseSchedule small = NoiseSchedule.linear(100, 1e-3, 0.1); Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(unet, small);
      Tensor x0 = Torch.rand(6, 1, 8, 8).mul(2).sub(1);
      double whole;
      byte[] after;
      try (Generator g = new Generator(11)) {
        whole = diffusion.loss(x0, g).item();
        after = g.getState().toByteArray();
      }
      for (int worldSize : new int[] {1, 2, 3}) {
        double sum = 0;
        for (int rank = 0; rank < worldSize; rank++) {
          try (Generator g = new Generator(11)) {
            sum += diffusion.loss(x0.slice(0, rank, 6, worldSize), g, 6, rank, worldSize).item();
            assertArrayEquals(after, g.getState().toByteArray(), "every rank's generator ends where one process's does");
          }
        }
        assertEquals(whole, sum / worldSize, 1e-6 * whole, "world size " + worldSize);
      }
      try (Generator g = new Generator(0)) {
        IllegalArgumentException share = assertThrows(IllegalArgumentException.class, () -> diffusion.loss(x0, g, 6, 0, 2));
        assertTrue(share.getMessage().contains("x0 holds 6 images, not the share of one of 2 ranks in a batch of 6"), share.getMessage());
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> diffusion.loss(x0.narrow(0, 0, 3), g, 6, 2, 2));
        assertTrue(rank.getMessage().contains("rank 2 must be in 0..1"), rank.getMessage());
      }
    }
  }

  @Test
  void noTemporariesSurviveACall() {
    try (Generator g = new Generator(3)) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0.2), schedule, VarianceType.FIXED_SMALL, true);
      Tensor xt = Torch.randn(2, 1, 2, 2);
      Tensor t = steps(0, 9);
      long before = Torch.liveHandles(Torch.HandleKind.TENSOR);
      Tensor next = diffusion.pSample(xt, t, g);
      Tensor loss = diffusion.loss(xt, g);
      Tensor q = diffusion.qSample(xt, t, g);
      assertEquals(before + 3, Torch.liveHandles(Torch.HandleKind.TENSOR));
      next.close();
      loss.close();
      q.close();
      xt.close();
      t.close();
    }
  }

  @Test
  void timestepsOutOfRangeAreRejected() {
    try (Scope scope = Scope.open(); Generator g = new Generator(0)) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
      Tensor x = Torch.zeros(2, 1, 2, 2);
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class, () -> diffusion.qSample(x, steps(0, T), g)));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class, () -> diffusion.qSample(x, steps(-1, 3), g)));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class, () -> diffusion.pSample(x, T, g)));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class, () -> diffusion.pSample(x, -1, g)));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class, () -> diffusion.pMeanVariance(x, steps(1))));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class,
          () -> diffusion.qPosterior(x, x, Torch.tensor(new float[] {1, 2}, 2))));
      assertStartsWith("x0 ", assertThrows(IllegalArgumentException.class, () -> diffusion.qSample(steps(1, 2), steps(1, 2), g)));
      assertStartsWith("eps ", assertThrows(IllegalArgumentException.class,
          () -> diffusion.qSample(x, steps(1, 2), Torch.zeros(2, 1, 2, 3))));
    }
  }
}
