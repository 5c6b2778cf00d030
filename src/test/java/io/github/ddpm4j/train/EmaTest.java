package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.Test;

class EmaTest extends TorchTestBase {
  /** Two parameters and a buffer, enough to follow the average by hand. */
  static final class Tiny extends Module {
    Tiny(float[] w, float b, float counter) {
      registerParameter("w", Torch.tensor(w, w.length));
      registerParameter("b", Torch.tensor(new float[] {b}, 1));
      registerBuffer("counter", Torch.tensor(new float[] {counter}, 1));
    }

    void set(float[] w, float b, float counter) {
      try (GradMode g = GradMode.noGrad()) {
        namedParameters().get("w").copy_(Torch.tensor(w, w.length));
        namedParameters().get("b").copy_(Torch.tensor(new float[] {b}, 1));
        namedBuffers().get("counter").copy_(Torch.tensor(new float[] {counter}, 1));
      }
    }

    float[] w() {
      return namedParameters().get("w").toFloatArray();
    }

    float b() {
      return namedParameters().get("b").toFloatArray()[0];
    }

    float counter() {
      return namedBuffers().get("counter").toFloatArray()[0];
    }
  }

  @Test
  void decayWarmsUpAsOnePlusStepOverTenPlusStep() {
    try (Tiny m = new Tiny(new float[] {0}, 0, 0); Tiny s = new Tiny(new float[] {0}, 0, 0)) {
      Ema ema = new Ema(m, s, 0.999, true);
      assertEquals(0.1, ema.decayAt(0), 1e-15);
      assertEquals(2.0 / 11, ema.decayAt(1), 1e-15);
      assertEquals(10.0 / 19, ema.decayAt(9), 1e-15);
      assertEquals(991.0 / 1000, ema.decayAt(990), 1e-15);
      assertEquals(0.999, ema.decayAt(8990), 1e-15, "(1 + s) / (10 + s) reaches 0.999 at s = 8990");
      assertEquals(0.999, ema.decayAt(1_000_000), 0.0);
      Ema fixed = new Ema(m, s, 0.9, false);
      assertEquals(0.9, fixed.decayAt(0), 0.0);
      assertEquals(0.9, fixed.decayAt(12345), 0.0);
    }
  }

  @Test
  void startsAtTheModelsWeightsAsAnIndependentCopy() {
    try (Tiny m = new Tiny(new float[] {1, 2}, 3, 4); Tiny s = new Tiny(new float[] {9, 9}, 9, 9)) {
      Ema ema = new Ema(m, s, 0.5, false);
      assertArrayEquals(new float[] {1, 2}, s.w());
      assertEquals(3, s.b());
      assertEquals(4, s.counter());
      assertFalse(s.isTraining(), "the shadow is in evaluation mode");
      assertTrue(ema.shadow() == s);
      m.set(new float[] {5, 6}, 7, 8);
      assertArrayEquals(new float[] {1, 2}, s.w(), "changing the model does not change the shadow");
    }
  }

  @Test
  void updateFollowsTheFormulaByHand() {
    try (Tiny m = new Tiny(new float[] {1, -2}, 0.5f, 0); Tiny s = new Tiny(new float[] {0, 0}, 0, 0)) {
      Ema ema = new Ema(m, s, 0.9, true);
      // step 0: decay min(0.9, 1/10) = 0.1
      m.set(new float[] {11, 8}, 10.5f, 1);
      ema.update(m, 0);
      assertArrayEquals(new float[] {0.1f * 1 + 0.9f * 11, 0.1f * -2 + 0.9f * 8}, s.w(), 1e-5f);
      assertEquals(0.1f * 0.5f + 0.9f * 10.5f, s.b(), 1e-5f);
      assertEquals(1, s.counter(), "buffers are copied");
      float[] w0 = s.w();
      float b0 = s.b();
      // step 5: decay min(0.9, 6/15) = 0.4
      m.set(new float[] {0, 0}, -1, 7);
      ema.update(m, 5);
      assertArrayEquals(new float[] {0.4f * w0[0], 0.4f * w0[1]}, s.w(), 1e-5f);
      assertEquals(0.4f * b0 + 0.6f * -1, s.b(), 1e-5f);
      assertEquals(7, s.counter());
      // step 1000: decay 0.9
      float[] w1 = s.w();
      m.set(new float[] {100, 200}, 0, 7);
      ema.update(m, 1000);
      assertArrayEquals(new float[] {0.9f * w1[0] + 10, 0.9f * w1[1] + 20}, s.w(), 1e-4f);
      assertArrayEquals(new float[] {100, 200}, m.w(), "the model is only read");
    }
  }

  @Test
  void withoutWarmupTheFirstUpdateUsesTheFullDecay() {
    try (Tiny m = new Tiny(new float[] {0}, 0, 0); Tiny s = new Tiny(new float[] {0}, 0, 0)) {
      Ema ema = new Ema(m, s, 0.75, false);
      m.set(new float[] {4}, 8, 0);
      ema.update(m, 0);
      assertArrayEquals(new float[] {1}, s.w(), 0f);
      assertEquals(2, s.b(), 0f);
    }
  }

  @Test
  void rejectsADecayOutsideZeroToOne() {
    try (Tiny m = new Tiny(new float[] {0}, 0, 0); Tiny s = new Tiny(new float[] {0}, 0, 0)) {
      for (double d : new double[] {1.0, -0.01, Double.NaN}) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Ema(m, s, d, true));
        assertTrue(e.getMessage().contains("decay"), e.getMessage());
      }
    }
  }
}
