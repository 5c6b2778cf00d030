package io.github.ddpm4j.optim;

import io.github.ddpm4j.torch.Tensor;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter 2019, "Decoupled Weight Decay
 * Regularization", Algorithm 2), as {@code torch.optim.AdamW} computes it: each
 * step first multiplies the parameters by {@code 1 - lr * weightDecay}, then
 * applies the Adam update. The arithmetic is LibTorch's
 * {@code torch::optim::AdamW}.
 */
public final class AdamW extends Optimizer {
  /**
   * AdamW with PyTorch's defaults ({@code lr=1e-3}, weight decay 1e-2).
   *
   * @param params leaf tensors that require grad; non-empty
   * @throws IllegalArgumentException if {@code params} is empty or holds a tensor that is not a
   *     floating-point leaf requiring grad
   */
  public AdamW(List<Tensor> params) {
    this(params, AdamOptions.adamW(1e-3));
  }

  /**
   * AdamW with PyTorch's defaults (weight decay 1e-2) and the given learning rate.
   *
   * @param params leaf tensors that require grad; non-empty
   * @param lr learning rate, finite and &gt;= 0
   * @throws IllegalArgumentException if an argument is out of range
   */
  public AdamW(List<Tensor> params, double lr) {
    this(params, AdamOptions.adamW(lr));
  }

  /**
   * @param params leaf tensors that require grad; non-empty
   * @param options the hyperparameters ({@link AdamOptions#adamW} gives PyTorch's defaults)
   * @throws IllegalArgumentException if {@code params} is empty or holds a tensor that is not a
   *     floating-point leaf requiring grad
   */
  public AdamW(List<Tensor> params, AdamOptions options) {
    super("AdamW", params, options, true);
  }
}
