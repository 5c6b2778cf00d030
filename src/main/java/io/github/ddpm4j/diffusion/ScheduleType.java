package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Device;
import java.util.Locale;

/**
 * The kind of variance schedule {@code beta_t}, as a configuration or command line names it
 * ({@code linear}, {@code cosine}).
 */
public enum ScheduleType {
  /** {@link NoiseSchedule#linear(int, double, double, Device)}: Ho et al. 2020, section 4. */
  LINEAR,
  /**
   * {@link NoiseSchedule#cosine(int, double, double, Device)} with {@link NoiseSchedule#COSINE_S} and
   * {@link NoiseSchedule#COSINE_MAX_BETA}: Nichol and Dhariwal 2021, equation 17.
   */
  COSINE;

  /**
   * Builds a schedule of this kind.
   *
   * @param T the number of diffusion steps ({@code timesteps}), &gt;= 1
   * @param betaStart {@code beta_1} of a linear schedule (unused by the cosine one)
   * @param betaEnd {@code beta_T} of a linear schedule (unused by the cosine one)
   * @param device where the coefficient tensors live
   * @return the schedule; the caller closes it
   * @throws IllegalArgumentException naming {@code T}, {@code betaStart} or {@code betaEnd} when out of range
   */
  public NoiseSchedule create(int T, double betaStart, double betaEnd, Device device) {
    return switch (this) {
      case LINEAR -> NoiseSchedule.linear(T, betaStart, betaEnd, device);
      case COSINE -> NoiseSchedule.cosine(T, NoiseSchedule.COSINE_S, NoiseSchedule.COSINE_MAX_BETA, device);
    };
  }

  /** @return the name a configuration or command line uses: {@code linear} or {@code cosine} */
  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @param text {@code linear} or {@code cosine}
   * @return the schedule kind of that name
   * @throws IllegalArgumentException listing the accepted names otherwise
   */
  public static ScheduleType parse(String text) {
    return Choices.parse(values(), text);
  }
}
