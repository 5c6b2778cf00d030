package io.github.ddpm4j.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Loss scaling against hand-derived values: for {@code loss = sum(w * x)} the gradient of
 * {@code w} is {@code x}, so the scaled gradient is {@code scale * x}, and unscaling by a
 * power of two gives {@code x} back exactly.
 */
class GradScalerTest extends TorchTestBase {
  private static final float[] X = {0.5f, -1.25f, 3f};

  /** The parameter of each test, {1, 2, 3}, kept out of the test's scope, and an Adam over it. */
  private Tensor w;
  private Adam opt;

  @BeforeEach
  void parameterAndOptimizer() {
    w = Scope.release(Torch.tensor(new float[] {1, 2, 3}, 3)).requiresGrad_(true);
    opt = new Adam(List.of(w), 0.1);
  }

  @AfterEach
  void closeOptimizer() {
    opt.close();
  }

  /** Back-propagates the scaled {@code sum(w * x)}. */
  private void backward(GradScaler scaler, float[] x) {
    scaler.scale(w.mul(Torch.tensor(x, 3)).sum()).backward();
  }

  @Test
  void gradientsAreScaledThenUnscaledExactly() {
    GradScaler scaler = new GradScaler(1024, 2, 0.5, 3);
    backward(scaler, X);
    assertArrayEquals(new float[] {512f, -1280f, 3072f}, w.grad().toFloatArray());
    scaler.unscale(opt);
    assertArrayEquals(X, w.grad().toFloatArray());
    assertThrows(IllegalStateException.class, () -> scaler.unscale(opt), "twice between updates");
    assertTrue(scaler.step(opt));
    assertFalse(java.util.Arrays.equals(new float[] {1, 2, 3}, w.toFloatArray()), "the optimizer stepped");
    scaler.update();
    assertEquals(1024, scaler.getScale());
  }

  @Test
  void anOverflowSkipsTheStepAndBacksOff() {
    GradScaler scaler = new GradScaler(1024, 2, 0.5, 3);
    backward(scaler, new float[] {1, Float.POSITIVE_INFINITY, 1});
    assertFalse(scaler.step(opt));
    assertArrayEquals(new float[] {1, 2, 3}, w.toFloatArray(), "no step was taken");
    scaler.update();
    assertEquals(512, scaler.getScale());
    assertEquals(new GradScaler.State(512, 0), scaler.state());
    opt.zeroGrad();
    backward(scaler, new float[] {Float.NaN, 0, 0});
    assertFalse(scaler.step(opt));
    scaler.update();
    assertEquals(256, scaler.getScale());
  }

  @Test
  void theScaleGrowsAfterTheIntervalOfCleanSteps() {
    GradScaler scaler = new GradScaler(8, 2, 0.5, 3);
    double[] scales = new double[4];
    for (int i = 0; i < 4; i++) {
      opt.zeroGrad();
      backward(scaler, X);
      assertTrue(scaler.step(opt));
      scaler.update();
      scales[i] = scaler.getScale();
    }
    assertArrayEquals(new double[] {8, 8, 16, 16}, scales);
    assertEquals(new GradScaler.State(16, 1), scaler.state());
    GradScaler resumed = new GradScaler(8, 2, 0.5, 3);
    resumed.load(scaler.state());
    assertEquals(scaler.state(), resumed.state());
  }

  @Test
  void badSettingsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> new GradScaler(0, 2, 0.5, 10));
    assertThrows(IllegalArgumentException.class, () -> new GradScaler(Double.POSITIVE_INFINITY, 2, 0.5, 10));
    assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 1, 0.5, 10));
    assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 1, 10));
    assertThrows(IllegalArgumentException.class, () -> new GradScaler(1, 2, 0.5, 0));
    assertThrows(IllegalArgumentException.class, () -> new GradScaler.State(-1, 0));
  }
}
