package io.github.ddpm4j.diffusion;

/**
 * The fixed reverse-process variance {@code sigma2_t} of Ho et al. 2020 (section 3.2):
 * both choices give similar samples; the first is optimal for {@code x_0 ~ N(0, I)},
 * the second for {@code x_0} deterministically set to one point.
 */
public enum VarianceType {
  /** {@code sigma2_t = beta_t}, the seed's choice and the default ("fixed large"). */
  FIXED_LARGE,
  /** {@code sigma2_t = beta~_t = beta_t (1 - alphaBar_{t-1}) / (1 - alphaBar_t)} (equation 7, "fixed small"). */
  FIXED_SMALL
}
