package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Tensor;

/**
 * A module whose forward pass maps one tensor to one tensor, like most of
 * {@code torch.nn}'s layers; {@link Sequential} chains them.
 */
public interface UnaryModule {
  /**
   * Runs the module on {@code input} ({@code Module.forward}).
   *
   * @param input the input; the shape each layer accepts is given in its own documentation
   * @return a new tensor that the caller owns (it joins the innermost open
   *     {@link io.github.ddpm4j.torch.Scope}), never {@code input} itself
   * @throws IllegalArgumentException if the input's shape, dtype or device does not fit the module
   */
  Tensor forward(Tensor input);
}
