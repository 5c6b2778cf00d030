package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.DpmSolverSampler;
import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.diffusion.SamplerType;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The sampler options of every command that samples ({@code train}'s sample grids, {@code sample},
 * {@code animate}): which sampler, the steps of DDIM (Song et al. 2021, equation 12) or DPM-Solver++
 * (Lu et al. 2022), DDIM's eta, and DPM-Solver++'s timestep spacing.
 * The fields are named as {@link SamplerOptions}' components, so that the sampler's own range errors
 * name these options.
 */
final class SamplerMixin {
  /** The steps of DPM-Solver++ when {@code --sampling-steps} is not given: as good as DDIM's 100 (README, "Samplers"). */
  static final int DEFAULT_DPM_SOLVER_STEPS = 20;
  /** The steps of DDIM when {@code --sampling-steps} is not given. */
  static final int DEFAULT_DDIM_STEPS = 100;

  @Option(names = "--sampler", paramLabel = "NAME", defaultValue = "dpm-solver++",
      description = "dpm-solver++ (DPM-Solver++(2M)), ddim, or ancestral (Algorithm 2: all T steps) (default: ${DEFAULT-VALUE}).")
  SamplerType sampler;

  @Option(names = "--sampling-steps", paramLabel = "S",
      description = "Steps S of dpm-solver++ (1..T-1) or ddim (1..T) (default: " + DEFAULT_DPM_SOLVER_STEPS + " for dpm-solver++, "
          + DEFAULT_DDIM_STEPS + " for ddim, or the most the model's T allows).")
  Integer samplingSteps;

  @Option(names = "--eta", paramLabel = "ETA", defaultValue = "0.0",
      description = "DDIM eta: 0 deterministic, 1 as stochastic as ancestral sampling (default: ${DEFAULT-VALUE}).")
  double eta;

  @Option(names = "--timestep-spacing", paramLabel = "SPACING", defaultValue = "linspace",
      description = "dpm-solver++'s timesteps: linspace (uniform in t, as diffusers' default) or logsnr (uniform in log-SNR) "
          + "(default: ${DEFAULT-VALUE}).")
  DpmSolverSampler.TimestepSpacing timestepSpacing;

  /** The command this mixin is part of. */
  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  /**
   * @param timesteps the model's number of timesteps T
   * @return the sampler and its settings: {@code --sampling-steps} as given, or its default capped at T
   * @throws IllegalArgumentException if {@code --sampling-steps} or {@code --eta} is given with
   *     {@code --sampler ancestral}, which has no use for them, {@code --eta} with {@code --sampler dpm-solver++},
   *     which is deterministic, or {@code --timestep-spacing} with another sampler than dpm-solver++
   * @throws io.github.ddpm4j.io.InvalidSettingException naming {@code samplingSteps} or {@code eta} when out of
   *     range for T ({@link SamplerOptions#check})
   */
  SamplerOptions options(int timesteps) {
    ParseResult parsed = command.commandLine().getParseResult();
    boolean stepsGiven = parsed != null && parsed.hasMatchedOption("--sampling-steps");
    if (sampler == SamplerType.ANCESTRAL) {
      for (String ddimOnly : new String[] {"--sampling-steps", "--eta"}) {
        if (parsed != null && parsed.hasMatchedOption(ddimOnly)) {
          String samplers = ddimOnly.equals("--eta") ? "ddim" : "ddim or dpm-solver++";
          throw new IllegalArgumentException(ddimOnly + " applies to --sampler " + samplers + " only: ancestral sampling runs all T steps");
        }
      }
    }
    if (sampler != SamplerType.DPM_SOLVER && parsed != null && parsed.hasMatchedOption("--timestep-spacing")) {
      throw new IllegalArgumentException("--timestep-spacing applies to --sampler dpm-solver++ only");
    }
    if (sampler == SamplerType.DPM_SOLVER && parsed != null && parsed.hasMatchedOption("--eta")) {
      throw new IllegalArgumentException("--eta applies to --sampler ddim only: dpm-solver++ is deterministic");
    }
    int steps = samplingSteps != null ? samplingSteps : sampler == SamplerType.DPM_SOLVER ? DEFAULT_DPM_SOLVER_STEPS : DEFAULT_DDIM_STEPS;
    SamplerOptions options = new SamplerOptions(sampler, steps, eta, timestepSpacing);
    if (!stepsGiven) options = options.cappedTo(timesteps);
    options.check(timesteps);
    return options;
  }
}
