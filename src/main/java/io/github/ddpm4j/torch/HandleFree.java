package io.github.ddpm4j.torch;

import java.lang.foreign.MemorySegment;
import java.util.function.Consumer;

/**
 * Frees one native handle at most once, with its kind's {@code dd_*_free} function: the
 * action that an owner's {@code close()} and its {@link java.lang.ref.Cleaner} backstop
 * share. It refers to the handle only, never to its owner, so that the owner can become
 * unreachable. Used by the handles that have nothing else to release (generators,
 * optimizers, CUDA graphs); a {@link Tensor} also closes its data views.
 */
final class HandleFree implements Runnable {
  /** The live handle; {@code null} once freed. */
  volatile MemorySegment handle;
  private final Consumer<MemorySegment> free;

  /**
   * @param handle a handle that a downcall returned
   * @param free its kind's free function
   */
  HandleFree(MemorySegment handle, Consumer<MemorySegment> free) {
    this.handle = handle;
    this.free = free;
  }

  @Override
  public void run() {
    MemorySegment h = handle;
    handle = null;
    if (h != null) free.accept(h);
  }
}
