package io.github.ddpm4j.optim;

/**
 * Hyperparameters of {@link Adam} and {@link AdamW}, with PyTorch's names and
 * defaults ({@code torch.optim.Adam(lr, betas, eps, weight_decay, amsgrad)}).
 * Records are immutable: the {@code with...} methods return modified copies.
 * {@snippet :
 * var opts = AdamOptions.adam(2e-4).withBetas(0.9, 0.99).withWeightDecay(1e-4);
 * }
 *
 * @param lr learning rate, finite and &gt;= 0
 * @param beta1 decay of the first-moment estimate, in [0, 1)
 * @param beta2 decay of the second-moment estimate, in [0, 1)
 * @param eps term added to the denominator, finite and &gt;= 0
 * @param weightDecay L2 penalty added to the gradient (Adam) or decoupled weight decay (AdamW), finite and &gt;= 0
 * @param amsgrad use the AMSGrad variant (Reddi et al. 2018, "On the Convergence of Adam and Beyond")
 */
public record AdamOptions(double lr, double beta1, double beta2, double eps, double weightDecay, boolean amsgrad) {
  /**
   * Validates every field.
   *
   * @throws IllegalArgumentException naming the first field out of range
   */
  public AdamOptions {
    if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr must be finite and >= 0, got " + lr);
    if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("beta1 must be in [0, 1), got " + beta1);
    if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
    if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("eps must be finite and >= 0, got " + eps);
    if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
      throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
    }
  }

  /**
   * {@code torch.optim.Adam}'s defaults: betas (0.9, 0.999), eps 1e-8, no weight decay, no AMSGrad.
   *
   * @param lr learning rate, finite and &gt;= 0
   * @return the options
   * @throws IllegalArgumentException if {@code lr} is out of range
   */
  public static AdamOptions adam(double lr) {
    return new AdamOptions(lr, 0.9, 0.999, 1e-8, 0, false);
  }

  /**
   * {@code torch.optim.AdamW}'s defaults: betas (0.9, 0.999), eps 1e-8, weight decay 1e-2, no AMSGrad.
   *
   * @param lr learning rate, finite and &gt;= 0
   * @return the options
   * @throws IllegalArgumentException if {@code lr} is out of range
   */
  public static AdamOptions adamW(double lr) {
    return new AdamOptions(lr, 0.9, 0.999, 1e-8, 1e-2, false);
  }

  /**
   * @param lr learning rate, finite and &gt;= 0
   * @return a copy with this learning rate
   * @throws IllegalArgumentException if out of range
   */
  public AdamOptions withLr(double lr) {
    return new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad);
  }

  /**
   * @param beta1 first-moment decay in [0, 1)
   * @param beta2 second-moment decay in [0, 1)
   * @return a copy with these betas
   * @throws IllegalArgumentException if out of range
   */
  public AdamOptions withBetas(double beta1, double beta2) {
    return new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad);
  }

  /**
   * @param eps denominator term, finite and &gt;= 0
   * @return a copy with this eps
   * @throws IllegalArgumentException if out of range
   */
  public AdamOptions withEps(double eps) {
    return new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad);
  }

  /**
   * @param weightDecay weight decay, finite and &gt;= 0
   * @return a copy with this weight decay
   * @throws IllegalArgumentException if out of range
   */
  public AdamOptions withWeightDecay(double weightDecay) {
    return new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad);
  }

  /**
   * @param amsgrad whether to use AMSGrad
   * @return a copy with this choice
   */
  public AdamOptions withAmsgrad(boolean amsgrad) {
    return new AdamOptions(lr, beta1, beta2, eps, weightDecay, amsgrad);
  }
}
