package io.github.ddpm4j.diffusion;

/**
 * How the training loss weighs the timesteps. With {@code SNR_t = alphaBar_t / (1 - alphaBar_t)}, each
 * image's mean squared error is multiplied by a weight that depends on its timestep and on the
 * {@link PredictionType}, so that the same weighting means the same thing for every prediction type.
 */
public enum LossWeighting {
  /** {@code L_simple} (Ho et al. 2020, equation 14): every timestep weighs the same in the prediction's own error. */
  UNIFORM("uniform"),
  /**
   * Min-SNR-gamma (Hang et al. 2023, equation 8): in terms of the error on {@code x_0}, the weight
   * {@code min(SNR_t, gamma)}; that is {@code min(SNR_t, gamma) / SNR_t} on the error of {@code eps},
   * {@code min(SNR_t, gamma) / (SNR_t + 1)} on that of {@code v}, and {@code min(SNR_t, gamma)} on that of {@code x_0}.
   */
  MIN_SNR("min-snr");

  private final String label;

  LossWeighting(String label) {
    this.label = label;
  }

  /** @return the name a configuration or command line uses: {@code uniform} or {@code min-snr} */
  @Override
  public String toString() {
    return label;
  }

  /**
   * @param text {@code uniform} or {@code min-snr}
   * @return the weighting of that name
   * @throws IllegalArgumentException listing the accepted names otherwise
   */
  public static LossWeighting parse(String text) {
    return Choices.parse(values(), text);
  }
}
