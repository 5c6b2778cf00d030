package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.Objects;

/**
 * Denoising diffusion implicit models (Song, Meng and Ermon 2021): sampling along a
 * subsequence {@code tau_1 < ... < tau_S} of the {@code T} timesteps with the generalised
 * update of their equation 12,
 * {@code x_{tau_{i-1}} = sqrt(alphaBar_{tau_{i-1}}) x0Hat + sqrt(1 - alphaBar_{tau_{i-1}} - sigma_i^2) epsTheta + sigma_i z},
 * where {@code x0Hat = (x_{tau_i} - sqrt(1 - alphaBar_{tau_i}) epsTheta) / sqrt(alphaBar_{tau_i})} (the "predicted x_0"
 * of equation 12), {@code sigma_i = eta sqrt((1 - alphaBar_{tau_{i-1}}) / (1 - alphaBar_{tau_i})) sqrt(1 - alphaBar_{tau_i} / alphaBar_{tau_{i-1}})}
 * (their equation 16) and {@code alphaBar} before the first step is 1, so the last step
 * returns {@code x0Hat} without noise. {@code eta = 0} is deterministic DDIM; {@code eta = 1}
 * with {@code S = T} is ancestral sampling with {@code sigma2_t = beta~_t}.
 *
 * <p>The timesteps are evenly spaced: {@code tau_i = floor(i T / S)} for {@code i = 0 .. S-1}
 * (0-based indices, so {@code S = T} uses every step). {@code x0Hat} and {@code epsTheta} are read from the
 * network's output by its prediction type ({@link GaussianDiffusion#estimate(Tensor, int)}); when the diffusion
 * clips, {@code x0Hat} is clipped to [-1, 1] and {@code epsTheta} recomputed from it.
 * Runs in the loop of {@link Sampler}.
 */
public final class DdimSampler implements Sampler {
  private final GaussianDiffusion diffusion;
  private final int[] tau;
  private final double eta;

  /**
   * @param diffusion the model and schedule to sample from
   * @param S the number of sampling steps ({@code samplingSteps}), in [1, T]
   * @param eta the stochasticity {@code eta}, finite and &gt;= 0
   * @throws InvalidSettingException naming {@code samplingSteps} or {@code eta} when out of range
   * @throws NullPointerException if {@code diffusion} is null
   */
  public DdimSampler(GaussianDiffusion diffusion, int S, double eta) {
    this.diffusion = Objects.requireNonNull(diffusion, "diffusion");
    int T = diffusion.timesteps();
    checkSettings(S, eta, T);
    this.eta = eta;
    this.tau = new int[S];
    for (int i = 0; i < S; i++) tau[i] = (int) ((long) i * T / S);
  }

  /**
   * Checks DDIM's settings against a schedule's length, before any model exists.
   *
   * @param S the number of sampling steps ({@code samplingSteps})
   * @param eta the stochasticity {@code eta}
   * @param T the schedule's number of timesteps
   * @throws InvalidSettingException naming {@code samplingSteps} unless {@code S} is in [1, T], or {@code eta}
   *     unless it is finite and &gt;= 0
   */
  static void checkSettings(int S, double eta, int T) {
    if (S < 1 || S > T) throw new InvalidSettingException("{samplingSteps=} must lie in [1, T = {}]", S, T);
    if (!(eta >= 0 && Double.isFinite(eta))) throw new InvalidSettingException("{eta=} must be finite and >= 0", eta);
  }

  @Override
  public GaussianDiffusion diffusion() {
    return diffusion;
  }

  /** @return the sampling timesteps {@code tau}, ascending, 0-based */
  @Override
  public int[] tau() {
    return tau.clone();
  }

  /** @return {@code eta} */
  public double eta() {
    return eta;
  }

  /**
   * One update of equation 12, from {@code tau_i = t} to {@code tau_{i-1} = tPrev} (to {@code x_0} when
   * {@code tPrev = -1}).
   *
   * @param xt the images at {@code t}, float32 {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, in [0, T)
   * @param tPrev the next timestep index, below {@code t}, or -1
   * @param noise the source of {@code z}; nothing is drawn when {@code sigma_i = 0}
   * @return {@code x_{tau_{i-1}}} and {@code x0Hat}
   * @throws IllegalArgumentException if the model does not suit {@code xt}
   */
  @Override
  public Update step(Tensor xt, int t, int tPrev, Noise noise) {
    NoiseSchedule schedule = diffusion.schedule();
    double alphaBar = schedule.alphaBar(t);
    double alphaBarPrev = tPrev < 0 ? 1.0 : schedule.alphaBar(tPrev);
    GaussianDiffusion.Estimate e = diffusion.estimate(xt, t);
    Tensor x0Hat = e.x0Hat();
    Tensor eps = e.epsTheta();
    double sigma = eta * Math.sqrt((1 - alphaBarPrev) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarPrev);
    double dirCoef = Math.sqrt(Math.max(0.0, 1 - alphaBarPrev - sigma * sigma));
    Tensor next = x0Hat.mul(Math.sqrt(alphaBarPrev)).add(eps.mul(dirCoef));
    if (sigma > 0) next = next.add(noise.randnLike(xt).mul(sigma));
    return new Update(next, x0Hat);
  }
}
