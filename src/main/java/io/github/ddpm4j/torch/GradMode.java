package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import io.github.ddpm4j.ffi.dd_ctx;

/**
 * Autograd recording modes of the current thread, as in
 * {@code torch.no_grad()} and {@code torch.inference_mode()}.
 *
 * <p>The mode lives in this thread's native call context and is applied by the
 * shim inside every downcall, so it is correct for virtual threads that move
 * between carrier threads, and never leaks to other threads.
 * {@snippet :
 * try (var g = GradMode.noGrad()) {
 *   Tensor eps = model.forward(x, t); // records no graph
 * }
 * }
 */
public final class GradMode implements AutoCloseable {
  private final Thread owner = Thread.currentThread();
  private final int previous;
  private boolean closed;

  private GradMode(int mode) {
    var ctx = Native.get().ctx;
    previous = dd_ctx.grad_mode(ctx);
    dd_ctx.grad_mode(ctx, mode);
  }

  /** @return a guard that disables gradient recording until closed ({@code torch.no_grad}) */
  public static GradMode noGrad() {
    return new GradMode(DD_GRAD_DISABLED());
  }

  /** @return a guard that enables gradient recording until closed ({@code torch.enable_grad}) */
  public static GradMode enableGrad() {
    return new GradMode(DD_GRAD_ENABLED());
  }

  /**
   * Inference mode ({@code torch.inference_mode}): no graph and no version
   * counters. Tensors created inside it can never take part in autograd later.
   *
   * @return a guard that holds inference mode until closed
   */
  public static GradMode inferenceMode() {
    return new GradMode(DD_GRAD_INFERENCE());
  }

  /** @return whether the current thread records gradients ({@code torch.is_grad_enabled}) */
  public static boolean isGradEnabled() {
    return dd_ctx.grad_mode(Native.get().ctx) == DD_GRAD_ENABLED();
  }

  /** @return whether the current thread is in inference mode ({@code torch.is_inference_mode_enabled}) */
  public static boolean isInferenceMode() {
    return dd_ctx.grad_mode(Native.get().ctx) == DD_GRAD_INFERENCE();
  }

  /**
   * Restores the mode that was current when this guard was made. Closing twice does nothing.
   *
   * @throws IllegalStateException if called from another thread
   */
  @Override
  public void close() {
    if (closed) return;
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException("a grad-mode guard must be closed by the thread that made it");
    }
    closed = true;
    dd_ctx.grad_mode(Native.get().ctx, previous);
  }
}
