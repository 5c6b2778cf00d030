package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A captured CUDA graph ({@code torch.cuda.CUDAGraph}): the kernels of some GPU work,
 * recorded once and then replayed with a single launch. On a GPU, launching each op
 * dominates the time of small batches; a replay removes that cost.
 *
 * <p>The contract is PyTorch's:
 * <ul>
 *   <li><b>Static tensors.</b> A replay runs the recorded kernels on the very memory the
 *       capture used. The caller allocates the inputs on the device before capture, and
 *       before each replay copies new values into them ({@link Tensor#copy_}); the outputs
 *       are the tensors that the captured work created, and each replay overwrites them in
 *       place, so read (or copy) them before the next replay. Keep every static tensor open
 *       as long as the graph is replayed.
 *   <li><b>Warm-up first.</b> Run the work eagerly once or a few times before capture,
 *       on the same shapes, so that lazy initialisation (library handles, kernel choice,
 *       the allocator's first blocks) does not happen during capture.
 *   <li><b>Capture records, it does not compute.</b> {@link #capture} runs the work once,
 *       but its ops are recorded, not executed: the outputs hold their values only after a
 *       {@link #replay()}. The work must not synchronise with the host ({@link Tensor#item()},
 *       {@link Tensor#cpu()}, {@link Torch#cudaSynchronize}, reading a GPU tensor's values):
 *       that makes the capture fail. Shapes and control flow are frozen at capture time.
 *   <li><b>Memory pool.</b> Memory that the work allocates during capture comes from a
 *       private pool of the graph, which stays reserved while the graph lives, because a
 *       replay writes into it; {@link #close()} gives it back (blocks that an output tensor
 *       still uses stay until that tensor is closed).
 *   <li><b>One thread.</b> Capture is per OS thread: until it ends, the ops that the
 *       capturing thread issues on the device go to the graph, through a side stream that
 *       is that thread's current stream meanwhile. The work therefore runs on the calling
 *       thread, which must be a platform thread; a virtual thread may move to another
 *       carrier between two native calls, and is refused. While a capture is open, other
 *       threads should not use that device (LibTorch captures in CUDA's global mode, in
 *       which their allocations make the capture fail).
 *   <li><b>Random numbers.</b> Random ops in the work should draw from the device's default
 *       generator (a {@code null} {@link Generator}): LibTorch registers it with every graph,
 *       so each replay draws new numbers. Other generators are not registered.
 * </ul>
 *
 * {@snippet :
 * Device gpu = Device.cuda(0);
 * Tensor x = Torch.zeros(new long[] {16, 1, 32, 32}, DType.FLOAT32, gpu); // static input
 * Tensor[] y = new Tensor[1];                                              // static output
 * for (int i = 0; i < 3; i++) {                                            // warm-up
 *   try (Scope s = Scope.open()) {
 *     model.forward(x, t);
 *   }
 * }
 * try (CudaGraph graph = CudaGraph.capture(gpu, () -> y[0] = model.forward(x, t))) {
 *   for (Tensor batch : batches) {
 *     x.copy_(batch);
 *     graph.replay();
 *     consume(y[0]);
 *   }
 * }
 * }
 *
 * <p>A graph may be replayed from any thread, on that thread's current stream. Graphs
 * need a LibTorch built with CUDA and a visible device; elsewhere {@link #capture} throws.
 */
public final class CudaGraph implements AutoCloseable {
  static {
    NativeLibrary.load();
  }

  private final Device device;
  private final NativeHandle owned;

  private CudaGraph(NativeHandle owned, Device device) {
    this.device = device;
    this.owned = owned;
    owned.backstop(this);
  }

  /**
   * Captures {@code work} into a new graph ({@code with torch.cuda.graph(g): work()}): waits
   * for the device, runs {@code work} once on the calling thread while recording its ops on
   * {@code device}, and returns the graph, ready to {@link #replay()}.
   *
   * @param device the CUDA device whose ops are captured
   * @param work the ops to record; it should create its outputs and keep them (see the class comment)
   * @return the captured graph, which the caller closes
   * @throws IllegalArgumentException if {@code device} is not a CUDA device
   * @throws IllegalStateException if called on a virtual thread: native capture needs one OS thread
   * @throws TorchException if LibTorch was built without CUDA ("CUDA graphs need a LibTorch built
   *     with CUDA"), the device is not available, or the capture failed (for one, because the work
   *     synchronised with the host); nothing stays allocated then
   * @throws RuntimeException whatever {@code work} throws, after the capture is ended and freed
   */
  public static CudaGraph capture(Device device, Runnable work) {
    Objects.requireNonNull(device, "device");
    Objects.requireNonNull(work, "work");
    if (!device.isCuda()) throw new IllegalArgumentException("CUDA graphs need a CUDA device, got " + device);
    if (Thread.currentThread().isVirtual()) {
      throw new IllegalStateException("CUDA graph capture on a virtual thread: native capture needs one OS thread, "
          + "and a virtual thread may move to another carrier between two native calls; capture on a platform thread");
    }
    Native n = Native.get();
    MemorySegment h = dd_cuda_graph_capture_begin(n.ctx, device.index());
    n.check();
    // Owned from here on, without a backstop until the capture has ended on this thread.
    NativeHandle graph = new NativeHandle(NativeHandle.Kind.CUDA_GRAPH, h, null);
    try {
      work.run();
    } catch (Throwable t) {
      // The capture must end on this thread whatever happened, or the thread keeps capturing.
      dd_cuda_graph_capture_end(n.ctx, h);
      try {
        n.check();
      } catch (TorchException e) {
        t.addSuppressed(e);
      }
      graph.close();
      throw t;
    }
    dd_cuda_graph_capture_end(n.ctx, h);
    try {
      n.check();
    } catch (TorchException e) {
      graph.close();
      throw e;
    }
    return new CudaGraph(graph, device);
  }

  /** @return the device this graph runs on */
  public Device device() {
    return device;
  }

  /**
   * Launches the captured work again ({@code CUDAGraph.replay}), on the calling thread's
   * current stream; like any CUDA op it returns before the work is done, and reading an
   * output waits for it.
   *
   * @throws IllegalStateException if the graph is closed
   * @throws TorchException if the launch fails
   */
  public void replay() {
    Native n = Native.get();
    dd_cuda_graph_replay(n.ctx, owned.get());
    n.check(this);
  }

  /** Frees the graph and its memory pool. Closing twice does nothing. */
  @Override
  public void close() {
    owned.close();
  }
}
