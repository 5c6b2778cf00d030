package io.github.ddpm4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The classifier's layout, shapes, errors and loss, and the weights shipped as a resource. */
class FashionClassifierTest extends TorchTestBase {


  @Test
  void stateDictHasPyTorchNamesAndShapes() {
    try (FashionClassifier c = new FashionClassifier(0.1)) {
      assertEquals(List.of("conv1.weight", "conv1.bias", "norm1.weight", "norm1.bias", "conv2.weight", "conv2.bias", "norm2.weight",
          "norm2.bias", "conv3.weight", "conv3.bias", "norm3.weight", "norm3.bias", "fc1.weight", "fc1.bias", "fc.weight", "fc.bias"), List.copyOf(c.stateDict().keySet()));
      assertArrayEquals(new long[] {32, 1, 3, 3}, c.stateDict().get("conv1.weight").shape());
      assertArrayEquals(new long[] {64, 32, 3, 3}, c.stateDict().get("conv2.weight").shape());
      assertArrayEquals(new long[] {64, 64, 3, 3}, c.stateDict().get("conv3.weight").shape());
      assertArrayEquals(new long[] {128, 3136}, c.stateDict().get("fc1.weight").shape());
      assertArrayEquals(new long[] {10, 128}, c.stateDict().get("fc.weight").shape());
      // convolutions 320 + 18,496 + 36,928, GroupNorm 2 * (32 + 64 + 64), fc1 3136 * 128 + 128, fc 1,290
      assertEquals(320 + 18_496 + 36_928 + 320 + 401_536 + 1_290, c.parameterCount());
    }
  }

  @Test
  void featuresAndLogitsHaveTheDocumentedShapes() {
    try (FashionClassifier c = new FashionClassifier(0.5)) {
      Tensor x = Torch.rand(3, 1, 28, 28).mul(2).sub(1);
      Tensor f = c.features(x);
      assertArrayEquals(new long[] {3, 128}, f.shape());
      assertArrayEquals(new long[] {3, 10}, c.logits(x).shape());
      // evaluation mode whatever the training flag: no dropout, the same logits twice
      assertTrue(c.logits(x).equal(c.logits(x)));
      assertTrue(c.head(f).sub(c.logits(x)).abs().amax().item() < 1e-5);
      // after SiLU and the mean, features are > -0.279 (SiLU's minimum)
      assertTrue(f.amin().item() > -0.28);
    }
  }

  @Test
  void refusesImagesOfAnotherShapeNamingTheShapeExpected() {
    try (FashionClassifier c = new FashionClassifier(0)) {
      for (long[] shape : List.of(new long[] {2, 3, 28, 28}, new long[] {2, 1, 32, 32}, new long[] {1, 28, 28})) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> c.features(Torch.zeros(shape)));
        assertTrue(e.getMessage().contains("[n, 1, 28, 28]"), e.getMessage());
      }
      IllegalArgumentException dtype = assertThrows(IllegalArgumentException.class,
          () -> c.logits(Torch.zeros(new long[] {1, 1, 28, 28}, DType.FLOAT64, Device.CPU)));
      assertTrue(dtype.getMessage().contains("float32"), dtype.getMessage());
    }
  }

  @Test
  void crossEntropyIsMinusTheMeanLogProbabilityOfTheLabel() {
    // uniform logits over 10 classes: ln 10
    assertEquals(Math.log(10), FashionClassifier.crossEntropy(Torch.zeros(4, 10), Torch.tensor(new long[] {0, 3, 9, 5}, 4)).item(), 1e-6);
    // logits (0, ln 3): p = (1/4, 3/4); labels 1 and 0 give (-ln 3/4 - ln 1/4) / 2
    Tensor logits = Torch.tensor(new float[] {0, (float) Math.log(3), 0, (float) Math.log(3)}, 2, 2);
    double expected = (-Math.log(0.75) - Math.log(0.25)) / 2;
    assertEquals(expected, FashionClassifier.crossEntropy(logits, Torch.tensor(new long[] {1, 0}, 2)).item(), 1e-6);
    assertThrows(IllegalArgumentException.class, () -> FashionClassifier.crossEntropy(Torch.zeros(2, 10), Torch.tensor(new long[] {1}, 1)));
  }

  @Test
  void theShippedWeightsLoadAsFloat32() throws Exception {
    try (FashionClassifier c = Evaluator.shippedClassifier(Device.CPU)) {
      assertEquals(DType.FLOAT32, c.stateDict().get("conv1.weight").dtype());
      assertTrue(c.stateDict().get("fc.weight").abs().sum().item() > 0);
      assertTrue(!c.isTraining());
    }
  }
}
