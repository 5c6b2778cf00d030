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
    int max = 4 * Runtime.getRuntime().availableProcessors();
    assertEquals(max, Torch.maxNumThreads());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Torch.setNumThreads(0));
    assertEquals("thread count must be in 1.." + max + " (4 per available core), got 0", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Torch.setNumThreads(-2));
    e = assertThrows(IllegalArgumentException.class, () -> Torch.setNumThreads(100_000));
    assertTrue(e.getMessage().endsWith("got 100000"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Torch.setNumThreads(max + 1));
    assertEquals(before, Torch.getNumThreads());
    Torch.setNumThreads(max);
    assertEquals(max, Torch.getNumThreads());
    Torch.setNumThreads(before);
  }

  /**
   * LibTorch keeps its OpenMP thread count per OS thread: a thread that ran ops before
   * {@code setNumThreads} kept its old count. The count now reaches it too.
   */
  @Test
  void theCountReachesThreadsThatAlreadyRanOps() throws Exception {
    int before = Torch.getNumThreads();
    var ready = new java.util.concurrent.CountDownLatch(1);
    var changed = new java.util.concurrent.CountDownLatch(1);
    int[] seen = new int[3];
    Thread worker = new Thread(() -> {
      try (Scope s = Scope.open()) {
        Torch.ones(8, 8).matmul(Torch.ones(8, 8));
        seen[0] = Torch.getNumThreads();
        ready.countDown();
        changed.await();
        seen[1] = Torch.getNumThreads();
        Torch.ones(8, 8).matmul(Torch.ones(8, 8));
        seen[2] = Torch.getNumThreads();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    try {
      Torch.setNumThreads(2);
      worker.start();
      ready.await();
      Torch.setNumThreads(1);
      changed.countDown();
      worker.join();
      assertArrayEquals(new int[] {2, 1, 1}, seen);
    } finally {
      Torch.setNumThreads(before);
    }
  }
}
