package io.github.ddpm4j.diffusion;

/**
 * Receives a sampler's progress, once per reverse step, on the sampling thread.
 */
@FunctionalInterface
public interface Progress {
  /** A callback that ignores every report. */
  Progress NONE = (done, total) -> {};

  /**
   * Called after each reverse step.
   *
   * @param done steps finished so far, 1 to {@code total}
   * @param total steps this run will take
   */
  void step(int done, int total);
}
