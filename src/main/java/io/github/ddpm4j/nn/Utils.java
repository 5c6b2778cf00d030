package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;
import java.util.List;
import java.util.Objects;

/** Training utilities, after {@code torch.nn.utils}. */
public final class Utils {
  private Utils() {}

  /**
   * Rescales the gradients of {@code params} in place so that their joint
   * Euclidean norm is at most {@code maxNorm} ({@code torch.nn.utils.clip_grad_norm_(params, max_norm)}).
   *
   * @param params tensors whose {@code grad} to clip; those without a gradient are skipped
   * @param maxNorm the largest allowed norm, finite and &gt; 0
   * @return the joint norm of the gradients before clipping
   * @throws IllegalArgumentException if {@code maxNorm} is out of range
   */
  public static double clipGradNorm(List<Tensor> params, double maxNorm) {
    return clipGradNorm(params, maxNorm, 2.0);
  }

  /**
   * Rescales the gradients of {@code params} in place so that their joint
   * {@code normType}-norm is at most {@code maxNorm}: each gradient is multiplied by
   * {@code min(1, maxNorm / (total + 1e-6))}
   * ({@code torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)}).
   *
   * @param params tensors whose {@code grad} to clip; those without a gradient are skipped
   * @param maxNorm the largest allowed norm, finite and &gt; 0
   * @param normType the order of the norm, &gt; 0, or {@code Double.POSITIVE_INFINITY} for the largest magnitude
   * @return the joint norm of the gradients before clipping (0 when no tensor has a gradient)
   * @throws IllegalArgumentException if {@code maxNorm} or {@code normType} is out of range
   * @throws IllegalStateException if a tensor is closed
   */
  public static double clipGradNorm(List<Tensor> params, double maxNorm, double normType) {
    Objects.requireNonNull(params, "params");
    if (!(maxNorm > 0) || Double.isInfinite(maxNorm)) throw new IllegalArgumentException("maxNorm must be finite and > 0, got " + maxNorm);
    if (!(normType > 0)) throw new IllegalArgumentException("normType must be > 0 (or infinity), got " + normType);
    for (int i = 0; i < params.size(); i++) {
      if (params.get(i) == null) throw new NullPointerException("params[" + i + "] is null");
    }
    if (params.isEmpty()) return 0;
    return Functional.clipGradNorm(params, maxNorm, normType);
  }
}
