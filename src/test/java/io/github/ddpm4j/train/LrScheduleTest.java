package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The learning rates of {@link LrSchedule}, against values worked out by hand. */
class LrScheduleTest {
  @Test
  void constantWarmsUpLinearlyThenHoldsThePeak() {
    LrSchedule c = LrSchedule.CONSTANT;
    assertEquals(0.25, c.lr(0, 1.0, 4, 10), 0);
    assertEquals(0.75, c.lr(2, 1.0, 4, 10), 0);
    assertEquals(1.0, c.lr(3, 1.0, 4, 10), 0);
    assertEquals(1.0, c.lr(9, 1.0, 4, 10), 0);
    assertEquals(2e-3, c.lr(0, 2e-3, 0, 10), 0, "no warm-up");
  }

  /** Earlier versions computed {@code lr * min(1, (s + 1) / warmup)}; resumed and golden runs need the same doubles. */
  @Test
  void constantIsBitIdenticalToTheEarlierWarmUp() {
    for (double peak : new double[] {1e-3, 2e-3, 3e-4, 0.7}) {
      for (long warmup : new long[] {0, 3, 7, 200}) {
        for (long s = 0; s < 250; s++) {
          double before = warmup == 0 ? peak : peak * Math.min(1.0, (s + 1.0) / warmup);
          assertEquals(Double.doubleToRawLongBits(before), Double.doubleToRawLongBits(LrSchedule.CONSTANT.lr(s, peak, warmup, 250)),
              "peak " + peak + " warmup " + warmup + " step " + s);
        }
      }
    }
  }

  @Test
  void cosineDecaysHalfACosineFromThePeakAfterTheWarmUp() {
    LrSchedule c = LrSchedule.COSINE;
    // warm-up 2 of 6 steps, then progress (s - 2) / 4
    assertEquals(0.5, c.lr(0, 1.0, 2, 6), 0);
    assertEquals(1.0, c.lr(1, 1.0, 2, 6), 0);
    assertEquals(1.0, c.lr(2, 1.0, 2, 6), 1e-15);
    assertEquals(0.8535533905932737, c.lr(3, 1.0, 2, 6), 1e-15); // (1 + sqrt(2)/2) / 2
    assertEquals(0.5, c.lr(4, 1.0, 2, 6), 1e-15);
    assertEquals(0.14644660940672624, c.lr(5, 1.0, 2, 6), 1e-15); // (1 - sqrt(2)/2) / 2, the last step above 0
    // no warm-up: 1e-3 * (1 + cos(pi s / 3)) / 2
    assertEquals(1e-3, c.lr(0, 1e-3, 0, 3), 1e-18);
    assertEquals(7.5e-4, c.lr(1, 1e-3, 0, 3), 1e-18);
    assertEquals(2.5e-4, c.lr(2, 1e-3, 0, 3), 1e-18);
  }
}
