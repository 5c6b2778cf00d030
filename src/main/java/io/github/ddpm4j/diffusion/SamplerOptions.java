package io.github.ddpm4j.diffusion;

import java.util.Objects;

/**
 * Which sampler to run and its settings, as the command line and the trainer's sample grids
 * choose them. The sampler checks its own settings when {@link #create} builds it.
 *
 * @param type the kind of sampler
 * @param samplingSteps the number of steps {@code S}: in [1, T] for DDIM, in [1, T - 1] for DPM-Solver++; unused by the
 *     ancestral sampler
 * @param eta DDIM's stochasticity, finite and &gt;= 0 (DDIM only)
 * @param timestepSpacing how DPM-Solver++ spreads its steps over the schedule (DPM-Solver++ only)
 */
public record SamplerOptions(SamplerType type, int samplingSteps, double eta, DpmSolverSampler.TimestepSpacing timestepSpacing) {
  /**
   * @throws NullPointerException if {@code type} or {@code timestepSpacing} is null
   */
  public SamplerOptions {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(timestepSpacing, "timestepSpacing");
  }

  /**
   * Options with DPM-Solver++'s default spacing, {@link DpmSolverSampler.TimestepSpacing#LINSPACE}.
   *
   * @param type the kind of sampler
   * @param samplingSteps the number of steps {@code S} (DDIM and DPM-Solver++)
   * @param eta DDIM's stochasticity (DDIM only)
   * @throws NullPointerException if {@code type} is null
   */
  public SamplerOptions(SamplerType type, int samplingSteps, double eta) {
    this(type, samplingSteps, eta, DpmSolverSampler.TimestepSpacing.LINSPACE);
  }

  /**
   * Checks the settings against a schedule's length without building a sampler (as {@link #create} does).
   *
   * @param timesteps the schedule's number of timesteps T
   * @throws io.github.ddpm4j.io.InvalidSettingException naming {@code samplingSteps} or {@code eta} when out of
   *     range for a DDIM sampler over T timesteps, or {@code samplingSteps} when out of range for DPM-Solver++
   */
  public void check(int timesteps) {
    if (type == SamplerType.DDIM) DdimSampler.checkSettings(samplingSteps, eta, timesteps);
    if (type == SamplerType.DPM_SOLVER) DpmSolverSampler.checkSettings(samplingSteps, timesteps);
  }

  /**
   * @param timesteps the schedule's number of timesteps T
   * @return these options with {@code samplingSteps} capped at what the sampler takes over T timesteps
   *     ({@link SamplerType#maxSamplingSteps}), for a default that must fit models of few timesteps
   */
  public SamplerOptions cappedTo(int timesteps) {
    return new SamplerOptions(type, Math.min(samplingSteps, type.maxSamplingSteps(timesteps)), eta, timestepSpacing);
  }

  /**
   * @param diffusion the model and schedule to sample from
   * @return the sampler
   * @throws io.github.ddpm4j.io.InvalidSettingException naming {@code samplingSteps} or {@code eta} when
   *     out of range for the sampler over {@code diffusion}
   * @throws NullPointerException if {@code diffusion} is null
   */
  public Sampler create(GaussianDiffusion diffusion) {
    return switch (type) {
      case DDIM -> new DdimSampler(diffusion, samplingSteps, eta);
      case ANCESTRAL -> new AncestralSampler(diffusion);
      case DPM_SOLVER -> new DpmSolverSampler(diffusion, samplingSteps, timestepSpacing);
    };
  }
}
