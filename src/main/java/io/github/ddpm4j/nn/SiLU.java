package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Functional;

/**
 * The sigmoid-weighted linear unit {@code x * sigmoid(x)} (Elfwing et al. 2018;
 * Ramachandran et al. 2017 call it Swish; {@code torch.nn.SiLU}). It has no parameters.
 */
public final class SiLU extends Module implements UnaryModule {
  /** Creates the module. */
  public SiLU() {}

  /**
   * @param input any shape, floating point
   * @return {@code input * sigmoid(input)}, same shape ({@code F.silu})
   * @throws IllegalStateException if the input is closed
   */
  @Override
  public Tensor forward(Tensor input) {
    return Functional.silu(Checks.input(input, this));
  }
}
