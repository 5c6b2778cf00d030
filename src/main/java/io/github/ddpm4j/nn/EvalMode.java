package io.github.ddpm4j.nn;

/**
 * Evaluation mode for the current thread alone: while one is open, every {@link Module} behaves on
 * this thread as after {@link Module#eval()} (dropout passes its input through), whatever its own
 * {@linkplain Module#train(boolean) training flag} says, and without changing that flag. Other threads
 * see the modules as their flags say. This is how samplers run a shared model: {@code Module.eval()}
 * would flip the flag for every thread, so that a thread training the same model would lose its dropout,
 * and a thread sampling from a model in training mode would draw dropout masks.
 *
 * <p>Guards nest; each is closed on the thread that opened it, in reverse order (try-with-resources).
 * The state lives in a Java thread-local, so it follows a virtual thread across carriers.
 */
public final class EvalMode implements AutoCloseable {
  private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

  private final Thread owner = Thread.currentThread();
  private boolean closed;

  private EvalMode() {
    DEPTH.get()[0]++;
  }

  /** @return a guard that holds evaluation mode on this thread until closed */
  public static EvalMode enter() {
    return new EvalMode();
  }

  /** @return whether an {@link EvalMode} is open on the current thread */
  public static boolean active() {
    return DEPTH.get()[0] > 0;
  }

  /**
   * Ends this guard's evaluation mode (the thread stays in evaluation mode while an outer guard is open).
   *
   * @throws IllegalStateException if called from another thread than the one that opened it
   */
  @Override
  public void close() {
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException("an EvalMode must be closed on the thread that opened it (" + owner + "), not "
          + Thread.currentThread());
    }
    if (closed) return;
    closed = true;
    DEPTH.get()[0]--;
  }
}
