package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Tensor;

/**
 * The frames of one reverse run, as a {@link TrajectoryRecorder} recorded them.
 *
 * @param t the timestep index of each frame, descending, ending with 0
 * @param x0Hat the estimate of {@code x_0} at each of those steps, float32
 *     {@code [frames, batch, channels, height, width]}, or null when not recorded
 * @param xt the image {@code x_t} at each of those steps (the step's input), float32
 *     {@code [frames, batch, channels, height, width]}, or null when not recorded
 * @param sample the final images {@code x_0}, float32 {@code [batch, channels, height, width]}
 */
public record Trajectory(int[] t, Tensor x0Hat, Tensor xt, Tensor sample) implements AutoCloseable {
  /** Frees every tensor. */
  @Override
  public void close() {
    if (x0Hat != null) x0Hat.close();
    if (xt != null) xt.close();
    sample.close();
  }
}
