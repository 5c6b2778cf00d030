package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** torch.autocast, applied per call from the thread's context. */
class AutocastTest extends TorchTestBase {

  @Test
  void matrixProductsRunInTheLowerPrecisionOnlyInsideTheGuard() {
    Tensor a = Torch.randn(8, 8);
    assertEquals(DType.FLOAT32, a.matmul(a).dtype());
    assertNull(Autocast.dtype());
    try (Autocast ac = Autocast.enable(DType.BFLOAT16)) {
      assertEquals(DType.BFLOAT16, Autocast.dtype());
      Tensor p = a.matmul(a);
      assertEquals(DType.BFLOAT16, p.dtype());
      Tensor exact;
      try (Autocast off = Autocast.disable()) {
        assertNull(Autocast.dtype());
        exact = a.matmul(a);
        assertEquals(DType.FLOAT32, exact.dtype());
      }
      assertEquals(DType.BFLOAT16, Autocast.dtype(), "closing the inner guard restores the outer mode");
      // bfloat16 keeps 8 bits of mantissa: the product agrees with float32's to about 1%, and differs.
      double err = p.to(DType.FLOAT32).sub(exact).abs().amax().item();
      assertTrue(err > 0 && err <= 0.02 * exact.abs().amax().item(), "error " + err);
      // Ops that autocast keeps in float32 (or leaves alone) are unchanged.
      assertEquals(DType.FLOAT32, a.add(a).dtype());
    }
    assertNull(Autocast.dtype());
    assertEquals(DType.FLOAT32, a.matmul(a).dtype());
  }

  @Test
  void convolutionAndLinearAreCastNormalisationRunsInFloat32() {
    Tensor x = Torch.randn(2, 4, 8, 8);
    Tensor w = Torch.randn(8, 4, 3, 3);
    try (Autocast ac = Autocast.enable(DType.BFLOAT16)) {
      Tensor y = Functional.conv2d(x, w, null, new long[] {1, 1}, new long[] {1, 1}, new long[] {1, 1}, 1);
      assertEquals(DType.BFLOAT16, y.dtype());
      // Normalisation runs in float32 under autocast (LibTorch 1.13 alone would fail on the mixed dtypes).
      assertEquals(DType.FLOAT32, Functional.groupNorm(y, 2, Torch.ones(8), Torch.zeros(8), 1e-5).dtype());
      assertEquals(DType.FLOAT32, Functional.layerNorm(y, new long[] {8, 8}, null, null, 1e-5).dtype());
      assertEquals(DType.BFLOAT16, Functional.linear(Torch.randn(3, 4), Torch.randn(5, 4), Torch.zeros(5)).dtype());
    }
  }

  @Test
  void theModeBelongsToOneThread() throws InterruptedException {
    AtomicReference<DType> seen = new AtomicReference<>(DType.INT8);
    try (Autocast ac = Autocast.enable(DType.BFLOAT16)) {
      Thread other = Thread.ofVirtual().start(() -> {
        try (Scope s = Scope.open()) {
          seen.set(Torch.ones(2, 2).matmul(Torch.ones(2, 2)).dtype());
        }
      });
      other.join();
    }
    assertEquals(DType.FLOAT32, seen.get());
  }

  @Test
  void onlyLowerPrecisionFloatsAndTheOwningThread() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> Autocast.enable(DType.FLOAT32));
    assertThrows(IllegalArgumentException.class, () -> Autocast.enable(DType.INT64));
    Autocast ac = Autocast.enable(DType.FLOAT16);
    AtomicReference<Throwable> error = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        ac.close();
      } catch (Throwable e) {
        error.set(e);
      }
    });
    t.start();
    t.join();
    assertTrue(error.get() instanceof IllegalStateException, String.valueOf(error.get()));
    ac.close();
    ac.close();
    assertNull(Autocast.dtype());
  }
}
