package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * LibTorch's own Adam or AdamW ({@code torch::optim::Adam}/{@code AdamW}),
 * the same arithmetic as {@code torch.optim.Adam}/{@code AdamW}. The
 * {@code nn} layer wraps it; this class only owns the native object.
 *
 * <p>The optimizer holds references to the parameter tensors' storage (not to
 * the Java handles), so it stays valid if those handles are closed. A parameter
 * made over Java-owned memory ({@link Torch#fromSegment}, or a state dict loaded
 * zero-copy) is written in place by {@link #step()}: once that memory is freed,
 * every method but {@link #close()} throws {@link IllegalStateException}.
 */
public final class NativeOptimizer implements AutoCloseable {
  static {
    NativeLibrary.load();
  }


  /** The handle, and the Java-owned memory of parameters made over segments, if any. */
  private final NativeHandle owned;

  private NativeOptimizer(MemorySegment handle, MemorySegment[] backing) {
    this.owned = NativeHandle.of(this, NativeHandle.Kind.OPTIMIZER, handle, backing);
  }

  /**
   * Creates Adam (Kingma and Ba 2015) or, with {@code decoupled}, AdamW
   * (Loshchilov and Hutter 2019).
   *
   * @param params leaf tensors that require grad
   * @param lr learning rate, &gt;= 0
   * @param beta1 first-moment decay in [0, 1)
   * @param beta2 second-moment decay in [0, 1)
   * @param eps denominator term, &gt;= 0
   * @param weightDecay L2 penalty (Adam) or decoupled decay (AdamW), &gt;= 0
   * @param amsgrad use the AMSGrad variant
   * @param decoupled AdamW instead of Adam
   * @return the optimizer
   * @throws TorchException if an argument is out of range or a parameter is not a leaf requiring grad
   */
  public static NativeOptimizer adam(List<Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay,
      boolean amsgrad, boolean decoupled) {
    Native n = Native.get();
    MemorySegment h = dd_adam_new(n.ctx, n.handles(params), params.size(), lr, beta1, beta2, eps, weightDecay, amsgrad ? 1 : 0,
        decoupled ? 1 : 0);
    n.check(params);
    MemorySegment[] backing = params.stream().map(Tensor::backing).filter(Objects::nonNull).flatMap(Arrays::stream).distinct()
        .toArray(MemorySegment[]::new);
    return new NativeOptimizer(h, backing.length == 0 ? null : backing);
  }


  /**
   * @throws IllegalStateException if closed, or the memory a parameter was made over is freed
   */
  private MemorySegment handle() {
    return owned.get();
  }

  /** Applies one update from the parameters' current gradients ({@code Optimizer.step}). */
  public void step() {
    Native n = Native.get();
    dd_optimizer_step(n.ctx, handle());
    n.check(this);
  }

  /**
   * Clears every parameter's gradient ({@code Optimizer.zero_grad(set_to_none)}).
   *
   * @param setToNone drop the gradients (PyTorch 2's default) instead of zeroing them in place
   */
  public void zeroGrad(boolean setToNone) {
    Native n = Native.get();
    dd_optimizer_zero_grad(n.ctx, handle(), setToNone ? 1 : 0);
    n.check(this);
  }

  /**
   * @param lr the learning rate for every parameter group from the next step on, &gt;= 0
   * @throws TorchException if {@code lr < 0}
   */
  public void setLr(double lr) {
    Native n = Native.get();
    dd_optimizer_set_lr(n.ctx, handle(), lr);
    n.check(this);
  }

  /** @return the current learning rate of the first parameter group */
  public double getLr() {
    Native n = Native.get();
    double lr = dd_optimizer_get_lr(n.ctx, handle());
    n.check(this);
    return lr;
  }

  /**
   * @return the optimizer state (step counts and moment estimates) in LibTorch's own archive format
   *     ({@code torch::save(optimizer)})
   */
  public byte[] saveState() {
    Native n = Native.get();
    return Serialization.takeBytes(n, dd_optimizer_save(n.ctx, handle()), this);
  }

  /**
   * Restores state written by {@link #saveState()} for an optimizer over
   * parameters of the same shapes, in the same order.
   *
   * @param state the archive bytes
   * @throws TorchException if the archive is corrupt or does not match the parameters
   */
  public void loadState(byte[] state) {
    if (state.length == 0) throw new IllegalArgumentException("optimizer state is empty");
    Native n = Native.get();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment buf = arena.allocate(state.length);
      MemorySegment.copy(state, 0, buf, ValueLayout.JAVA_BYTE, 0, state.length);
      dd_optimizer_load(n.ctx, handle(), buf, state.length);
      n.check(this);
    }
  }

  /** Frees the native optimizer. Closing twice does nothing. */
  @Override
  public void close() {
    owned.close();
  }
}
