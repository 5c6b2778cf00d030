package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.Test;

class NoiseScheduleTest extends TorchTestBase {
  private static double linearBeta(int t, int T, double b0, double b1) {
    return b0 + (b1 - b0) * t / (T - 1);
  }

  private static double cosineF(double t, int T, double s) {
    double c = Math.cos((t / T + s) / (1 + s) * Math.PI / 2);
    return c * c;
  }

  @Test
  void linearDefaultsMatchClosedForm() {
    try (NoiseSchedule schedule = NoiseSchedule.linear()) {
      assertEquals(1000, schedule.timesteps());
      double[] beta = AnalyticModels.values(schedule.beta());
      double[] alphaBar = AnalyticModels.values(schedule.alphaBar());
      double product = 1;
      for (int t = 0; t < 1000; t++) {
        double b = linearBeta(t, 1000, 1e-4, 0.02);
        product *= 1 - b;
        assertEquals(b, beta[t], 1e-15, "beta at " + t);
        assertEquals(product, alphaBar[t], 1e-12 * Math.max(product, 1e-3), "alphaBar at " + t);
      }
      assertEquals(1e-4, schedule.beta(0), 1e-18);
      assertEquals(0.02, schedule.beta(999), 1e-17);
      // The value usually quoted for this schedule: alphaBar_T is about 4.04e-5.
      assertEquals(4.0358e-5, schedule.alphaBar(999), 1e-8);
      assertEquals(DType.FLOAT64, schedule.alphaBar().dtype());
    }
  }

  @Test
  void derivedCoefficientsMatchClosedForm() {
    int T = 40;
    double b0 = 1e-3, b1 = 0.3;
    try (NoiseSchedule schedule = NoiseSchedule.linear(T, b0, b1)) {
      double[] alpha = AnalyticModels.values(schedule.alpha());
      double[] abPrev = AnalyticModels.values(schedule.alphaBarPrev());
      double[] sqrtAb = AnalyticModels.values(schedule.sqrtAlphaBar());
      double[] sqrtOneMinus = AnalyticModels.values(schedule.sqrtOneMinusAlphaBar());
      double[] recip = AnalyticModels.values(schedule.sqrtRecipAlphaBar());
      double[] recipM1 = AnalyticModels.values(schedule.sqrtRecipAlphaBarMinusOne());
      double[] postVar = AnalyticModels.values(schedule.posteriorVariance());
      double[] c1 = AnalyticModels.values(schedule.posteriorMeanCoef1());
      double[] c2 = AnalyticModels.values(schedule.posteriorMeanCoef2());
      double prev = 1;
      for (int t = 0; t < T; t++) {
        double b = linearBeta(t, T, b0, b1);
        double ab = prev * (1 - b);
        assertEquals(1 - b, alpha[t], 1e-14);
        assertEquals(prev, abPrev[t], 1e-13);
        assertEquals(Math.sqrt(ab), sqrtAb[t], 1e-13);
        assertEquals(Math.sqrt(1 - ab), sqrtOneMinus[t], 1e-13);
        assertEquals(1 / Math.sqrt(ab), recip[t], 1e-10 / Math.sqrt(ab));
        assertEquals(Math.sqrt(1 / ab - 1), recipM1[t], 1e-10 / Math.sqrt(ab));
        assertEquals(b * (1 - prev) / (1 - ab), postVar[t], 1e-13, "posterior variance at " + t);
        assertEquals(b * Math.sqrt(prev) / (1 - ab), c1[t], 1e-12);
        assertEquals((1 - prev) * Math.sqrt(1 - b) / (1 - ab), c2[t], 1e-12);
        assertEquals(postVar[t], schedule.posteriorVariance(t), 0.0);
        prev = ab;
      }
      assertEquals(0.0, postVar[0], 0.0, "no posterior variance at the first step");
      assertEquals(1.0, c1[0], 1e-15);
      assertEquals(0.0, c2[0], 0.0);
    }
  }

  @Test
  void cosineMatchesNicholDhariwal() {
    int T = 1000;
    try (NoiseSchedule schedule = NoiseSchedule.cosine(T)) {
      double[] beta = AnalyticModels.values(schedule.beta());
      double[] alphaBar = AnalyticModels.values(schedule.alphaBar());
      double f0 = cosineF(0, T, 0.008);
      for (int t : new int[] {0, 1, 10, 250, 500, 750, 900, 990}) {
        double expected = cosineF(t + 1, T, 0.008) / f0;
        assertEquals(expected, alphaBar[t], 1e-10, "alphaBar at " + t);
        double expectedBeta = 1 - cosineF(t + 1, T, 0.008) / cosineF(t, T, 0.008);
        assertEquals(expectedBeta, beta[t], 1e-10, "beta at " + t);
      }
      assertEquals(0.999, beta[T - 1], 1e-15, "the last beta is clipped");
      double max = 0;
      for (double b : beta) max = Math.max(max, b);
      assertTrue(max <= 0.999);
      assertEquals(alphaBar[T - 2] * (1 - 0.999), alphaBar[T - 1], 1e-15, "alphaBar follows the clipped betas");
    }
  }

  @Test
  void cosineWithOtherParameters() {
    try (NoiseSchedule schedule = NoiseSchedule.cosine(20, 0.1, 0.5, Device.CPU)) {
      double f0 = cosineF(0, 20, 0.1);
      assertEquals(cosineF(6, 20, 0.1) / f0, schedule.alphaBar(5), 1e-12);
      assertEquals(0.5, schedule.beta(19), 0.0);
    }
  }

  @Test
  void fromBetaCopiesValues() {
    try (var b = Torch.tensor(new double[] {0.1, 0.2, 0.3}, 3); NoiseSchedule schedule = NoiseSchedule.fromBeta(b, Device.CPU)) {
      b.fill_(0.5);
      assertEquals(0.2, schedule.beta(1), 0.0);
      assertEquals(0.9 * 0.8 * 0.7, schedule.alphaBar(2), 1e-15);
    }
  }

  @Test
  void badConfigurationsNameTheParameter() {
    assertStartsWith("T ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.linear(0, 1e-4, 0.02)));
    assertStartsWith("T ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.cosine(-3)));
    assertStartsWith("betaStart ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.linear(10, 0.0, 0.02)));
    assertStartsWith("betaEnd ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.linear(10, 0.1, 0.01)));
    assertStartsWith("betaEnd ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.linear(10, 0.1, 1.0)));
    assertStartsWith("s ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.cosine(10, -0.1, 0.999, Device.CPU)));
    assertStartsWith("maxBeta ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.cosine(10, 0.008, 1.0, Device.CPU)));
    try (var b = Torch.tensor(new double[] {0.1, 1.0}, 2)) {
      assertStartsWith("beta ", assertThrows(IllegalArgumentException.class, () -> NoiseSchedule.fromBeta(b, Device.CPU)));
    }
    try (NoiseSchedule schedule = NoiseSchedule.linear(10, 1e-4, 0.02)) {
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class, () -> schedule.alphaBar(10)));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class, () -> schedule.beta(-1)));
    }
  }

  @Test
  void closedScheduleRejectsUse() {
    NoiseSchedule schedule = NoiseSchedule.linear(5, 1e-4, 0.02);
    schedule.close();
    schedule.close();
    assertThrows(IllegalStateException.class, schedule::beta);
  }

  static void assertStartsWith(String prefix, IllegalArgumentException e) {
    assertTrue(e.getMessage().startsWith(prefix), "message should name the parameter '" + prefix.trim() + "': " + e.getMessage());
  }
}
