package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeFalse;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.ffi.dd_ctx;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * {@link CudaGraph}: its refusals, which hold on every machine, and capture and replay on
 * cuda:0, which skip without a GPU. Every test checks that no graph handle is left behind.
 */
class CudaGraphTest extends TorchTestBase {
  private static final Device GPU = Device.cuda(0);
  private static final String NO_CUDA_BUILD = "CUDA graphs need a LibTorch built with CUDA";

  private static long liveGraphs() {
    return Torch.liveHandles(Torch.HandleKind.CUDA_GRAPH);
  }

  private static void assertNoGraphLeft() {
    assertEquals(0, liveGraphs(), "live CUDA graph handles");
  }

  // ------------------------------------------------------------ everywhere

  @Test
  void theCpuDeviceIsRefused() {
    AtomicBoolean ran = new AtomicBoolean();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> CudaGraph.capture(Device.CPU, () -> ran.set(true)));
    assertTrue(e.getMessage().contains("CUDA graphs need a CUDA device"), e.getMessage());
    assertFalse(ran.get(), "the work did not run");
    assertThrows(NullPointerException.class, () -> CudaGraph.capture(null, () -> { }));
    assertThrows(NullPointerException.class, () -> CudaGraph.capture(GPU, null));
    assertNoGraphLeft();
  }

  @Test
  void aVirtualThreadIsRefused() throws InterruptedException {
    AtomicBoolean ran = new AtomicBoolean();
    Throwable thrown = thrownOnAnotherThread(() -> CudaGraph.capture(GPU, () -> ran.set(true)).close());
    IllegalStateException e = assertInstanceOf(IllegalStateException.class, thrown);
    assertTrue(e.getMessage().contains("native capture needs one OS thread"), e.getMessage());
    assertFalse(ran.get(), "the work did not run");
    assertNoGraphLeft();
  }

  @Test
  void aCpuOnlyLibTorchRefusesClearly() {
    assumeFalse(Torch.build().cuda(), "this LibTorch is built with CUDA");
    AtomicBoolean ran = new AtomicBoolean();
    TorchException e = assertThrows(TorchException.class, () -> CudaGraph.capture(GPU, () -> ran.set(true)));
    assertEquals(TorchException.Kind.ARGUMENT, e.kind());
    assertEquals("dd_cuda_graph_capture_begin", e.function());
    assertEquals(NO_CUDA_BUILD, e.torchMessage());
    assertFalse(ran.get(), "the work did not run");
    assertNoGraphLeft();
  }

  @Test
  void everyNativeFunctionOfACpuOnlyBuildRecordsTheSameError() {
    assumeFalse(Torch.build().cuda(), "this LibTorch is built with CUDA");
    Native n = Native.get();
    MemorySegment ctx = n.ctx;
    for (Runnable call : new Runnable[] {
        () -> dd_cuda_graph_capture_begin(ctx, 0),
        () -> dd_cuda_graph_capture_end(ctx, MemorySegment.NULL),
        () -> dd_cuda_graph_replay(ctx, MemorySegment.NULL)}) {
      call.run();
      TorchException e = assertThrows(TorchException.class, n::check);
      assertEquals(TorchException.Kind.ARGUMENT, e.kind());
      assertEquals(NO_CUDA_BUILD, e.torchMessage());
      assertEquals(DD_OK(), dd_ctx.status(ctx), "the error was taken");
    }
    dd_cuda_graph_free(MemorySegment.NULL);
    assertNoGraphLeft();
  }

  @Test
  void aCudaBuildWithoutADeviceRefusesClearly() {
    assumeTrue(Torch.build().cuda(), "this LibTorch is built without CUDA");
    assumeFalse(Torch.cudaIsAvailable(), "a CUDA device is visible");
    TorchException e = assertThrows(TorchException.class, () -> CudaGraph.capture(GPU, () -> fail("the work ran")));
    assertEquals("dd_cuda_graph_capture_begin", e.function());
    assertTrue(e.torchMessage().contains("CUDA was requested but is not available"), e.torchMessage());
    assertNoGraphLeft();
  }

  // ------------------------------------------------------------ on a GPU

  private static void needCuda() {
    assumeTrue(Torch.cudaIsAvailable(), "CUDA is not available (CPU-only LibTorch, or no visible device)");
  }

  /** A small computation with a matmul, a reduction and elementwise ops; allocates intermediates. */
  private static final UnaryOperator<Tensor> WORK = x -> x.matmul(x.transpose(0, 1)).softmax(1).mul(3).add(x.sum(new long[] {1}, true)).relu();

  @Test
  void replayAfterChangingTheStaticInputMatchesEager() {
    needCuda();
    Tensor x = Torch.zeros(new long[] {8, 8}, DType.FLOAT32, GPU);
    for (int i = 0; i < 3; i++) {
      try (Scope warmUp = Scope.open()) {
        WORK.apply(x);
      }
    }
    Tensor[] y = new Tensor[1];
    try (CudaGraph graph = CudaGraph.capture(GPU, () -> y[0] = WORK.apply(x))) {
      assertEquals(GPU, graph.device());
      assertEquals(1, liveGraphs());
      for (long seed = 1; seed <= 3; seed++) {
        Torch.manualSeed(seed);
        Tensor input = Torch.randn(8, 8);
        x.copy_(input);
        graph.replay();
        Tensor replayed = y[0].cpu();
        Tensor eager = WORK.apply(input.to(GPU)).cpu();
        Fixtures.assertValues("replay vs eager on the GPU, seed " + seed, Fixtures.values(eager), Fixtures.values(replayed), 1e-5, 1e-5);
        Fixtures.assertValues("replay vs the CPU, seed " + seed, Fixtures.values(WORK.apply(input)), Fixtures.values(replayed), 1e-3, 1e-3);
      }
    }
    assertNoGraphLeft();
  }

  @Test
  void replayRunsOnlyTheCapturedWork() {
    needCuda();
    Tensor x = Torch.ones(new long[] {4}, DType.FLOAT32, GPU);
    try (CudaGraph graph = CudaGraph.capture(GPU, () -> x.mul_(2))) {
      // Capture records without computing: x is still ones.
      assertArrayEquals(new float[] {1, 1, 1, 1}, x.cpu().toFloatArray());
      graph.replay();
      graph.replay();
      graph.replay();
      assertArrayEquals(new float[] {8, 8, 8, 8}, x.cpu().toFloatArray());
    }
    assertNoGraphLeft();
  }

  @Test
  void randomOpsDrawNewNumbersOnEachReplay() {
    needCuda();
    Tensor[] r = new Tensor[1];
    try (Scope warmUp = Scope.open()) {
      Torch.randn(new long[] {64}, DType.FLOAT32, GPU, null);
    }
    try (CudaGraph graph = CudaGraph.capture(GPU, () -> r[0] = Torch.randn(new long[] {64}, DType.FLOAT32, GPU, null))) {
      graph.replay();
      Tensor first = r[0].cpu();
      graph.replay();
      Tensor second = r[0].cpu();
      assertFalse(first.equal(second), "a replay draws new numbers from the default generator");
    }
    assertNoGraphLeft();
  }

  @Test
  void aFailedCaptureIsFreedAndTheThreadRunsEagerlyAgain() {
    needCuda();
    Tensor x = Torch.ones(new long[] {4}, DType.FLOAT32, GPU);
    // item() synchronises with the host, which a capture cannot record.
    assertThrows(TorchException.class, () -> CudaGraph.capture(GPU, () -> x.sum().item()));
    assertNoGraphLeft();
    assertEquals(4.0, x.sum().item(), "eager ops run again on this thread");

    IllegalStateException fromWork = new IllegalStateException("from the work");
    RuntimeException e = assertThrows(RuntimeException.class, () -> CudaGraph.capture(GPU, () -> {
      x.add(1);
      throw fromWork;
    }));
    assertSame(fromWork, e, "the work's exception comes out as it was");
    assertNoGraphLeft();
    assertEquals(8.0, x.add(1).sum().item());
  }

  @Test
  void closeFreesOnceAndAClosedGraphRefusesReplay() {
    needCuda();
    Tensor x = Torch.ones(new long[] {4}, DType.FLOAT32, GPU);
    CudaGraph graph = CudaGraph.capture(GPU, () -> x.add_(1));
    assertEquals(1, liveGraphs());
    graph.close();
    graph.close();
    assertNoGraphLeft();
    IllegalStateException e = assertThrows(IllegalStateException.class, graph::replay);
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void aGraphReplaysFromAnotherThread() throws InterruptedException {
    needCuda();
    Tensor x = Torch.zeros(new long[] {4}, DType.FLOAT32, GPU);
    try (CudaGraph graph = CudaGraph.capture(GPU, () -> x.add_(1))) {
      assertNull(thrownOnAnotherThread(() -> {
        graph.replay();
        Torch.cudaSynchronize(GPU);
      }));
      assertArrayEquals(new float[] {1, 1, 1, 1}, x.cpu().toFloatArray());
    }
    assertNoGraphLeft();
  }
}
