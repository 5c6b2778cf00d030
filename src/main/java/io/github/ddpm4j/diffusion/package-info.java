/**
 * Denoising diffusion probabilistic models (Ho et al. 2020) on top of {@link io.github.ddpm4j.nn}.
 *
 * <ul>
 *   <li>{@link io.github.ddpm4j.diffusion.NoiseSchedule}: the variance schedule {@code beta_t} (linear or
 *       cosine) and every coefficient derived from it.</li>
 *   <li>{@link io.github.ddpm4j.diffusion.GaussianDiffusion}: the forward process {@code q}, its posterior,
 *       the reverse step {@code pSample} and the training loss, around an
 *       {@link io.github.ddpm4j.diffusion.EpsilonModel}.</li>
 *   <li>{@link io.github.ddpm4j.diffusion.UNet}: the noise predictor {@code epsTheta} of the seed
 *       implementation, with PyTorch-compatible parameter names.</li>
 *   <li>Samplers: {@link io.github.ddpm4j.diffusion.AncestralSampler} (Algorithm 2),
 *       {@link io.github.ddpm4j.diffusion.DdimSampler} (Song et al. 2020),
 *       {@link io.github.ddpm4j.diffusion.Interpolator} and
 *       {@link io.github.ddpm4j.diffusion.TrajectorySampler}.</li>
 * </ul>
 *
 * <p>Timesteps are 0-based indices: index {@code t} is the paper's step {@code t + 1}. Images are
 * float32 {@code [batch, channels, height, width]} in [-1, 1].
 */
package io.github.ddpm4j.diffusion;
