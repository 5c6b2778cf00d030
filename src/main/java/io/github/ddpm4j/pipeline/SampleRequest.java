package io.github.ddpm4j.pipeline;

import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.diffusion.SamplerType;
import java.util.Objects;

/**
 * One call of a {@link DDPMPipeline}, in the vocabulary of diffusers' pipelines: how many images, the
 * seed their noise comes from, and the sampler (diffusers' scheduler) with its number of inference steps
 * and eta. Immutable.
 *
 * <p>The same request gives the same images from the same pipeline, whatever else runs at the time.
 *
 * @param numImages images to generate, in 1..{@value #MAX_IMAGES}
 * @param seed the seed of the call's own generator: of {@code x_T} and of every step's noise
 * @param sampler {@link SamplerType#DDIM} (Song et al. 2021), {@link SamplerType#ANCESTRAL} (Ho et al. 2020, Algorithm 2)
 *     or {@link SamplerType#DPM_SOLVER} (DPM-Solver++(2M), Lu et al. 2022)
 * @param numInferenceSteps the number of steps {@code S} of DDIM (1..T of the model) or DPM-Solver++ (1..T-1), checked
 *     when the pipeline runs it; ignored by the ancestral sampler, which runs all T steps
 * @param eta DDIM's stochasticity, finite and &gt;= 0 (0: deterministic); ignored by the other samplers
 */
public record SampleRequest(int numImages, long seed, SamplerType sampler, int numInferenceSteps, double eta) {
  /** Most images one request may ask for: they are sampled as one batch. */
  public static final int MAX_IMAGES = 4096;

  /**
   * @throws IllegalArgumentException naming the field if {@code numImages}, {@code numInferenceSteps} or
   *     {@code eta} is out of range
   * @throws NullPointerException if {@code sampler} is null
   */
  public SampleRequest {
    Objects.requireNonNull(sampler, "sampler");
    if (numImages < 1 || numImages > MAX_IMAGES) {
      throw new IllegalArgumentException("numImages = " + numImages + " must be in 1.." + MAX_IMAGES);
    }
    if (sampler.hasSteps() && numInferenceSteps < 1) {
      throw new IllegalArgumentException("numInferenceSteps = " + numInferenceSteps + " must be >= 1");
    }
    if (!(eta >= 0 && Double.isFinite(eta))) throw new IllegalArgumentException("eta = " + eta + " must be finite and >= 0");
  }

  /**
   * @param numImages images to generate
   * @param seed the noise's seed
   * @param numInferenceSteps DDIM steps
   * @return a deterministic DDIM request (eta 0)
   */
  public static SampleRequest ddim(int numImages, long seed, int numInferenceSteps) {
    return new SampleRequest(numImages, seed, SamplerType.DDIM, numInferenceSteps, 0.0);
  }

  /**
   * @param numImages images to generate
   * @param seed the noise's seed
   * @param numInferenceSteps DDIM steps
   * @param eta DDIM's stochasticity
   * @return a DDIM request
   */
  public static SampleRequest ddim(int numImages, long seed, int numInferenceSteps, double eta) {
    return new SampleRequest(numImages, seed, SamplerType.DDIM, numInferenceSteps, eta);
  }

  /**
   * @param numImages images to generate
   * @param seed the noise's seed
   * @return an ancestral request (all T steps)
   */
  public static SampleRequest ancestral(int numImages, long seed) {
    return new SampleRequest(numImages, seed, SamplerType.ANCESTRAL, 0, 0.0);
  }

  /**
   * @param numImages images to generate
   * @param seed the noise's seed
   * @param numInferenceSteps DPM-Solver++ steps, in 1..T-1 of the model
   * @return a DPM-Solver++(2M) request (diffusers' {@code DPMSolverMultistepScheduler} with its defaults)
   */
  public static SampleRequest dpmSolver(int numImages, long seed, int numInferenceSteps) {
    return new SampleRequest(numImages, seed, SamplerType.DPM_SOLVER, numInferenceSteps, 0.0);
  }

  /** @return the sampler and its settings, as {@link SamplerOptions} builds it */
  public SamplerOptions samplerOptions() {
    return new SamplerOptions(sampler, numInferenceSteps, eta);
  }

  /** @return the same request for another number of images */
  public SampleRequest withNumImages(int n) {
    return new SampleRequest(n, seed, sampler, numInferenceSteps, eta);
  }
}
