package io.github.ddpm4j.diffusion;

/**
 * What the network predicts from {@code x_t} and {@code t}, with the names of diffusers'
 * {@code prediction_type}. Every sampler works from the {@code (x0Hat, epsTheta)} pair that
 * {@link GaussianDiffusion} derives from the network's output, so each sampler honours each type.
 */
public enum PredictionType {
  /** The noise {@code eps} (Ho et al. 2020, equation 14): {@code epsTheta(x_t, t)}. */
  EPSILON("epsilon"),
  /**
   * The velocity {@code v = sqrt(alphaBar_t) eps - sqrt(1 - alphaBar_t) x_0} (Salimans and Ho 2022, section 4).
   */
  V_PREDICTION("v_prediction"),
  /** The clean image {@code x_0} itself. */
  SAMPLE("sample");

  private final String label;

  PredictionType(String label) {
    this.label = label;
  }

  /** @return the name a configuration or command line uses: {@code epsilon}, {@code v_prediction} or {@code sample} */
  @Override
  public String toString() {
    return label;
  }

  /**
   * @param text {@code epsilon}, {@code v_prediction} or {@code sample}
   * @return the prediction type of that name
   * @throws IllegalArgumentException listing the accepted names otherwise
   */
  public static PredictionType parse(String text) {
    return Choices.parse(values(), text);
  }
}
