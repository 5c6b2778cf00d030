package io.github.ddpm4j.nn;

/**
 * The settings of a 2-d convolution layer ({@link Conv2d}, {@link ConvTranspose2d}), as
 * {@code torch::nn::Conv2dOptions} names them, with square kernels and equal settings on
 * both axes. Start from {@link #kernel(long)} and name what differs from PyTorch's defaults:
 * {@snippet :
 * new Conv2d(64, 128, ConvOptions.kernel(3).withPadding(1));           // 3x3, same size
 * new Conv2d(64, 64, ConvOptions.kernel(3).withStride(2).withPadding(1)); // halves H and W
 * new ConvTranspose2d(64, 64, ConvOptions.kernel(4).withStride(2).withPadding(1)); // doubles them
 * }
 *
 * @param kernelSize height and width of the kernel, &gt; 0
 * @param stride step on both axes, &gt; 0 (for a transposed convolution, the upsampling factor)
 * @param padding zeros added on each side of both axes, &gt;= 0 (for a transposed convolution,
 *     implicit padding removed from each side of the output)
 * @param dilation spacing between kernel elements, &gt; 0
 * @param groups channel groups, &gt; 0; it must divide both channel counts of the layer
 * @param bias whether the layer learns an additive bias
 */
public record ConvOptions(long kernelSize, long stride, long padding, long dilation, long groups, boolean bias) {
  /**
   * @throws IllegalArgumentException naming the first setting out of range
   */
  public ConvOptions {
    Checks.positive(kernelSize, "kernelSize");
    Checks.positive(stride, "stride");
    Checks.nonNegative(padding, "padding");
    Checks.positive(dilation, "dilation");
    Checks.positive(groups, "groups");
  }

  /**
   * @param kernelSize height and width of the kernel, &gt; 0
   * @return PyTorch's defaults for that kernel: stride 1, padding 0, dilation 1, one group, a bias
   * @throws IllegalArgumentException if {@code kernelSize <= 0}
   */
  public static ConvOptions kernel(long kernelSize) {
    return new ConvOptions(kernelSize, 1, 0, 1, 1, true);
  }

  /** @param s the step on both axes, &gt; 0 @return these options with that stride */
  public ConvOptions withStride(long s) {
    return new ConvOptions(kernelSize, s, padding, dilation, groups, bias);
  }

  /** @param p the padding on each side, &gt;= 0 @return these options with that padding */
  public ConvOptions withPadding(long p) {
    return new ConvOptions(kernelSize, stride, p, dilation, groups, bias);
  }

  /** @param d the spacing between kernel elements, &gt; 0 @return these options with that dilation */
  public ConvOptions withDilation(long d) {
    return new ConvOptions(kernelSize, stride, padding, d, groups, bias);
  }

  /** @param g the channel groups, &gt; 0 @return these options with that many groups */
  public ConvOptions withGroups(long g) {
    return new ConvOptions(kernelSize, stride, padding, dilation, g, bias);
  }

  /** @param b whether to learn a bias @return these options with or without a bias */
  public ConvOptions withBias(boolean b) {
    return new ConvOptions(kernelSize, stride, padding, dilation, groups, b);
  }

  /** @return the extent of the dilated kernel, {@code dilation * (kernelSize - 1) + 1} */
  long span() {
    return dilation * (kernelSize - 1) + 1;
  }
}
