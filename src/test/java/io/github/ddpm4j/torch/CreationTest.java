package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Creation functions: PyTorch fixtures for arange/linspace, hand-derived values for the rest. */
class CreationTest extends TorchTestBase {
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("creation");
  }

  @Test
  void arangeMatchesPyTorch() {
    fx.assertExact("arange_0_5_0p5_f32", Torch.arange(0, 5, 0.5, DType.FLOAT32, Device.CPU));
    fx.assertExact("arange_10_m3_m4_i64", Torch.arange(10, -3, -4, DType.INT64, Device.CPU));
    fx.assertExact("arange_1_2_0p1_f64", Torch.arange(1, 2, 0.1, DType.FLOAT64, Device.CPU));
  }

  @Test
  void arangeOfEndCountsFromZero() {
    Tensor t = Torch.arange(5);
    assertEquals(DType.INT64, t.dtype());
    assertArrayEquals(new long[] {0, 1, 2, 3, 4}, t.toLongArray());
    assertEquals(0, Torch.arange(0).numel());
  }

  @Test
  void linspaceMatchesPyTorch() {
    fx.assertClose("linspace_m1_1_7_f32", Torch.linspace(-1, 1, 7), 0, 1e-7);
    fx.assertClose("linspace_0_1_11_f64", Torch.linspace(0, 1, 11, DType.FLOAT64, Device.CPU), 0, 1e-15);
  }

  @Test
  void linspaceEndpointsAreExact() {
    double[] v = Torch.linspace(2, 3, 5, DType.FLOAT64, Device.CPU).toDoubleArray();
    assertArrayEquals(new double[] {2, 2.25, 2.5, 2.75, 3}, v);
    assertEquals(0, Torch.linspace(0, 1, 0).numel());
    assertArrayEquals(new float[] {4f}, Torch.linspace(4, 9, 1).toFloatArray());
  }

  @Test
  void fullZerosOnesAndLikes() {
    Tensor f = Torch.full(new long[] {2, 3}, 2.5);
    assertArrayEquals(new long[] {2, 3}, f.shape());
    assertEquals(DType.FLOAT32, f.dtype());
    assertEquals(Device.CPU, f.device());
    assertArrayEquals(new float[] {2.5f, 2.5f, 2.5f, 2.5f, 2.5f, 2.5f}, f.toFloatArray());
    assertArrayEquals(new float[4], Torch.zeros(4).toFloatArray());
    assertArrayEquals(new float[] {1, 1, 1}, Torch.ones(3).toFloatArray());
    Tensor i = Torch.full(new long[] {3}, 7, DType.INT32, Device.CPU);
    assertArrayEquals(new int[] {7, 7, 7}, i.toIntArray());
    Tensor zl = Torch.zerosLike(i);
    assertEquals(DType.INT32, zl.dtype());
    assertArrayEquals(new int[3], zl.toIntArray());
    Tensor ol = Torch.onesLike(Torch.zeros(new long[] {2, 2}, DType.FLOAT64, Device.CPU));
    assertArrayEquals(new double[] {1, 1, 1, 1}, ol.toDoubleArray());
    assertArrayEquals(new long[] {2, 2}, ol.shape());
    Tensor e = Torch.empty(new long[] {0, 4}, DType.FLOAT32, Device.CPU);
    assertArrayEquals(new long[] {0, 4}, e.shape());
    assertEquals(0, e.numel());
    assertEquals(0, e.toFloatArray().length);
  }

  @Test
  void scalarTensorIsZeroDimensional() {
    Tensor s = Torch.scalarTensor(3.25);
    assertEquals(0, s.dim());
    assertArrayEquals(new long[0], s.shape());
    assertEquals(1, s.numel());
    assertEquals(3.25, s.item());
  }

  @Test
  void tensorFactoriesCopyJavaArrays() {
    float[] data = {1, 2, 3, 4, 5, 6};
    Tensor t = Torch.tensor(data, 2, 3);
    data[0] = 100;
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, t.toFloatArray(), "the tensor holds a copy");
    assertArrayEquals(new long[] {3, 1}, t.stride());
    assertArrayEquals(new double[] {0.5, -1}, Torch.tensor(new double[] {0.5, -1}, 2).toDoubleArray());
    assertArrayEquals(new long[] {Long.MIN_VALUE, Long.MAX_VALUE},
        Torch.tensor(new long[] {Long.MIN_VALUE, Long.MAX_VALUE}, 2).toLongArray());
    assertArrayEquals(new int[] {-1, 2, 3, 4}, Torch.tensor(new int[] {-1, 2, 3, 4}, 2, 2).toIntArray());
    Tensor u8 = Torch.tensor(new byte[] {(byte) 255, 0, 7}, 3);
    assertEquals(DType.UINT8, u8.dtype());
    assertEquals(262, u8.sum().itemLong(), "uint8 sums widen to int64");
    Tensor b = Torch.tensor(new boolean[] {true, false, true}, 3);
    assertEquals(DType.BOOL, b.dtype());
    assertArrayEquals(new byte[] {1, 0, 1}, b.toByteArray());
  }

  @Test
  void metadataOfANewTensor() {
    Tensor t = Torch.zeros(2, 3, 4);
    assertEquals(3, t.dim());
    assertEquals(24, t.numel());
    assertEquals(3, t.size(1));
    assertEquals(4, t.size(-1));
    assertEquals(2, t.size(-3));
    assertThrows(IndexOutOfBoundsException.class, () -> t.size(3));
    assertThrows(IndexOutOfBoundsException.class, () -> t.size(-4));
    assertEquals(4, t.elementSize());
    assertEquals(96, t.nbytes());
    assertTrue(t.isContiguous());
    assertFalse(t.requiresGrad());
    assertTrue(t.isLeaf());
    assertEquals("Tensor[shape=[2, 3, 4], dtype=FLOAT32, device=cpu]", t.toString());
    long[] shape = t.shape();
    shape[0] = 99;
    assertEquals(2, t.size(0), "shape() returns a copy");
  }

  @Test
  void versionAndConfig() {
    assertTrue(Torch.version().matches("\\d+\\.\\d+\\.\\d+.*"), Torch.version());
    assertTrue(Torch.configInfo().contains("PyTorch built with"), Torch.configInfo());
    assertTrue(Torch.cudaDeviceCount() >= 0);
    assertEquals(Torch.cudaIsAvailable(), Torch.cudaDeviceCount() > 0);
  }
}
