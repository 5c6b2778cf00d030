package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional.InterpolateMode;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad constructor arguments and inputs of the wrong shape, dtype or state:
 * each raises a Java exception that names the layer or parameter, the
 * expected and the actual shape, before LibTorch sees the call.
 */
class LayerValidationTest extends TorchTestBase {
  private static IllegalArgumentException assertRejects(Executable call, String... fragments) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    for (String f : fragments) assertTrue(e.getMessage().contains(f), "message '" + e.getMessage() + "' lacks '" + f + "'");
    return e;
  }

  @Test
  void constructorsRejectBadArguments() {
    assertRejects(() -> new Linear(0, 3), "inFeatures", "0");
    assertRejects(() -> new Linear(3, -2, false), "outFeatures", "-2");
    assertRejects(() -> new Conv2d(0, 4, ConvOptions.kernel(3).withPadding(1)), "inChannels");
    assertRejects(() -> new Conv2d(3, 0, ConvOptions.kernel(3).withPadding(1)), "outChannels");
    assertRejects(() -> new Conv2d(3, 4, ConvOptions.kernel(0).withPadding(1)), "kernelSize");
    assertRejects(() -> new Conv2d(3, 4, ConvOptions.kernel(3).withStride(0).withPadding(1)), "stride");
    assertRejects(() -> new Conv2d(3, 4, ConvOptions.kernel(3).withPadding(-1).withBias(false)), "padding");
    assertRejects(() -> new ConvTranspose2d(-1, 4, ConvOptions.kernel(4).withStride(2).withPadding(1)), "inChannels");
    assertRejects(() -> new ConvTranspose2d(4, 4, ConvOptions.kernel(4).withStride(0).withPadding(1)), "stride");
    assertRejects(() -> new ConvTranspose2d(4, 4, ConvOptions.kernel(4).withStride(2).withPadding(-1)), "padding");
    assertRejects(() -> new GroupNorm(3, 8), "numChannels (8)", "numGroups (3)");
    assertRejects(() -> new GroupNorm(0, 8), "numGroups");
    assertRejects(() -> new GroupNorm(2, 0), "numChannels");
    assertRejects(() -> new GroupNorm(2, 8, -1e-5), "eps");
    assertRejects(() -> new GroupNorm(2, 8, Double.NaN), "eps");
    assertRejects(() -> new Dropout(-0.1), "p", "[0, 1]");
    assertRejects(() -> new Dropout(1.5), "p");
    assertRejects(() -> new Dropout(Double.NaN), "p");
    assertRejects(() -> new Upsample(0, InterpolateMode.NEAREST), "scaleFactor");
    assertThrows(NullPointerException.class, () -> new Upsample(2, null));
  }

  @Test
  void failedConstructorsLeakNoHandles() {
    long before = Torch.liveHandles();
    assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 4, ConvOptions.kernel(3).withStride(0).withPadding(1)));
    assertThrows(IllegalArgumentException.class, () -> new GroupNorm(3, 8));
    assertEquals(before, Torch.liveHandles());
  }

  @Test
  void linearRejectsWrongFeatureCount() {
    try (Linear l = new Linear(5, 3)) {
      assertRejects(() -> l.forward(Torch.randn(2, 4)), "Linear(in_features=5, out_features=3, bias=True)", "[*, 5]", "[2, 4]");
      assertRejects(() -> l.forward(Torch.scalarTensor(1)), "[*, 5]", "[]");
      assertArrayEquals(new long[] {5, 3}, l.forward(Torch.randn(5, 5)).shape());
      assertArrayEquals(new long[] {3}, l.forward(Torch.randn(5)).shape());
    }
  }

  @Test
  void conv2dRejectsWrongRankChannelsAndSize() {
    try (Conv2d c = new Conv2d(3, 4, ConvOptions.kernel(3).withStride(2).withPadding(1))) {
      String name = "Conv2d(3, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))";
      assertRejects(() -> c.forward(Torch.randn(2, 2, 8, 8)), name, "[N, 3, H, W]", "[2, 2, 8, 8]");
      assertRejects(() -> c.forward(Torch.randn(3, 8)), name, "[3, 8]");
      assertRejects(() -> c.forward(Torch.randn(1, 1, 3, 8, 8)), "[1, 1, 3, 8, 8]");
      try (Conv2d big = new Conv2d(3, 4, ConvOptions.kernel(5))) {
        assertRejects(() -> big.forward(Torch.randn(1, 3, 4, 9)), "H + 2*padding >= 5", "[1, 3, 4, 9]");
      }
      assertArrayEquals(new long[] {2, 4, 4, 4}, c.forward(Torch.randn(2, 3, 8, 8)).shape());
      assertArrayEquals(new long[] {4, 4, 4}, c.forward(Torch.randn(3, 8, 8)).shape());
    }
  }

  @Test
  void convTranspose2dRejectsWrongRankAndChannels() {
    try (ConvTranspose2d c = new ConvTranspose2d(4, 2, ConvOptions.kernel(4).withStride(2).withPadding(1))) {
      assertRejects(() -> c.forward(Torch.randn(1, 2, 5, 5)), "ConvTranspose2d(4, 2", "[N, 4, H, W]", "[1, 2, 5, 5]");
      assertRejects(() -> c.forward(Torch.randn(4, 5)), "[4, 5]");
      try (ConvTranspose2d shrink = new ConvTranspose2d(4, 2, ConvOptions.kernel(1).withPadding(1))) {
        assertRejects(() -> shrink.forward(Torch.randn(1, 4, 2, 2)), "non-empty output");
      }
      assertArrayEquals(new long[] {1, 2, 10, 10}, c.forward(Torch.randn(1, 4, 5, 5)).shape());
    }
  }

  @Test
  void groupNormRejectsWrongChannels() {
    try (GroupNorm g = new GroupNorm(2, 6)) {
      assertRejects(() -> g.forward(Torch.randn(2, 4, 3, 3)), "GroupNorm(2, 6, eps=1e-05, affine=True)", "[N, 6, *]", "[2, 4, 3, 3]");
      assertRejects(() -> g.forward(Torch.randn(6)), "[6]");
    }
  }

  @Test
  void layersRejectInputsOfAnotherDtypeAndClosedInputs() {
    try (Linear l = new Linear(2, 2); GroupNorm g = new GroupNorm(1, 2)) {
      Tensor d = Torch.randn(new long[] {3, 2}, DType.FLOAT64, Device.CPU, null);
      assertRejects(() -> l.forward(d), "input dtype FLOAT64", "FLOAT32");
      assertRejects(() -> g.forward(d), "input dtype FLOAT64");
      Tensor closed = Torch.randn(3, 2);
      closed.close();
      assertThrows(IllegalStateException.class, () -> l.forward(closed));
      assertThrows(IllegalStateException.class, () -> new Identity().forward(closed));
      assertThrows(NullPointerException.class, () -> l.forward(null));
    }
  }

  @Test
  void dropoutIsActiveOnlyInTraining() {
    try (Dropout d = new Dropout(0.5)) {
      Tensor x = Torch.ones(1000);
      Tensor y = d.forward(x);
      double zeros = y.eq(0).to(DType.FLOAT32).sum().item();
      assertTrue(zeros > 350 && zeros < 650, "about half dropped, got " + zeros);
      assertEquals(2.0, y.amax().item(), 0.0, "survivors scaled by 1 / (1 - p)");
      d.eval();
      Tensor z = d.forward(x);
      assertNotSame(x, z);
      assertTrue(z.equal(x));
      z.close();
      assertFalse(x.isClosed());
    }
    try (Dropout all = new Dropout(1.0)) {
      assertEquals(0.0, all.forward(Torch.ones(10)).abs().sum().item(), 0.0);
    }
  }

  @Test
  void upsampleNeedsImages() {
    try (Upsample u = new Upsample(2, InterpolateMode.NEAREST)) {
      assertRejects(() -> u.forward(Torch.randn(2, 3, 4)), "Upsample(scale_factor=2.0, mode=nearest)", "[N, C, H, W]", "[2, 3, 4]");
      assertArrayEquals(new long[] {1, 1, 4, 6}, u.forward(Torch.randn(1, 1, 2, 3)).shape());
    }
  }

  @Test
  void identityAliasesItsInput() {
    try (Identity id = new Identity()) {
      Tensor x = Torch.randn(3).requiresGrad_(true);
      Tensor y = id.forward(x);
      assertNotSame(x, y);
      y.mul(3).sum().backward();
      assertTrue(x.grad().equal(Torch.full(new long[] {3}, 3)), "gradients flow through the alias");
    }
  }

  @Test
  void closedLayersRefuseWork() {
    Linear l = new Linear(2, 2);
    l.close();
    assertThrows(IllegalStateException.class, () -> l.forward(Torch.randn(1, 2)));
    assertThrows(IllegalStateException.class, l::parameterCount);
  }
}
