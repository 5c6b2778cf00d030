package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.ClassConditionalUNetTest.TINY;
import static io.github.ddpm4j.diffusion.ClassConditionalUNetTest.maxDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ClassifierFreeGuidanceTest extends TorchTestBase {
  /** A class-conditional model that counts its calls and the batch sizes it was given. */
  private static final class Counting implements ClassConditionalModel {
    final UNet unet;
    final List<Long> batches = new ArrayList<>();

    Counting(UNet unet) {
      this.unet = unet;
    }

    @Override
    public int numClasses() {
      return unet.numClasses();
    }

    @Override
    public Tensor epsTheta(Tensor xt, Tensor t) {
      return epsTheta(xt, t, null);
    }

    @Override
    public Tensor epsTheta(Tensor xt, Tensor t, Tensor classLabels) {
      batches.add(xt.size(0));
      return unet.epsTheta(xt, t, classLabels);
    }
  }

  /**
   * The guided output must equal {@code out_u + w (out_c - out_u)} with the two predictions from separate forward
   * passes, for diffusers' w = 0 (unconditional), 1 (conditional) and 3 (guided), in one pass of the model, or of
   * half the batch when w is 0 or 1.
   */
  @ParameterizedTest
  @ValueSource(doubles = {0.0, 1.0, 3.0})
  void theGuidedOutputCombinesTheTwoSeparatePredictions(double w) {
    try (UNet unet = new UNet(TINY.withNumClasses(3)); Scope s = Scope.open()) {
      unet.eval();
      Tensor xt;
      try (Generator g = new Generator(2)) {
        xt = Torch.randn(new long[] {3, 1, 8, 8}, DType.FLOAT32, Device.CPU, g);
      }
      Tensor t = Torch.tensor(new long[] {5, 30, 49}, 3);
      Tensor outC = unet.forward(xt, t, Torch.tensor(new long[] {2, 0, 1}, 3));
      Tensor outU = unet.forward(xt, t, Torch.tensor(new long[] {3, 3, 3}, 3));
      float[] c = outC.toFloatArray();
      float[] u = outU.toFloatArray();
      float[] expected = new float[c.length];
      for (int i = 0; i < c.length; i++) expected[i] = (float) (u[i] + w * (c[i] - u[i]));
      Counting model = new Counting(unet);
      Tensor guided = new ClassifierFreeGuidance(model, new long[] {2, 0, 1}, w).epsTheta(xt, t);
      assertEquals(0.0, maxDiff(guided, Torch.tensor(expected, 3, 1, 8, 8)), 1e-5);
      assertEquals(List.of(w == 0 || w == 1 ? 3L : 6L), model.batches, "one forward pass");
    }
  }

  @Test
  void oneLabelAppliesToEveryImage() {
    try (UNet unet = new UNet(TINY.withNumClasses(3)); Scope s = Scope.open()) {
      unet.eval();
      Tensor xt = Torch.zeros(new long[] {2, 1, 8, 8}, DType.FLOAT32, Device.CPU);
      Tensor t = Torch.tensor(new long[] {4, 4}, 2);
      Tensor one = new ClassifierFreeGuidance(unet, new long[] {1}, 2.0).epsTheta(xt, t);
      Tensor both = new ClassifierFreeGuidance(unet, new long[] {1, 1}, 2.0).epsTheta(xt, t);
      assertEquals(0.0, maxDiff(one, both), 0.0);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new ClassifierFreeGuidance(unet, new long[] {1, 1, 1}, 2.0).epsTheta(xt, t));
      assertTrue(e.getMessage().contains("2 images but 3 class labels"), e.getMessage());
    }
  }

  @Test
  void badSettingsAreRefused() {
    try (UNet cond = new UNet(TINY.withNumClasses(3)); UNet uncond = new UNet(TINY)) {
      IllegalArgumentException unconditional = assertThrows(IllegalArgumentException.class,
          () -> new ClassifierFreeGuidance(uncond, new long[] {0}, 3.0));
      assertTrue(unconditional.getMessage().contains("unconditional"), unconditional.getMessage());
      IllegalArgumentException range = assertThrows(IllegalArgumentException.class, () -> new ClassifierFreeGuidance(cond, new long[] {3}, 3.0));
      assertTrue(range.getMessage().contains("0..2"), range.getMessage());
      assertThrows(IllegalArgumentException.class, () -> new ClassifierFreeGuidance(cond, new long[] {-1}, 3.0));
      assertThrows(IllegalArgumentException.class, () -> new ClassifierFreeGuidance(cond, new long[0], 3.0));
      IllegalArgumentException negative = assertThrows(IllegalArgumentException.class, () -> new ClassifierFreeGuidance(cond, new long[] {0}, -0.5));
      assertTrue(negative.getMessage().contains("guidanceScale"), negative.getMessage());
      assertThrows(IllegalArgumentException.class, () -> new ClassifierFreeGuidance(cond, new long[] {0}, Double.NaN));
    }
  }
}
