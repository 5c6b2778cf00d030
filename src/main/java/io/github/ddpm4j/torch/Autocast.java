package io.github.ddpm4j.torch;

import io.github.ddpm4j.ffi.DdpmNative;
import io.github.ddpm4j.ffi.dd_ctx;

/**
 * Automatic mixed precision for the current thread ({@code torch.autocast}): inside the
 * guard, LibTorch runs the ops that gain from it (convolutions, linear layers, matrix
 * products) in a lower-precision floating type and keeps the precision-sensitive ones
 * (reductions, normalisation, losses) in float32, on the CPU and on CUDA alike.
 *
 * <p>The mode lives in this thread's native call context and the shim applies it inside
 * every downcall, as {@link GradMode} does: it is correct for virtual threads and never
 * leaks to other threads. Weights are cast on every op that uses them (LibTorch's cast
 * cache is off, because it would only live for one downcall here).
 * {@snippet :
 * try (var ac = Autocast.enable(DType.BFLOAT16)) {
 *   loss = diffusion.loss(x0, generator);   // forward in bfloat16 where it is safe
 * }
 * loss.backward();                          // outside autocast, as PyTorch recommends
 * }
 *
 * <p>bfloat16 has float32's range, so training needs no loss scaling; float16 (CUDA) does:
 * see {@code io.github.ddpm4j.train.GradScaler}.
 */
public final class Autocast implements AutoCloseable {
  private final Thread owner = Thread.currentThread();
  private final int previous;
  private boolean closed;

  private Autocast(int mode) {
    var ctx = Native.get().ctx;
    previous = dd_ctx.autocast(ctx);
    dd_ctx.autocast(ctx, mode);
  }

  /**
   * @param dtype {@link DType#BFLOAT16} or {@link DType#FLOAT16}
   * @return a guard that holds autocast to {@code dtype} on this thread until closed
   * @throws IllegalArgumentException for any other dtype
   */
  public static Autocast enable(DType dtype) {
    return new Autocast(switch (dtype) {
      case BFLOAT16 -> DdpmNative.DD_AUTOCAST_BFLOAT16();
      case FLOAT16 -> DdpmNative.DD_AUTOCAST_FLOAT16();
      default -> throw new IllegalArgumentException("autocast runs in bfloat16 or float16, not " + dtype);
    });
  }

  /** @return a guard that turns autocast off on this thread until closed (nested inside an enabled one) */
  public static Autocast disable() {
    return new Autocast(DdpmNative.DD_AUTOCAST_OFF());
  }

  /** @return the current thread's autocast dtype, or {@code null} when autocast is off */
  public static DType dtype() {
    int mode = dd_ctx.autocast(Native.get().ctx);
    if (mode == DdpmNative.DD_AUTOCAST_BFLOAT16()) return DType.BFLOAT16;
    if (mode == DdpmNative.DD_AUTOCAST_FLOAT16()) return DType.FLOAT16;
    return null;
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
      throw new IllegalStateException("an autocast guard must be closed by the thread that made it");
    }
    closed = true;
    dd_ctx.autocast(Native.get().ctx, previous);
  }
}
