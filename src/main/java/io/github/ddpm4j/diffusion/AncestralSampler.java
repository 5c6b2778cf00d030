package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Tensor;
import java.util.Objects;

/**
 * Ancestral sampling, Algorithm 2 of Ho et al. 2020: every timestep {@code t = T-1 .. 0},
 * each step {@code x_{t-1} = mu_theta(x_t, t) + sigma_t z} with the mean of equation 11
 * ({@link GaussianDiffusion#pMeanVariance(Tensor, int)}, {@link GaussianDiffusion#pSample(Prediction, int, Generator)});
 * the last step adds no noise. Runs in the loop of {@link Sampler}.
 */
public final class AncestralSampler implements Sampler {
  private final GaussianDiffusion diffusion;

  /**
   * @param diffusion the model and schedule to sample from
   * @throws NullPointerException if {@code diffusion} is null
   */
  public AncestralSampler(GaussianDiffusion diffusion) {
    this.diffusion = Objects.requireNonNull(diffusion, "diffusion");
  }

  @Override
  public GaussianDiffusion diffusion() {
    return diffusion;
  }

  /** @return every timestep index, {@code 0 .. T-1} */
  @Override
  public int[] tau() {
    return upTo(diffusion.timesteps() - 1);
  }

  /**
   * One step of Algorithm 2 (equation 11 for the mean); {@code tPrev} is always {@code t - 1}.
   *
   * @param xt the images at {@code t}, float32 {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, in [0, T)
   * @param tPrev {@code t - 1}
   * @param noise the source of {@code z}; nothing is drawn at {@code t = 0}
   * @return {@code x_{t-1}} and {@code x0Hat}
   * @throws IllegalArgumentException if the model does not suit {@code xt}
   */
  @Override
  public Update step(Tensor xt, int t, int tPrev, Noise noise) {
    Prediction p = diffusion.pMeanVariance(xt, t);
    return new Update(diffusion.pSample(p, t, noise), p.x0Hat());
  }

  /**
   * Runs the reverse chain from step {@code t} down to 0 on given images {@code x_t}.
   *
   * @param xt images at step {@code t}, floating point {@code [batch, channels, height, width]}; not freed
   * @param t the step of {@code xt}, in [0, T)
   * @param generator the source of each step's noise
   * @param observer told after each of the {@code t + 1} steps
   * @return the denoised images {@code x_0}, the shape and dtype of {@code xt}; joins the caller's scope
   * @throws IllegalArgumentException naming {@code t} when out of range
   */
  public Tensor denoise(Tensor xt, int t, Generator generator, StepObserver observer) {
    return denoise(xt, t, false, generator, observer);
  }

  /** {@link #denoise(Tensor, int, Generator, StepObserver)} that frees {@code xt} when {@code owned}. */
  Tensor denoise(Tensor xt, int t, boolean owned, Generator generator, StepObserver observer) {
    diffusion.schedule().checkIndex(t);
    return ReverseLoop.run(this, upTo(t), xt, owned, Noise.of(generator), observer);
  }

  private static int[] upTo(int last) {
    int[] tau = new int[last + 1];
    for (int i = 0; i <= last; i++) tau[i] = i;
    return tau;
  }
}
