package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;

/**
 * A 2-d transposed convolution with a square kernel and equal settings on both axes
 * ({@code torch.nn.ConvTranspose2d(in, out, kernel_size, stride, padding, output_padding=0,
 * groups, bias, dilation)}). Parameters and their initialisation: {@link ConvNd}.
 * {@snippet :
 * ConvTranspose2d up = new ConvTranspose2d(64, 64, ConvOptions.kernel(4).withStride(2).withPadding(1));
 * }
 */
public final class ConvTranspose2d extends ConvNd {
  /**
   * @param inChannels channels of the input, &gt; 0
   * @param outChannels channels of the output, &gt; 0
   * @param options kernel size, stride (the upsampling factor), padding (removed from each side of the
   *     output), dilation, groups and bias
   * @throws IllegalArgumentException if a channel count is not positive or {@code groups} does not divide both
   */
  public ConvTranspose2d(long inChannels, long outChannels, ConvOptions options) {
    super(inChannels, outChannels, options, true);
  }

  /**
   * Applies the transposed convolution ({@code ConvTranspose2d.forward}, {@code F.conv_transpose2d}).
   *
   * @param input {@code [N, inChannels, H, W]} or unbatched {@code [inChannels, H, W]}; the parameters'
   *     dtype and device
   * @return {@code [N, outChannels, Ho, Wo]} (or {@code [outChannels, Ho, Wo]}) with
   *     {@code Ho = (H - 1) * stride - 2 * padding + dilation * (kernelSize - 1) + 1}, likewise {@code Wo}
   * @throws IllegalArgumentException if the rank or channel count does not fit, the output would be
   *     empty, or the dtype or device differs from the parameters'
   */
  @Override
  public Tensor forward(Tensor input) {
    checkInput(input);
    ConvOptions o = options();
    long ho = (input.size(-2) - 1) * o.stride() - 2 * o.padding() + o.span();
    long wo = (input.size(-1) - 1) * o.stride() - 2 * o.padding() + o.span();
    if (ho <= 0 || wo <= 0) {
      throw Checks.badShape(this, "large enough for a non-empty output ((H - 1) * " + o.stride() + " - " + 2 * o.padding() + " + "
          + o.span() + " > 0)", input);
    }
    return Functional.convTranspose2d(input, weight(), bias(), pair(o.stride()), pair(o.padding()), pair(0), pair(o.dilation()),
        o.groups());
  }
}
