package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Tensor;

/**
 * A diagonal Gaussian over a batch of images, such as {@code q(x_t | x_0)} (equation 4)
 * or the posterior {@code q(x_{t-1} | x_t, x_0)} (equations 6 and 7).
 *
 * @param mean the mean, {@code [batch, channels, height, width]}, the dtype of the images
 * @param variance the per-image variance, {@code [batch, 1, 1, 1]}, broadcastable to the mean
 */
public record Gaussian(Tensor mean, Tensor variance) implements AutoCloseable {
  /** Frees both tensors. */
  @Override
  public void close() {
    mean.close();
    variance.close();
  }
}
