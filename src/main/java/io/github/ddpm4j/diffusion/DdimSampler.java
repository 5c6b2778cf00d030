package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.Objects;

/**
 * Denoising diffusion implicit models (Song, Meng and Ermon 2020): sampling along a
 * subsequence {@code tau_1 < ... < tau_S} of the {@code T} steps with the generalised
 * update of their equation 12,
 * {@code x_{tau_{i-1}} = sqrt(alphaBar_{tau_{i-1}}) x0Hat + sqrt(1 - alphaBar_{tau_{i-1}} - sigma_i^2) epsTheta + sigma_i z},
 * where {@code sigma_i = eta sqrt((1 - alphaBar_{tau_{i-1}}) / (1 - alphaBar_{tau_i})) sqrt(1 - alphaBar_{tau_i} / alphaBar_{tau_{i-1}})}
 * (their equation 16) and {@code alphaBar} before the first step is 1, so the last step
 * returns {@code x0Hat} without noise. {@code eta = 0} is deterministic DDIM; {@code eta = 1}
 * with {@code S = T} is ancestral sampling with {@code sigma2_t = beta~_t}.
 *
 * <p>The timesteps are evenly spaced: {@code tau_i = floor(i T / S)} for {@code i = 0 .. S-1}
 * (0-based indices, so {@code S = T} uses every step). When the diffusion clips,
 * {@code x0Hat} is clipped to [-1, 1] and {@code epsTheta} recomputed from it.
 * Runs in inference mode like {@link AncestralSampler}.
 */
public final class DdimSampler {
  private final GaussianDiffusion diffusion;
  private final int[] tau;
  private final double eta;

  /**
   * @param diffusion the model and schedule to sample from
   * @param S the number of sampling steps, in [1, T]
   * @param eta the stochasticity {@code eta}, finite and &gt;= 0
   * @throws IllegalArgumentException naming {@code S} or {@code eta} when out of range
   * @throws NullPointerException if {@code diffusion} is null
   */
  public DdimSampler(GaussianDiffusion diffusion, int S, double eta) {
    this.diffusion = Objects.requireNonNull(diffusion, "diffusion");
    int T = diffusion.nSteps();
    if (S < 1 || S > T) throw new IllegalArgumentException("S = " + S + " must lie in [1, T = " + T + "]");
    if (!(eta >= 0 && Double.isFinite(eta))) throw new IllegalArgumentException("eta = " + eta + " must be finite and >= 0");
    this.eta = eta;
    this.tau = new int[S];
    for (int i = 0; i < S; i++) tau[i] = (int) ((long) i * T / S);
  }

  /** @return the sampling timesteps {@code tau}, ascending, 0-based */
  public int[] timesteps() {
    return tau.clone();
  }

  /** @return {@code eta} */
  public double eta() {
    return eta;
  }

  /**
   * Generates {@code n} images in {@code S} steps.
   *
   * @param n how many images, &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param generator the source of {@code x_T} and (when {@code eta > 0}) of every step's noise, on the schedule's device
   * @param progress told after each of the {@code S} steps
   * @return float32 {@code [n, channels, height, width]}; joins the caller's scope
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive
   */
  public Tensor sample(long n, long[] imageShape, Generator generator, Progress progress) {
    Objects.requireNonNull(progress, "progress");
    try (SamplingMode mode = SamplingMode.enter(diffusion); Scope scope = Scope.open()) {
      Tensor x = SamplingMode.noise(diffusion, n, imageShape, generator);
      for (int i = tau.length - 1; i >= 0; i--) {
        Tensor next = step(x, i, generator);
        x.close();
        x = next;
        progress.step(tau.length - i, tau.length);
      }
      return Scope.keep(x);
    }
  }

  /**
   * {@link #sample(long, long[], Generator, Progress)} with a fresh generator seeded with {@code seed}.
   *
   * @param n how many images, &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param seed the seed of the generator
   * @param progress told after each step
   * @return float32 {@code [n, channels, height, width]}
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive
   */
  public Tensor sample(long n, long[] imageShape, long seed, Progress progress) {
    try (Generator generator = new Generator(seed, diffusion.schedule().device())) {
      return sample(n, imageShape, generator, progress);
    }
  }

  /** One update from {@code tau[i]} to {@code tau[i-1]} (or to x_0 when i = 0). */
  private Tensor step(Tensor x, int i, Generator generator) {
    NoiseSchedule schedule = diffusion.schedule();
    int t = tau[i];
    double alphaBar = schedule.alphaBar(t);
    double alphaBarPrev = i == 0 ? 1.0 : schedule.alphaBar(tau[i - 1]);
    try (Scope scope = Scope.open()) {
      Tensor eps = diffusion.callModel(x, diffusion.timesteps(t, x));
      Tensor x0Hat = x.sub(eps.mul(Math.sqrt(1 - alphaBar))).div(Math.sqrt(alphaBar));
      if (diffusion.clipDenoised()) {
        x0Hat = x0Hat.clamp(-1.0, 1.0);
        eps = x.sub(x0Hat.mul(Math.sqrt(alphaBar))).div(Math.sqrt(1 - alphaBar));
      }
      double sigma = eta * Math.sqrt((1 - alphaBarPrev) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarPrev);
      double dirCoef = Math.sqrt(Math.max(0.0, 1 - alphaBarPrev - sigma * sigma));
      Tensor next = x0Hat.mul(Math.sqrt(alphaBarPrev)).add(eps.mul(dirCoef));
      if (sigma > 0) next = next.add(Torch.randnLike(x, generator).mul(sigma));
      return Scope.keep(next);
    }
  }
}
