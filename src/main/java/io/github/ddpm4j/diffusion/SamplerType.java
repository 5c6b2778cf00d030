package io.github.ddpm4j.diffusion;

import java.util.Locale;

/** The kind of {@link Sampler}, as a command line names it ({@code ddim}, {@code ancestral}). */
public enum SamplerType {
  /** {@link DdimSampler}: Song et al. 2021, equation 12, in {@code samplingSteps} steps. */
  DDIM,
  /** {@link AncestralSampler}: Ho et al. 2020, Algorithm 2, in {@code T} steps. */
  ANCESTRAL;

  /** @return the name a command line uses: {@code ddim} or {@code ancestral} */
  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @param text {@code ddim} or {@code ancestral}
   * @return the sampler kind of that name
   * @throws IllegalArgumentException listing the accepted names otherwise
   */
  public static SamplerType parse(String text) {
    return Choices.parse(values(), text);
  }
}
