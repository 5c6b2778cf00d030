package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;

/**
 * A 2-d convolution with a square kernel and equal settings on both axes
 * ({@code torch.nn.Conv2d(in, out, kernel_size, stride, padding, dilation, groups, bias)}).
 * Parameters and their initialisation: {@link ConvNd}.
 * {@snippet :
 * Conv2d same = new Conv2d(64, 128, ConvOptions.kernel(3).withPadding(1));
 * }
 */
public final class Conv2d extends ConvNd {
  /**
   * @param inChannels channels of the input, &gt; 0
   * @param outChannels channels of the output, &gt; 0
   * @param options kernel size, stride, padding, dilation, groups and bias
   * @throws IllegalArgumentException if a channel count is not positive or {@code groups} does not divide both
   */
  public Conv2d(long inChannels, long outChannels, ConvOptions options) {
    super(inChannels, outChannels, options, false);
  }

  /**
   * Applies the convolution ({@code Conv2d.forward}, {@code F.conv2d}).
   *
   * @param input {@code [N, inChannels, H, W]}, or unbatched {@code [inChannels, H, W]}, with
   *     {@code H + 2 * padding >= span} and likewise {@code W}, where {@code span = dilation * (kernelSize - 1) + 1};
   *     the parameters' dtype and device
   * @return {@code [N, outChannels, Ho, Wo]} (or {@code [outChannels, Ho, Wo]}) with
   *     {@code Ho = (H + 2 * padding - span) / stride + 1}, rounded down, likewise {@code Wo}
   * @throws IllegalArgumentException if the rank, channel count or spatial size does not fit, or the dtype
   *     or device differs from the parameters'
   */
  @Override
  public Tensor forward(Tensor input) {
    checkInput(input);
    ConvOptions o = options();
    long span = o.span();
    if (input.size(-2) + 2 * o.padding() < span || input.size(-1) + 2 * o.padding() < span) {
      throw Checks.badShape(this, "with H + 2*padding >= " + span + " and W + 2*padding >= " + span, input);
    }
    return Functional.conv2d(input, weight(), bias(), pair(o.stride()), pair(o.padding()), pair(o.dilation()), o.groups());
  }
}
