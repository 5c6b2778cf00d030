package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Handle lifetime: scopes, explicit close, the garbage-collector backstop. These
 * tests open their own scopes (no per-test scope), because the backstop only
 * frees tensors that no scope holds.
 */
class LifetimeTest {

  @BeforeAll
  static void useTestThreads() {
    TorchTestBase.useTestThreads();
  }

  /** Lets the Cleaner free earlier garbage, so that live counts only move because of the test. */
  static long settledLiveHandles() throws InterruptedException {
    long last = Torch.liveHandles();
    for (int stable = 0, rounds = 0; stable < 3 && rounds < 50; rounds++) {
      System.gc();
      Thread.sleep(10);
      long now = Torch.liveHandles();
      stable = now == last ? stable + 1 : 0;
      last = now;
    }
    return last;
  }

  @Test
  void hundredThousandScopedOpsLeaveNoHandles() throws InterruptedException {
    long start = settledLiveHandles();
    double total = 0;
    for (int s = 0; s < 1000; s++) {
      try (Scope scope = Scope.open()) {
        Tensor x = Torch.zeros(4);
        for (int op = 1; op < 100; op++) x = (op % 2 == 0) ? x.add(1.0) : x.mul(1.0);
        assertEquals(100, scope.size());
        assertEquals(start + 100, Torch.liveHandles());
        total += x.select(0, 0).item();
      }
    }
    assertEquals(1000 * 49.0, total);
    assertEquals(start, Torch.liveHandles());
  }

  /**
   * A closing scope frees its handles in batches of {@link Native#SLOT_LONGS} per downcall: more
   * tensors than one batch, mixed with tensors closed early, kept by the parent scope, released
   * to the backstop, and with data views, all end freed exactly once, newest first.
   */
  @Test
  void aClosingScopeFreesEveryHandleOnceInBatches() throws InterruptedException {
    long start = settledLiveHandles();
    int n = 2 * Native.SLOT_LONGS + 7;
    Tensor released;
    try (Scope outer = Scope.open()) {
      Tensor kept;
      java.util.List<Tensor> all = new java.util.ArrayList<>();
      java.lang.foreign.MemorySegment view;
      try (Scope inner = Scope.open()) {
        for (int i = 0; i < n; i++) all.add(Torch.full(new long[] {2}, i, DType.FLOAT32, Device.CPU));
        for (int i = 0; i < n; i += 5) all.get(i).close();
        kept = Scope.keep(all.get(1));
        released = Scope.release(all.get(2));
        view = all.get(3).data();
        assertEquals(3.0f, view.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0));
        assertEquals(n - (n + 4) / 5 - 2, inner.size());
        assertEquals(start + n - (n + 4) / 5, Torch.liveHandles());
      }
      for (int i = 0; i < n; i++) {
        boolean open = all.get(i) == kept || all.get(i) == released;
        assertEquals(!open, all.get(i).isClosed(), "tensor " + i);
      }
      assertThrows(IllegalStateException.class, () -> view.get(java.lang.foreign.ValueLayout.JAVA_FLOAT, 0),
          "a freed tensor's data view is closed");
      assertEquals(1.0, kept.select(0, 0).item());
      assertEquals(start + 3, Torch.liveHandles(), "kept, released and the select result");
    }
    assertEquals(2.0, released.select(0, 0).item());
    released.close();
    assertEquals(start, settledLiveHandles());
  }

  /**
   * Another thread may close a tensor that a scope owns while the scope's own thread keeps adding
   * tensors to it: the scope's list belongs to its thread, so such a close frees the handle and
   * leaves the list alone; the scope skips the freed handle when it closes. Each tensor ends freed
   * exactly once. Moving a tensor out of another thread's scope ({@code keep}, {@code release}) is
   * refused.
   */
  @Test
  void closingScopedTensorsFromAnotherThreadLeavesTheScopeIntact() throws Exception {
    long start = settledLiveHandles();
    int n = 20_000;
    java.util.concurrent.BlockingQueue<Tensor> made = new java.util.concurrent.LinkedBlockingQueue<>();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    Thread closer = Thread.ofPlatform().start(() -> {
      try {
        for (int i = 0; i < n; i++) made.take().close();
      } catch (Throwable e) {
        failure.set(e);
      }
    });
    try (Scope scope = Scope.open()) {
      for (int i = 0; i < n; i++) made.add(Torch.zeros(1));
      closer.join();
      assertNull(failure.get(), () -> "closing thread failed: " + failure.get());
      Tensor mine = Torch.zeros(1);
      Throwable keep = TorchTestBase.thrownOnAnotherThread(() -> Scope.keep(mine));
      assertInstanceOf(IllegalStateException.class, keep);
      assertTrue(keep.getMessage().contains("only that thread"), keep.getMessage());
      assertInstanceOf(IllegalStateException.class, TorchTestBase.thrownOnAnotherThread(() -> Scope.release(mine)));
    }
    assertEquals(start, Torch.liveHandles());
  }

  @Test
  void closeFreesOnceAndTwiceIsHarmless() throws InterruptedException {
    long start = settledLiveHandles();
    Tensor t = Torch.ones(3);
    assertEquals(start + 1, Torch.liveHandles());
    assertFalse(t.isClosed());
    t.close();
    assertTrue(t.isClosed());
    assertEquals(start, Torch.liveHandles());
    t.close();
    assertEquals(start, Torch.liveHandles());
    assertEquals("Tensor[closed]", t.toString());
  }

  @Test
  void everyMethodOfAClosedTensorThrows() {
    Tensor other = Torch.ones(2, 2);
    Tensor t = Torch.ones(2, 2);
    t.shape();
    t.dtype();
    t.device();
    t.close();
    List<Consumer<Tensor>> uses = List.of(Tensor::item, Tensor::itemLong, Tensor::shape, Tensor::dtype, Tensor::device,
        Tensor::numel, Tensor::dim, Tensor::nbytes, Tensor::stride, Tensor::isContiguous, Tensor::requiresGrad,
        Tensor::toFloatArray, Tensor::data, Tensor::sum, Tensor::clone, Tensor::detach, Tensor::grad, Tensor::backward,
        x -> x.size(0), x -> x.add(1.0), x -> x.add(other), x -> other.add(x), x -> x.matmul(other), x -> other.matmul(x),
        x -> x.view(4), x -> x.select(0, 0), x -> x.chunk(2, 0), x -> x.to(DType.FLOAT64), x -> x.requiresGrad_(true),
        x -> x.fill_(1), x -> other.copy_(x), x -> x.equal(other), x -> Torch.cat(List.of(other, x), 0),
        x -> Torch.where(other.gt(0), x, other), x -> Torch.einsum("ij->i", x), x -> Scope.keep(x), Torch::zerosLike);
    for (int i = 0; i < uses.size(); i++) {
      Consumer<Tensor> use = uses.get(i);
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> use.accept(t), "use #" + i);
      assertEquals("tensor is closed", e.getMessage(), "use #" + i);
    }
    assertArrayEquals(floats(1, 1, 1, 1), other.toFloatArray(), "other tensors are unaffected");
    other.close();
  }

  private static float[] floats(double... v) {
    return TorchTestBase.floats(v);
  }

  @Test
  void scopeFreesItsTensorsAndKeepMovesOneToTheParent() throws InterruptedException {
    long start = settledLiveHandles();
    Tensor kept;
    Tensor temp;
    try (Scope outer = Scope.open()) {
      try (Scope inner = Scope.open()) {
        temp = Torch.zeros(2);
        kept = Scope.keep(Torch.ones(2).mul(3.0));
        assertEquals(2, inner.size(), "the ones() temporary and zeros()");
        assertEquals(1, outer.size());
      }
      assertTrue(temp.isClosed());
      assertFalse(kept.isClosed());
      assertArrayEquals(floats(3, 3), kept.toFloatArray());
      assertEquals(start + 1, Torch.liveHandles());
    }
    assertTrue(kept.isClosed());
    assertEquals(start, Torch.liveHandles());
  }

  @Test
  void keepFromTheOutermostScopeHandsOwnershipToTheCaller() throws InterruptedException {
    long start = settledLiveHandles();
    Tensor mine;
    try (Scope s = Scope.open()) {
      mine = Scope.keep(Torch.ones(1));
      assertEquals(0, s.size());
    }
    assertFalse(mine.isClosed());
    assertEquals(1.0, mine.item());
    mine.close();
    assertEquals(start, Torch.liveHandles());
    assertThrows(IllegalStateException.class, () -> Scope.keep(mine));
  }

  @Test
  void closingATensorRemovesItFromItsScope() {
    try (Scope s = Scope.open()) {
      Tensor a = Torch.zeros(1);
      Torch.zeros(1);
      assertEquals(2, s.size());
      a.close();
      assertEquals(1, s.size());
      s.close();
      s.close();
      assertEquals(0, s.size());
    }
  }

  @Test
  void scopesMustCloseInnermostFirst() {
    Scope outer = Scope.open();
    Scope inner = Scope.open();
    try {
      IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
      assertEquals("scopes must be closed innermost first", e.getMessage());
      Tensor t = Torch.zeros(1);
      assertEquals(1, inner.size(), "the inner scope is still current");
      assertEquals(0, outer.size());
      inner.close();
      assertTrue(t.isClosed());
      Tensor u = Torch.zeros(1);
      assertEquals(1, outer.size(), "the outer scope is current again");
      outer.close();
      assertTrue(u.isClosed());
    } finally {
      inner.close();
      outer.close();
    }
  }

  @Test
  void aScopeIsConfinedToItsThread() throws InterruptedException {
    Throwable thrown;
    try (Scope s = Scope.open()) {
      Tensor t = Torch.zeros(1);
      thrown = TorchTestBase.thrownOnAnotherThread(s::close);
      assertFalse(t.isClosed());
    }
    assertInstanceOf(IllegalStateException.class, thrown);
    assertEquals("a scope must be closed by the thread that opened it", thrown.getMessage());
  }

  @Test
  void tensorsMadeOnAnotherThreadDoNotJoinThisThreadsScope() throws InterruptedException {
    AtomicReference<Tensor> made = new AtomicReference<>();
    try (Scope s = Scope.open()) {
      Thread th = Thread.ofVirtual().start(() -> made.set(Torch.zeros(1)));
      th.join();
      assertEquals(0, s.size());
    }
    assertFalse(made.get().isClosed());
    made.get().close();
  }

  private static void dropTensors(int n) {
    for (int i = 0; i < n; i++) Torch.ones(8).mul(2.0).close();
    for (int i = 0; i < n; i++) Torch.ones(8);
  }

  private static void dropGenerators(int n) {
    for (int i = 0; i < n; i++) new Generator(i);
  }

  @Test
  void garbageCollectorFreesDroppedTensorsAndGenerators() throws InterruptedException {
    long start = settledLiveHandles();
    long generators = Torch.liveHandles(Torch.HandleKind.GENERATOR);
    dropTensors(300);
    dropGenerators(20);
    long afterDrop = Torch.liveHandles();
    assertTrue(afterDrop > start, "dropped handles stay alive until the collector finds them");
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (Torch.liveHandles() > start && System.nanoTime() < deadline) {
      System.gc();
      Thread.sleep(20);
    }
    long end = Torch.liveHandles();
    assertTrue(end <= start, "the Cleaner freed every dropped handle: " + end + " live, " + start + " before");
    assertEquals(generators, Torch.liveHandles(Torch.HandleKind.GENERATOR));
  }
}
