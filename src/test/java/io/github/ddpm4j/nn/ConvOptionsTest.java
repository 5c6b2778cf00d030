package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Dilation and groups of the convolution layers, checked against equivalent layers built
 * by hand: a grouped convolution is the concatenation of one convolution per group, and a
 * kernel dilated by 2 is the kernel with zeros between its elements.
 */
class ConvOptionsTest extends TorchTestBase {
  private static final long[] ONE = {1, 1};

  @Test
  void twoGroupsAreTwoConvolutionsSideBySide() {
    try (Conv2d conv = new Conv2d(4, 6, ConvOptions.kernel(3).withPadding(1).withGroups(2))) {
      assertArrayEquals(new long[] {6, 2, 3, 3}, conv.weight().shape());
      Tensor x = Torch.randn(2, 4, 5, 5);
      Tensor w = conv.weight(), b = conv.bias();
      Tensor first = Functional.conv2d(x.narrow(1, 0, 2), w.narrow(0, 0, 3), b.narrow(0, 0, 3), ONE, ONE, ONE, 1);
      Tensor second = Functional.conv2d(x.narrow(1, 2, 2), w.narrow(0, 3, 3), b.narrow(0, 3, 3), ONE, ONE, ONE, 1);
      Tensor expected = Torch.cat(List.of(first, second), 1);
      assertTrue(conv.forward(x).sub(expected).abs().amax().item() < 1e-5);
      assertEquals("Conv2d(4, 6, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=2)", conv.toString());
    }
  }

  @Test
  void aDilatedKernelIsTheKernelWithZerosBetweenItsElements() {
    try (Conv2d conv = new Conv2d(2, 3, ConvOptions.kernel(3).withDilation(2).withBias(false))) {
      Tensor x = Torch.randn(1, 2, 9, 9);
      Tensor y = conv.forward(x);
      assertArrayEquals(new long[] {1, 3, 5, 5}, y.shape(), "(9 - (2 * (3 - 1) + 1)) / 1 + 1 = 5");
      Tensor spread = Torch.zeros(3, 2, 5, 5);
      for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
          spread.select(2, 2 * i).select(2, 2 * j).copy_(conv.weight().select(2, i).select(2, j));
        }
      }
      Tensor expected = Functional.conv2d(x, spread, null, ONE, new long[] {0, 0}, ONE, 1);
      assertTrue(y.sub(expected).abs().amax().item() < 1e-5);
      assertEquals("Conv2d(2, 3, kernel_size=(3, 3), stride=(1, 1), dilation=(2, 2), bias=False)", conv.toString());
    }
  }

  @Test
  void groupsMustDivideBothChannelCounts() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Conv2d(4, 6, ConvOptions.kernel(1).withGroups(4)));
    assertEquals("groups = 4 must divide inChannels = 4 and outChannels = 6", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> ConvOptions.kernel(3).withDilation(0));
    assertThrows(IllegalArgumentException.class, () -> ConvOptions.kernel(3).withGroups(0));
    try (ConvTranspose2d up = new ConvTranspose2d(4, 6, ConvOptions.kernel(2).withStride(2).withGroups(2))) {
      assertArrayEquals(new long[] {4, 3, 2, 2}, up.weight().shape(), "PyTorch's [in, out / groups, k, k]");
      assertArrayEquals(new long[] {1, 6, 8, 8}, up.forward(Torch.randn(1, 4, 4, 4)).shape());
    }
  }
}
