package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Tensor;

/**
 * The frames of one reverse run from {@link TrajectorySampler}.
 *
 * @param timesteps the step index of each frame, descending, ending with 0
 * @param x0Hat the estimate of {@code x_0} at each of those steps, float32
 *     {@code [frames, batch, channels, height, width]}
 * @param sample the final images {@code x_0}, float32 {@code [batch, channels, height, width]}
 */
public record Trajectory(int[] timesteps, Tensor x0Hat, Tensor sample) implements AutoCloseable {
  /** Frees both tensors. */
  @Override
  public void close() {
    x0Hat.close();
    sample.close();
  }
}
