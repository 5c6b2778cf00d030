package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Tensor;

/**
 * The noise predictor {@code epsTheta(x_t, t)} of Ho et al. 2020 (equation 11 and
 * Algorithm 1): given a noised batch and its timesteps it predicts the Gaussian
 * noise that was added. {@link UNet} implements it; tests use small analytic models.
 */
@FunctionalInterface
public interface EpsilonModel {
  /**
   * Predicts the noise in {@code xt}.
   *
   * @param xt the noised images {@code x_t}, floating point {@code [batch, channels, height, width]}
   * @param t the timestep index of each image, int64 {@code [batch]}, each in [0, T)
   * @return the predicted noise {@code epsTheta(x_t, t)}, the shape and dtype of {@code xt}; the
   *     caller owns it (it joins the caller's innermost open scope)
   * @throws IllegalArgumentException if the shapes do not suit the model
   */
  Tensor epsTheta(Tensor xt, Tensor t);
}
