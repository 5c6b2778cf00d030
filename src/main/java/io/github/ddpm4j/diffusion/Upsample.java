package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.ConvTranspose2d;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.nn.ConvOptions;

/** Doubles the resolution with {@code conv}, a 4x4 transposed convolution of stride 2 and padding 1. */
final class Upsample extends UNetBlock {
  private final ConvTranspose2d conv;

  Upsample(long nChannels) {
    this.conv = registerModule("conv", new ConvTranspose2d(nChannels, nChannels, ConvOptions.kernel(4).withStride(2).withPadding(1)));
  }

  @Override
  Tensor forward(Tensor x, Tensor temb) {
    return conv.forward(x);
  }
}
