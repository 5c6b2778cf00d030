package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Tensor;
import java.util.Objects;

/**
 * Watches the reverse loop of a {@link Sampler}, once per step, on the sampling thread:
 * {@link Progress} reports progress, {@link TrajectoryRecorder} records images along the way.
 */
@FunctionalInterface
public interface StepObserver {
  /**
   * One finished step. The tensors belong to the loop and are freed after the call: an
   * observer that keeps one keeps a copy, {@code Scope.keep(step.x0Hat().clone())}, which then
   * joins the scope that was open around the sampler call.
   *
   * @param done steps finished so far, 1 to {@code total}
   * @param total steps this run takes
   * @param t the timestep index of the step's input {@code x_t}
   * @param xt the step's input {@code x_t}, float32 {@code [batch, channels, height, width]}
   * @param x0Hat the step's estimate of {@code x_0}, the shape of {@code xt}
   * @param next the step's output, the shape of {@code xt} ({@code x_0} after the last step)
   */
  record Step(int done, int total, int t, Tensor xt, Tensor x0Hat, Tensor next) {}

  /**
   * Called after each reverse step.
   *
   * @param step what the step took and made
   */
  void afterStep(Step step);

  /**
   * @param other another observer
   * @return an observer that tells this one, then {@code other}
   * @throws NullPointerException if {@code other} is null
   */
  default StepObserver andThen(StepObserver other) {
    Objects.requireNonNull(other, "other");
    return step -> {
      afterStep(step);
      other.afterStep(step);
    };
  }
}
