package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Conv2d;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.nn.ConvOptions;

/** Halves the resolution with {@code conv}, a 3x3 convolution of stride 2 and padding 1. */
final class Downsample extends UNetBlock {
  private final Conv2d conv;

  Downsample(long nChannels) {
    this.conv = registerModule("conv", new Conv2d(nChannels, nChannels, ConvOptions.kernel(3).withStride(2).withPadding(1)));
  }

  @Override
  Tensor forward(Tensor x, Tensor temb) {
    return conv.forward(x);
  }
}
