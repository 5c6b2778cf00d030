package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** channels_last against hand-computed strides, and the same values in either layout. */
class MemoryFormatTest extends TorchTestBase {

  @Test
  void channelsLastStoresTheChannelsOfAPixelTogether() {
    Tensor x = Torch.arange(0, 2 * 3 * 4 * 5, 1, DType.FLOAT32, Device.CPU).view(2, 3, 4, 5);
    assertTrue(x.isContiguous(MemoryFormat.CONTIGUOUS_FORMAT));
    assertFalse(x.isContiguous(MemoryFormat.CHANNELS_LAST));
    Tensor cl = x.contiguous(MemoryFormat.CHANNELS_LAST);
    assertArrayEquals(new long[] {2, 3, 4, 5}, cl.shape());
    // N, H, W, C in memory: C is the fastest dimension, then W, then H, then N.
    assertArrayEquals(new long[] {60, 1, 15, 3}, cl.stride());
    assertTrue(cl.isContiguous(MemoryFormat.CHANNELS_LAST));
    assertFalse(cl.isContiguous());
    assertTrue(cl.equal(x), "the same elements");
    assertArrayEquals(x.toFloatArray(), cl.contiguous().toFloatArray());
  }

  @Test
  void convolutionsAgreeInBothLayouts() {
    Tensor x = Torch.randn(2, 3, 8, 8);
    Tensor w = Torch.randn(4, 3, 3, 3);
    long[] one = {1, 1};
    Tensor a = Functional.conv2d(x, w, null, one, one, one, 1);
    Tensor b = Functional.conv2d(x.contiguous(MemoryFormat.CHANNELS_LAST), w.contiguous(MemoryFormat.CHANNELS_LAST), null, one, one,
        one, 1);
    assertTrue(b.isContiguous(MemoryFormat.CHANNELS_LAST), "the output stays channels-last");
    assertTrue(a.sub(b).abs().amax().item() < 1e-4, "the same result up to summation order");
  }

  @Test
  void channelsLastNeedsFourDimensions() {
    TorchException e = assertThrows(TorchException.class, () -> Torch.zeros(2, 3).contiguous(MemoryFormat.CHANNELS_LAST));
    assertEquals("dd_contiguous", e.function());
  }
}
