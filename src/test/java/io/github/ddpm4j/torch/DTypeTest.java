package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** dtype conversions against PyTorch fixtures, and scalar reads. */
class DTypeTest extends TorchTestBase {
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("dtypes");
  }

  @Test
  void floatConversionsMatchPyTorch() {
    Tensor f = fx.tensor("f");
    assertEquals(DType.FLOAT32, f.dtype());
    fx.assertExact("to_f64", f.to(DType.FLOAT64));
    fx.assertExact("to_bf16", f.to(DType.BFLOAT16));
    fx.assertExact("to_f16", f.to(DType.FLOAT16));
    fx.assertExact("to_i64", f.to(DType.INT64));
    fx.assertExact("to_i32", f.to(DType.INT32));
    fx.assertExact("to_bool", f.to(DType.BOOL));
    fx.assertExact("small_to_u8", fx.tensor("small").to(DType.UINT8));
  }

  @Test
  void integerConversionsAndPromotionMatchPyTorch() {
    Tensor i = fx.tensor("i64");
    fx.assertExact("i64_to_f32", i.to(DType.FLOAT32));
    fx.assertExact("i64_to_bool", i.to(DType.BOOL));
    Tensor u8 = Torch.tensor(new byte[] {(byte) 250, 3}, 2);
    fx.assertExact("u8_plus_i64", u8.add(Torch.tensor(new long[] {10, 1}, 2)));
    fx.assertExact("int_div", Torch.tensor(new long[] {7, -7}, 2).div(Torch.tensor(new long[] {2, 2}, 2)));
  }

  @Test
  void halfPrecisionRoundingByHand() {
    Tensor t = Torch.tensor(new double[] {1 + Math.pow(2, -9), 1 + Math.pow(2, -7), 70000}, 3);
    double[] bf = t.to(DType.BFLOAT16).to(DType.FLOAT64).toDoubleArray();
    assertEquals(1.0, bf[0], "bfloat16 keeps 7 mantissa bits");
    assertEquals(1 + Math.pow(2, -7), bf[1]);
    assertEquals(70144, bf[2]);
    double[] h = t.to(DType.FLOAT16).to(DType.FLOAT64).toDoubleArray();
    assertEquals(1 + Math.pow(2, -9), h[0], "float16 keeps 10 mantissa bits");
    assertEquals(Double.POSITIVE_INFINITY, h[2], "70000 overflows float16");
  }

  @Test
  void elementSizesAndNbytes() {
    long[] shape = {3, 5};
    for (DType d : DType.values()) {
      Tensor t = Torch.zeros(shape, d, Device.CPU);
      assertEquals(d, t.dtype());
      assertEquals(d.elementSize(), t.elementSize(), d.toString());
      assertEquals(15L * d.elementSize(), t.nbytes(), d.toString());
      assertEquals(15L * d.elementSize(), t.data().byteSize(), d.toString());
    }
    assertTrue(DType.BFLOAT16.isFloatingPoint());
    assertTrue(DType.FLOAT16.isFloatingPoint());
    assertFalse(DType.INT32.isFloatingPoint());
    assertFalse(DType.BOOL.isFloatingPoint());
  }

  @Test
  void roundTripsThroughEveryDtype() {
    Tensor small = Torch.tensor(floats(0, 1, 2, 100), 4);
    for (DType d : DType.values()) {
      Tensor back = small.to(d).to(DType.FLOAT32);
      float[] expected = d == DType.BOOL ? floats(0, 1, 1, 1) : floats(0, 1, 2, 100);
      assertArrayEquals(expected, back.toFloatArray(), d.toString());
    }
  }

  @Test
  void itemReads() {
    assertEquals(2.5, Torch.scalarTensor(2.5).item());
    assertEquals(0.1f, (float) Torch.full(new long[] {1, 1}, 0.1).item(), "one-element tensors of any rank");
    assertEquals(0.1, Torch.full(new long[] {}, 0.1, DType.FLOAT64, Device.CPU).item());
    long big = (1L << 53) + 1;
    Tensor l = Torch.tensor(new long[] {big}, 1);
    assertEquals(big, l.itemLong(), "itemLong is exact beyond 2^53");
    assertEquals((double) (1L << 53), l.item());
    assertEquals(-7, Torch.tensor(new int[] {-7}).itemLong());
    assertEquals(1.0, Torch.tensor(new boolean[] {true}).item());
    assertEquals(255, Torch.tensor(new byte[] {(byte) 255}).itemLong());
    assertEquals(1.5, Torch.full(new long[0], 1.5, DType.BFLOAT16, Device.CPU).item());
    assertEquals(-0.25, Torch.full(new long[0], -0.25, DType.FLOAT16, Device.CPU).item());
    assertEquals(3, Torch.full(new long[0], 3.75, DType.FLOAT32, Device.CPU).itemLong(), "itemLong truncates a float");
  }

  @Test
  void arrayReadsCheckTheDtype() {
    Tensor f = Torch.zeros(2);
    IllegalStateException e = assertThrows(IllegalStateException.class, f::toDoubleArray);
    assertTrue(e.getMessage().contains("needs dtype FLOAT64 but the tensor is FLOAT32"), e.getMessage());
    assertThrows(IllegalStateException.class, f::toLongArray);
    assertThrows(IllegalStateException.class, f::toIntArray);
    assertThrows(IllegalStateException.class, f::toByteArray);
    assertThrows(IllegalStateException.class, () -> Torch.arange(3).toFloatArray());
    IllegalStateException nc = assertThrows(IllegalStateException.class, () -> Torch.zeros(2, 3).transpose(0, 1).toFloatArray());
    assertTrue(nc.getMessage().contains("contiguous"), nc.getMessage());
  }

  @Test
  void toReturnsANewHandleEvenWhenUnchanged() {
    Tensor t = Torch.ones(3);
    Tensor same = t.to(DType.FLOAT32);
    assertNotSame(t, same);
    same.close();
    assertFalse(t.isClosed());
    assertArrayEquals(floats(1, 1, 1), t.toFloatArray());
    assertArrayEquals(floats(1, 1, 1), t.cpu().toFloatArray());
  }
}
