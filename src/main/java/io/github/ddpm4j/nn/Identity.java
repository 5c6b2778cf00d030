package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Tensor;

/**
 * Passes its input through unchanged ({@code torch.nn.Identity}); a placeholder
 * where a layer is optional, such as a skip connection without a projection.
 * It has no parameters.
 */
public final class Identity extends Module implements UnaryModule {
  /** Creates the module. */
  public Identity() {}

  /**
   * @param input any tensor
   * @return a new handle to the same tensor (same storage and autograd history), which the caller may
   *     close without closing {@code input}
   * @throws IllegalStateException if the input is closed
   */
  @Override
  public Tensor forward(Tensor input) {
    return Checks.input(input, this).alias();
  }
}
