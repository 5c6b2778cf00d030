package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Tensor;

/**
 * One reverse step's model output: the Gaussian {@code p_theta(x_{t-1} | x_t)} of
 * Ho et al. 2020 (equation 1 with the mean of equation 11) and what it was made from.
 *
 * @param mean {@code mu_theta(x_t, t)}, {@code [batch, channels, height, width]}
 * @param variance {@code sigma2_t}, {@code [batch, 1, 1, 1]}
 * @param x0Hat the estimate of {@code x_0} from the network's output ({@link GaussianDiffusion#estimate(Tensor, int, Tensor)}),
 *     clipped to [-1, 1] when the diffusion clips, {@code [batch, channels, height, width]}
 * @param epsTheta the noise that the network's output implies: the output itself for {@code epsilon} prediction
 *     without clipping, otherwise derived from it and {@code x_t} ({@link GaussianDiffusion.Estimate#epsTheta()}),
 *     {@code [batch, channels, height, width]}
 */
public record Prediction(Tensor mean, Tensor variance, Tensor x0Hat, Tensor epsTheta) implements AutoCloseable {
  /** Frees all four tensors. */
  @Override
  public void close() {
    mean.close();
    variance.close();
    x0Hat.close();
    epsTheta.close();
  }
}
