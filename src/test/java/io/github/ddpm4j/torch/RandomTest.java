package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Random creation compared bit for bit with PyTorch's Python front end on the same LibTorch. */
class RandomTest extends TorchTestBase {
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("random");
  }

  /** The exact draw sequence of make_torch_fixtures.py after torch.manual_seed(1234). */
  private static void drawSeededSequence() {
    Torch.manualSeed(1234);
    fx.assertExact("randn_2x3", Torch.randn(2, 3));
    fx.assertExact("randn_20", Torch.randn(20));
    fx.assertExact("randn_f64_5", Torch.randn(new long[] {5}, DType.FLOAT64, Device.CPU, null));
    fx.assertExact("rand_7", Torch.rand(7));
    fx.assertExact("randint_0_10_6", Torch.randint(0, 10, new long[] {6}, Device.CPU, null));
    fx.assertExact("randperm_8", Torch.randperm(8, Device.CPU, null));
  }

  @Test
  void manualSeedReproducesPythonDraws() {
    drawSeededSequence();
  }

  @Test
  void manualSeedRestartsTheStream() {
    drawSeededSequence();
    drawSeededSequence();
  }

  @Test
  void seededGeneratorReproducesPythonDraws() {
    try (Generator g = new Generator(42)) {
      assertEquals(Device.CPU, g.device());
      fx.assertExact("gen42_randn_4", Torch.randn(new long[] {4}, DType.FLOAT32, Device.CPU, g));
      fx.assertExact("gen42_rand_3", Torch.rand(new long[] {3}, DType.FLOAT32, Device.CPU, g));
      fx.assertExact("gen42_randint_m5_5_2x2", Torch.randint(-5, 5, new long[] {2, 2}, Device.CPU, g));
      fx.assertExact("gen42_randperm_5", Torch.randperm(5, Device.CPU, g));
    }
  }

  @Test
  void generatorDrawsDoNotDisturbTheDefaultGenerator() {
    Torch.manualSeed(1234);
    try (Generator g = new Generator(42)) {
      Torch.randn(new long[] {100}, DType.FLOAT32, Device.CPU, g);
    }
    fx.assertExact("randn_2x3", Torch.randn(2, 3));
  }

  @Test
  void defaultGeneratorStateSaveAndRestoreReproducesDraws() {
    Torch.manualSeed(99);
    Torch.randn(3);
    Tensor state = Torch.getRngState();
    assertEquals(DType.UINT8, state.dtype());
    assertEquals(Device.CPU, state.device());
    assertTrue(state.numel() > 0);
    float[] first = Torch.randn(50).toFloatArray();
    long[] ints = Torch.randint(0, 1000, new long[] {10}, Device.CPU, null).toLongArray();
    Torch.setRngState(state);
    assertArrayEquals(first, Torch.randn(50).toFloatArray());
    assertArrayEquals(ints, Torch.randint(0, 1000, new long[] {10}, Device.CPU, null).toLongArray());
    assertFalse(Arrays.equals(first, Torch.randn(50).toFloatArray()), "the stream moves on after the replay");
  }

  @Test
  void generatorStateSaveAndRestoreReproducesDraws() {
    try (Generator g = new Generator(7)) {
      Torch.rand(new long[] {5}, DType.FLOAT32, Device.CPU, g);
      Tensor state = g.getState();
      float[] a = Torch.randn(new long[] {30}, DType.FLOAT32, Device.CPU, g).toFloatArray();
      long[] p = Torch.randperm(20, Device.CPU, g).toLongArray();
      g.setState(state);
      assertArrayEquals(a, Torch.randn(new long[] {30}, DType.FLOAT32, Device.CPU, g).toFloatArray());
      assertArrayEquals(p, Torch.randperm(20, Device.CPU, g).toLongArray());
    }
  }

  @Test
  void generatorStateMovesBetweenGenerators() {
    try (Generator a = new Generator(3); Generator b = new Generator(4)) {
      b.setState(a.getState());
      assertArrayEquals(Torch.randn(new long[] {8}, DType.FLOAT32, Device.CPU, a).toFloatArray(),
          Torch.randn(new long[] {8}, DType.FLOAT32, Device.CPU, b).toFloatArray());
    }
  }

  @Test
  void equalSeedsGiveEqualStreamsAndDifferentSeedsDoNot() {
    try (Generator a = new Generator(5); Generator b = new Generator(5); Generator c = new Generator(6)) {
      float[] x = Torch.rand(new long[] {16}, DType.FLOAT32, Device.CPU, a).toFloatArray();
      assertArrayEquals(x, Torch.rand(new long[] {16}, DType.FLOAT32, Device.CPU, b).toFloatArray());
      assertFalse(Arrays.equals(x, Torch.rand(new long[] {16}, DType.FLOAT32, Device.CPU, c).toFloatArray()));
    }
  }

  @Test
  void drawsHaveTheRequestedRangeAndMoments() {
    try (Generator g = new Generator(11)) {
      Tensor u = Torch.rand(new long[] {4000}, DType.FLOAT64, Device.CPU, g);
      assertTrue(u.amin().item() >= 0.0);
      assertTrue(u.amax().item() < 1.0);
      assertEquals(0.5, u.mean().item(), 0.03);
      Tensor n = Torch.randn(new long[] {4000}, DType.FLOAT64, Device.CPU, g);
      assertEquals(0.0, n.mean().item(), 0.06);
      assertEquals(1.0, n.std().item(), 0.06);
      Tensor r = Torch.randint(-3, 4, new long[] {500}, Device.CPU, g);
      assertEquals(DType.INT64, r.dtype());
      assertEquals(-3, r.amin().itemLong());
      assertEquals(3, r.amax().itemLong());
      long[] perm = Torch.randperm(50, Device.CPU, g).toLongArray();
      long[] sorted = perm.clone();
      Arrays.sort(sorted);
      for (int i = 0; i < 50; i++) assertEquals(i, sorted[i]);
      assertEquals(0, Torch.randperm(0, Device.CPU, g).numel());
    }
  }

  @Test
  void closedGeneratorIsRejected() {
    Generator g = new Generator(1);
    g.close();
    g.close();
    assertThrows(IllegalStateException.class, () -> Torch.randn(new long[] {2}, DType.FLOAT32, Device.CPU, g));
    assertThrows(IllegalStateException.class, g::getState);
    assertThrows(IllegalStateException.class, () -> g.setState(Torch.getRngState()));
  }

  @Test
  void invalidStatesAreRejected() {
    try (Generator g = new Generator(1)) {
      TorchException wrongType = assertThrows(TorchException.class, () -> g.setState(Torch.zeros(10)));
      assertEquals("dd_generator_set_state", wrongType.function());
      assertEquals(TorchException.Kind.ARGUMENT, wrongType.kind());
      assertEquals("generator state must be a uint8 CPU tensor", wrongType.torchMessage());
      TorchException wrongSize = assertThrows(TorchException.class,
          () -> g.setState(Torch.zeros(new long[] {3}, DType.UINT8, Device.CPU)));
      assertEquals("dd_generator_set_state", wrongSize.function());
      assertEquals(TorchException.Kind.TORCH, wrongSize.kind());
      assertTrue(wrongSize.torchMessage().contains("found the input RNG state size to be 3"), wrongSize.torchMessage());
      // The generator still works.
      assertEquals(3, Torch.rand(new long[] {3}, DType.FLOAT32, Device.CPU, g).numel());
    }
  }
}
