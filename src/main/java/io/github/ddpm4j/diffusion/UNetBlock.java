package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.Tensor;

/**
 * A stage of the {@link UNet} that may read the time embedding: the elements of its
 * {@code down} and {@code up} lists and its middle block.
 */
abstract class UNetBlock extends Module {
  /**
   * @param x feature map {@code [batch, channels, height, width]}, float32
   * @param temb time embedding {@code [batch, 4 * nChannels]}, float32
   * @return the transformed feature map; it joins the caller's scope
   */
  abstract Tensor forward(Tensor x, Tensor temb);
}
