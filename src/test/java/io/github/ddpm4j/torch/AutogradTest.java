package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Autograd: gradients against hand derivations and a PyTorch fixture; grad modes. */
class AutogradTest extends TorchTestBase {

  @Test
  void gradientOfASquareSum() {
    Tensor x = Torch.tensor(floats(1, -2, 3), 3).requiresGrad_(true);
    assertTrue(x.requiresGrad());
    assertTrue(x.isLeaf());
    assertNull(x.grad(), "no gradient before backward");
    Tensor y = x.mul(x).mul(3.0).sum();
    assertTrue(y.requiresGrad());
    assertFalse(y.isLeaf());
    y.backward();
    assertArrayEquals(floats(6, -12, 18), x.grad().toFloatArray(), "d/dx 3x^2 = 6x");
  }

  @Test
  void gradientsAccumulateAndZeroGradClears() {
    Tensor w = Torch.tensor(floats(0.5, 2), 2).requiresGrad_(true);
    w.mul(Torch.tensor(floats(3, 4), 2)).sum().backward();
    w.mul(Torch.tensor(floats(3, 4), 2)).sum().backward();
    assertArrayEquals(floats(6, 8), w.grad().toFloatArray(), "two passes add up");
    Tensor g = w.grad();
    w.zeroGrad(false);
    assertArrayEquals(floats(0, 0), g.toFloatArray(), "zeroed in place: an earlier grad handle sees it");
    assertArrayEquals(floats(0, 0), w.grad().toFloatArray());
    w.zeroGrad(true);
    assertNull(w.grad());
    w.zeroGrad(true);
    w.zeroGrad(false);
    assertNull(w.grad(), "zeroGrad of an absent gradient does nothing");
  }

  @Test
  void setGradReplacesAndClears() {
    Tensor w = Torch.zeros(2).requiresGrad_(true);
    w.setGrad(Torch.tensor(floats(1, 2), 2));
    assertArrayEquals(floats(1, 2), w.grad().toFloatArray());
    w.setGrad(null);
    assertNull(w.grad());
    TorchException e = assertThrows(TorchException.class, () -> w.setGrad(Torch.zeros(3)));
    assertEquals("dd_set_grad", e.function());
    assertEquals(TorchException.Kind.ARGUMENT, e.kind());
    assertTrue(e.torchMessage().contains("gradient shape [3] differs from tensor shape [2]"), e.torchMessage());
  }

  @Test
  void backwardWithAGradientAndRetainedGraph() {
    Tensor x = Torch.tensor(floats(1, 2), 2).requiresGrad_(true);
    Tensor y = x.exp();
    y.backward(Torch.tensor(floats(1, 0.5), 2), true);
    assertArrayEquals(floats(Math.E, 0.5 * Math.exp(2)), x.grad().toFloatArray(), 1e-6f);
    y.backward(Torch.tensor(floats(1, 0.5), 2), false);
    assertArrayEquals(floats(2 * Math.E, Math.exp(2)), x.grad().toFloatArray(), 1e-5f);
    TorchException e = assertThrows(TorchException.class, () -> y.backward(Torch.tensor(floats(1, 1), 2), false));
    assertEquals("dd_backward", e.function());
    assertTrue(e.torchMessage().contains("Trying to backward through the graph a second time"), e.torchMessage());
  }

  @Test
  void compositeGradientsMatchPyTorch() {
    Fixtures fx = Fixtures.load("autograd");
    Tensor x = fx.tensor("x").requiresGrad_(true);
    Tensor w = fx.tensor("w").requiresGrad_(true);
    Tensor y = x.mul(w).tanh().add(x.square()).softmax(1);
    Tensor loss = y.mul(Torch.tensor(floats(1, 2, 3, -1, 0.5, 4), 2, 3)).sum();
    fx.assertClose("loss", loss, 1e-6, 1e-6);
    loss.backward();
    fx.assertClose("x_grad", x.grad(), 1e-5, 1e-6);
    fx.assertClose("w_grad", w.grad(), 1e-5, 1e-6);
  }

  @Test
  void detachStopsTrackingButSharesStorage() {
    Tensor x = Torch.ones(3).requiresGrad_(true);
    Tensor y = x.mul(2.0);
    Tensor d = y.detach();
    assertFalse(d.requiresGrad());
    assertTrue(d.isLeaf());
    d.fill_(5);
    assertArrayEquals(floats(5, 5, 5), y.detach().toFloatArray(), "detach shares storage");
    Tensor xd = x.detach();
    xd.mul(3.0).sum();
    assertNull(x.grad());
  }

  @Test
  void noGradRecordsNothingAndRestores() {
    Tensor x = Torch.ones(2).requiresGrad_(true);
    assertTrue(GradMode.isGradEnabled());
    try (GradMode g = GradMode.noGrad()) {
      assertFalse(GradMode.isGradEnabled());
      assertFalse(GradMode.isInferenceMode());
      Tensor y = x.mul(2.0);
      assertFalse(y.requiresGrad());
      try (GradMode e = GradMode.enableGrad()) {
        assertTrue(GradMode.isGradEnabled());
        assertTrue(x.mul(2.0).requiresGrad());
      }
      assertFalse(GradMode.isGradEnabled());
      x.mul_(1.0);
    }
    assertTrue(GradMode.isGradEnabled());
    assertTrue(x.mul(2.0).requiresGrad());
  }

  @Test
  void inferenceModeAndItsTensors() {
    Tensor x = Torch.ones(3).requiresGrad_(true);
    Tensor t;
    try (GradMode g = GradMode.inferenceMode()) {
      assertTrue(GradMode.isInferenceMode());
      assertFalse(GradMode.isGradEnabled());
      assertFalse(x.mul(2.0).requiresGrad());
      t = Torch.ones(3);
    }
    assertFalse(GradMode.isInferenceMode());
    assertTrue(GradMode.isGradEnabled());
    TorchException e = assertThrows(TorchException.class, () -> x.mul(t));
    assertEquals("dd_binary", e.function());
    assertTrue(e.torchMessage().contains("Inference tensors cannot be saved for backward"), e.torchMessage());
    Tensor ok = x.mul(t.clone());
    ok.sum().backward();
    assertArrayEquals(floats(1, 1, 1), x.grad().toFloatArray());
  }

  @Test
  void gradModeIsPerThread() throws Exception {
    AtomicBoolean otherEnabled = new AtomicBoolean();
    AtomicBoolean otherRecords = new AtomicBoolean();
    try (GradMode g = GradMode.noGrad()) {
      Thread th = Thread.ofVirtual().start(() -> {
        otherEnabled.set(GradMode.isGradEnabled());
        try (Scope s = Scope.open()) {
          otherRecords.set(Torch.ones(1).requiresGrad_(true).mul(2.0).requiresGrad());
        }
      });
      th.join();
      assertFalse(GradMode.isGradEnabled());
    }
    assertTrue(otherEnabled.get(), "another thread keeps its own mode");
    assertTrue(otherRecords.get());
  }

  @Test
  void gradModeGuardIsConfinedToItsThread() throws Exception {
    GradMode g = GradMode.noGrad();
    Throwable thrown;
    try {
      thrown = thrownOnAnotherThread(g::close);
      assertFalse(GradMode.isGradEnabled());
    } finally {
      g.close();
    }
    assertInstanceOf(IllegalStateException.class, thrown);
    g.close();
    assertTrue(GradMode.isGradEnabled());
  }

  @Test
  void requiresGradErrors() {
    TorchException e = assertThrows(TorchException.class, () -> Torch.arange(3).requiresGrad_(true));
    assertEquals("dd_set_requires_grad", e.function());
    assertTrue(e.torchMessage().contains("Only Tensors of floating point and complex dtype can require gradients"), e.torchMessage());
    TorchException b = assertThrows(TorchException.class, () -> Torch.ones(2).sum().backward());
    assertEquals("dd_backward", b.function());
    assertEquals(TorchException.Kind.ARGUMENT, b.kind());
    TorchException nonScalar = assertThrows(TorchException.class, () -> Torch.ones(2).requiresGrad_(true).mul(2.0).backward());
    assertTrue(nonScalar.torchMessage().contains("grad can be implicitly created only for scalar outputs"), nonScalar.torchMessage());
  }
}
