/**
 * Denoising diffusion probabilistic models (Ho et al. 2020) on top of {@link io.github.ddpm4j.nn}.
 *
 * <ul>
 *   <li>{@link io.github.ddpm4j.diffusion.NoiseSchedule}: the variance schedule {@code beta_t} of
 *       {@code timesteps} = {@code T} steps (linear or cosine, {@link io.github.ddpm4j.diffusion.ScheduleType})
 *       and every coefficient derived from it.</li>
 *   <li>{@link io.github.ddpm4j.diffusion.GaussianDiffusion}: the forward process {@code q}, its posterior,
 *       the reverse step {@code pSample} and the training loss, around an
 *       {@link io.github.ddpm4j.diffusion.EpsilonModel} whose output it reads as {@code eps}, {@code v} or
 *       {@code x_0} ({@link io.github.ddpm4j.diffusion.PredictionType}), with the loss weighted uniformly or by
 *       min-SNR-gamma ({@link io.github.ddpm4j.diffusion.LossWeighting}).</li>
 *   <li>{@link io.github.ddpm4j.diffusion.UNet}: the noise predictor {@code epsTheta} of the annotated
 *       PyTorch DDPM, with PyTorch-compatible parameter names.</li>
 *   <li>Sampling: one reverse loop, which every {@link io.github.ddpm4j.diffusion.Sampler} runs. A sampler
 *       is its timesteps {@code tau} and its step rule, nothing else:
 *       {@link io.github.ddpm4j.diffusion.AncestralSampler} (Algorithm 2, the mean of equation 11) and
 *       {@link io.github.ddpm4j.diffusion.DdimSampler} (Song et al. 2021, equation 12, in
 *       {@code samplingSteps} steps) and {@link io.github.ddpm4j.diffusion.DpmSolverSampler} (DPM-Solver++(2M),
 *       Lu et al. 2022, a multistep rule whose history lives in a per-run
 *       {@link io.github.ddpm4j.diffusion.Sampler.RunState}); {@link io.github.ddpm4j.diffusion.SamplerOptions} and
 *       {@link io.github.ddpm4j.diffusion.SamplerType} choose one by name.
 *       {@link io.github.ddpm4j.diffusion.Interpolator} (section 4.3) noises two images and runs the
 *       ancestral rule from that step. {@link io.github.ddpm4j.diffusion.StepObserver}s watch the loop:
 *       {@link io.github.ddpm4j.diffusion.Progress} for progress, and
 *       {@link io.github.ddpm4j.diffusion.TrajectoryRecorder} for the estimates {@code x0Hat} and images
 *       {@code x_t} along the way ({@link io.github.ddpm4j.diffusion.Trajectory}).</li>
 * </ul>
 *
 * <p>Timesteps are 0-based indices: index {@code t} is the paper's step {@code t + 1}. Images are
 * float32 {@code [batch, channels, height, width]} in [-1, 1].
 */
package io.github.ddpm4j.diffusion;
