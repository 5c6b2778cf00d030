package io.github.ddpm4j.diffusion;

/**
 * The {@link StepObserver} for progress: receives {@code (done, total)} once per reverse step,
 * on the sampling thread.
 */
@FunctionalInterface
public interface Progress extends StepObserver {
  /** A callback that ignores every report. */
  Progress NONE = (done, total) -> {};

  /**
   * Called after each reverse step.
   *
   * @param done steps finished so far, 1 to {@code total}
   * @param total steps this run will take
   */
  void step(int done, int total);

  /**
   * Reports {@link Step#done()} and {@link Step#total()} to {@link #step(int, int)}.
   *
   * @param step the finished step
   */
  @Override
  default void afterStep(Step step) {
    step(step.done(), step.total());
  }
}
