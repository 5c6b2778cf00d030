package io.github.ddpm4j.optim;

import io.github.ddpm4j.torch.Tensor;
import java.util.List;

/**
 * Adam (Kingma and Ba 2015, "Adam: A Method for Stochastic Optimization",
 * Algorithm 1), as {@code torch.optim.Adam} computes it, with
 * {@code weightDecay} added to the gradient as an L2 penalty. The arithmetic is
 * LibTorch's {@code torch::optim::Adam}, which matches the Python optimizer.
 * {@snippet :
 * try (Adam opt = new Adam(model.parameters(), AdamOptions.adam(2e-4))) {
 *   // per step: opt.zeroGrad(); loss.backward(); opt.step();
 * }
 * }
 */
public final class Adam extends Optimizer {
  /**
   * Adam with PyTorch's defaults ({@code lr=1e-3}).
   *
   * @param params leaf tensors that require grad, typically {@link Module#parameters()}; non-empty
   * @throws IllegalArgumentException if {@code params} is empty or holds a tensor that is not a
   *     floating-point leaf requiring grad
   */
  public Adam(List<Tensor> params) {
    this(params, AdamOptions.adam(1e-3));
  }

  /**
   * Adam with PyTorch's defaults and the given learning rate.
   *
   * @param params leaf tensors that require grad; non-empty
   * @param lr learning rate, finite and &gt;= 0
   * @throws IllegalArgumentException if an argument is out of range
   */
  public Adam(List<Tensor> params, double lr) {
    this(params, AdamOptions.adam(lr));
  }

  /**
   * @param params leaf tensors that require grad; non-empty
   * @param options the hyperparameters
   * @throws IllegalArgumentException if {@code params} is empty or holds a tensor that is not a
   *     floating-point leaf requiring grad
   */
  public Adam(List<Tensor> params, AdamOptions options) {
    super("Adam", params, options, false);
  }
}
