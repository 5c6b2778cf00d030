package io.github.ddpm4j.pipeline;

import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.diffusion.SamplerType;
import java.util.Objects;

/**
 * One call of a {@link DDPMPipeline}, in the vocabulary of diffusers' pipelines: how many images, the
 * seed their noise comes from, the sampler (diffusers' scheduler) with its number of inference steps
 * and eta, and for a class-conditional model optionally a class label and the guidance scale of
 * classifier-free guidance (Ho &amp; Salimans 2022). Immutable.
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
 * @param classLabel the class of every image, &gt;= 0 and below the model's {@code numClasses} (checked when the
 *     pipeline runs it), or {@link #NO_CLASS} for unconditional samples
 * @param guidanceScale the classifier-free guidance scale {@code w} for {@code classLabel} (diffusers'
 *     {@code guidance_scale}: 0 unconditional, 1 conditional, &gt; 1 guided; Ho &amp; Salimans' {@code w} is
 *     {@code w - 1}), finite and &gt;= 0; ignored without a class
 */
public record SampleRequest(int numImages, long seed, SamplerType sampler, int numInferenceSteps, double eta, int classLabel,
    double guidanceScale) {
  /** Most images one request may ask for: they are sampled as one batch. */
  public static final int MAX_IMAGES = 4096;
  /** The {@code classLabel} of an unconditional request. */
  public static final int NO_CLASS = -1;

  /**
   * @throws IllegalArgumentException naming the field if {@code numImages}, {@code numInferenceSteps},
   *     {@code eta}, {@code classLabel} or {@code guidanceScale} is out of range
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
    if (classLabel < NO_CLASS) throw new IllegalArgumentException("classLabel = " + classLabel + " must be >= 0 (or NO_CLASS)");
    if (!(guidanceScale >= 0 && Double.isFinite(guidanceScale))) {
      throw new IllegalArgumentException("guidanceScale = " + guidanceScale + " must be finite and >= 0");
    }
  }

  /**
   * An unconditional request.
   *
   * @param numImages images to generate, in 1..{@value #MAX_IMAGES}
   * @param seed the noise's seed
   * @param sampler the sampler
   * @param numInferenceSteps DDIM's number of steps
   * @param eta DDIM's stochasticity
   * @throws IllegalArgumentException naming the field if a value is out of range
   * @throws NullPointerException if {@code sampler} is null
   */
  public SampleRequest(int numImages, long seed, SamplerType sampler, int numInferenceSteps, double eta) {
    this(numImages, seed, sampler, numInferenceSteps, eta, NO_CLASS, 0.0);
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
    return new SampleRequest(n, seed, sampler, numInferenceSteps, eta, classLabel, guidanceScale);
  }

  /**
   * @param label the class of every image, &gt;= 0
   * @param guidance the classifier-free guidance scale {@code w}, finite and &gt;= 0
   * @return the same request for images of class {@code label}, guided with scale {@code guidance}
   * @throws IllegalArgumentException if {@code label} is negative or {@code guidance} out of range
   */
  public SampleRequest withClass(int label, double guidance) {
    if (label < 0) throw new IllegalArgumentException("classLabel = " + label + " must be >= 0");
    return new SampleRequest(numImages, seed, sampler, numInferenceSteps, eta, label, guidance);
  }

  /** @return whether this request asks for images of a class */
  public boolean hasClass() {
    return classLabel != NO_CLASS;
  }
}
