package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.Arrays;
import java.util.Objects;

/**
 * Interpolation in latent space (Ho et al. 2020, section 4.3 and appendix D.3): both
 * source images are noised to step {@code t} with the same noise through {@code q(x_t | x_0)}
 * (equation 4), mixed as {@code (1 - lambda) x_t' + lambda x_t''}, and the mixture is
 * denoised by {@link AncestralSampler} starting at that same step {@code t} (not {@code t - 1}),
 * in the loop of {@link Sampler}.
 */
public final class Interpolator {
  private final GaussianDiffusion diffusion;
  private final AncestralSampler ancestral;

  /**
   * @param diffusion the model and schedule
   * @throws NullPointerException if {@code diffusion} is null
   */
  public Interpolator(GaussianDiffusion diffusion) {
    this.diffusion = Objects.requireNonNull(diffusion, "diffusion");
    this.ancestral = new AncestralSampler(diffusion);
  }

  /**
   * Interpolates between {@code x1} and {@code x2}.
   *
   * @param x1 source images in [-1, 1], floating point {@code [batch, channels, height, width]}
   * @param x2 source images, the shape of {@code x1}
   * @param lambda the mixing weight of {@code x2}, in [0, 1]
   * @param t the step both are noised to and denoised from, in [0, T)
   * @param generator the source of the shared noise and of the reverse steps' noise
   * @param observer told after each of the {@code t + 1} reverse steps
   * @return the interpolated images, the shape and dtype of {@code x1}; joins the caller's scope
   * @throws IllegalArgumentException naming {@code x1}, {@code x2}, {@code lambda} or {@code t} when invalid
   * @throws NullPointerException if {@code generator} or {@code observer} is null
   */
  public Tensor interpolate(Tensor x1, Tensor x2, double lambda, int t, Generator generator, StepObserver observer) {
    Objects.requireNonNull(observer, "observer");
    GaussianDiffusion.checkImages(x1, "x1");
    if (!Arrays.equals(x1.shape(), x2.shape()) || x1.dtype() != x2.dtype()) {
      throw new IllegalArgumentException("x2 must match x1, got " + x2.dtype() + Arrays.toString(x2.shape()) + " and "
          + x1.dtype() + Arrays.toString(x1.shape()));
    }
    if (!(lambda >= 0 && lambda <= 1)) throw new IllegalArgumentException("lambda = " + lambda + " must lie in [0, 1]");
    diffusion.schedule().checkIndex(t);
    Tensor xt;
    try (Scope scope = Scope.open()) {
      Tensor steps = diffusion.tBatch(t, x1);
      Tensor eps = Torch.randnLike(x1, generator);
      Tensor x1t = diffusion.qSample(x1, steps, eps);
      Tensor x2t = diffusion.qSample(x2, steps, eps);
      xt = Scope.keep(x1t.mul(1 - lambda).add(x2t.mul(lambda)));
    }
    return ancestral.denoise(xt, t, true, generator, observer);
  }
}
