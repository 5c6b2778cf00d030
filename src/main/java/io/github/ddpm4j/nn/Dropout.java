package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;

/**
 * Dropout (Srivastava et al. 2014; {@code torch.nn.Dropout}): in training mode
 * each element is zeroed with probability {@code p}, drawn from the default
 * generator as {@code F.dropout} draws it, and the survivors are scaled by
 * {@code 1 / (1 - p)}; in evaluation mode the input passes unchanged. It has
 * no parameters.
 */
public final class Dropout extends Module implements UnaryModule {
  private final double p;

  /**
   * @param p the probability of zeroing an element, in [0, 1]
   * @throws IllegalArgumentException if {@code p} is outside [0, 1] or NaN
   */
  public Dropout(double p) {
    if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("dropout probability p must be in [0, 1], got " + p);
    this.p = p;
  }

  /**
   * Applies dropout when {@link #isTraining()} ({@code Dropout.forward}).
   *
   * @param input any shape, floating point
   * @return same shape: masked and rescaled in training mode; otherwise a new handle to the input itself
   * @throws IllegalStateException if the input is closed
   */
  @Override
  public Tensor forward(Tensor input) {
    Checks.input(input, this);
    if (!isTraining()) return input.alias();
    return Functional.dropout(input, p, true);
  }

  /** @return the probability of zeroing an element */
  public double p() {
    return p;
  }

  /** @return {@code p=.., inplace=False}, as PyTorch prints it */
  @Override
  protected String extraRepr() {
    return "p=" + Repr.pyFloat(p) + ", inplace=False";
  }
}
