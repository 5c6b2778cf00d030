package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** LibTorch's intra-op thread count. */
class ThreadsTest extends TorchTestBase {

  @Test
  void testThreadCountIsApplied() {
    assertEquals(TEST_THREADS, Torch.getNumThreads());
  }

  @Test
  void setAndGetRoundTrip() {
    int before = Torch.getNumThreads();
    Tensor a = Torch.randn(new long[] {64, 64}, DType.FLOAT64, Device.CPU, null);
    Tensor expected = a.matmul(a);
    try {
      Torch.setNumThreads(1);
      assertEquals(1, Torch.getNumThreads());
      assertTrue(a.matmul(a).sub(expected).abs().amax().item() < 1e-9, "results do not depend on the thread count");
      Torch.setNumThreads(3);
      assertEquals(3, Torch.getNumThreads());
      assertTrue(a.matmul(a).sub(expected).abs().amax().item() < 1e-9);
    } finally {
      Torch.setNumThreads(before);
    }
    assertEquals(before, Torch.getNumThreads());
  }

  @Test
  void invalidCountsAreRejected() {
    int before = Torch.getNumThreads();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Torch.setNumThreads(0));
    assertEquals("thread count must be >= 1, got 0", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Torch.setNumThreads(-2));
    assertEquals(before, Torch.getNumThreads());
  }
}
