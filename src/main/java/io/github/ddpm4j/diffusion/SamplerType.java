package io.github.ddpm4j.diffusion;

/** The kind of {@link Sampler}, as a command line names it ({@code ddim}, {@code ancestral}, {@code dpm-solver++}). */
public enum SamplerType {
  /** {@link DdimSampler}: Song et al. 2021, equation 12, in {@code samplingSteps} steps. */
  DDIM("ddim"),
  /** {@link AncestralSampler}: Ho et al. 2020, Algorithm 2, in {@code T} steps. */
  ANCESTRAL("ancestral"),
  /** {@link DpmSolverSampler}: DPM-Solver++(2M), Lu et al. 2022, Algorithm 2, in {@code samplingSteps} steps. */
  DPM_SOLVER("dpm-solver++");

  private final String label;

  SamplerType(String label) {
    this.label = label;
  }

  /** @return the name a command line uses: {@code ddim}, {@code ancestral} or {@code dpm-solver++} */
  @Override
  public String toString() {
    return label;
  }

  /**
   * @return whether the sampler takes a number of steps ({@code samplingSteps}); the ancestral sampler runs all T
   */
  public boolean hasSteps() {
    return this != ANCESTRAL;
  }

  /**
   * @return whether the sampler takes DDIM's {@code eta}
   */
  public boolean hasEta() {
    return this == DDIM;
  }

  /**
   * @param timesteps the schedule's number of timesteps T
   * @return the most steps this sampler takes over T timesteps: T, or T - 1 for DPM-Solver++ (whose steps skip t = 0)
   */
  public int maxSamplingSteps(int timesteps) {
    return this == DPM_SOLVER ? timesteps - 1 : timesteps;
  }

  /**
   * @param text {@code ddim}, {@code ancestral} or {@code dpm-solver++}
   * @return the sampler kind of that name
   * @throws IllegalArgumentException listing the accepted names otherwise
   */
  public static SamplerType parse(String text) {
    return Choices.parse(values(), text);
  }
}
