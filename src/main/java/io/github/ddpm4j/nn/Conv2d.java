package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * A 2-d convolution with a square kernel, equal stride and zero padding on both
 * axes ({@code torch.nn.Conv2d(in, out, kernel_size, stride, padding)}, dilation 1,
 * one group).
 *
 * <p>Parameters: {@code weight} {@code [outChannels, inChannels, k, k]} and,
 * unless disabled, {@code bias} {@code [outChannels]}, float32 on the CPU. They
 * start as in PyTorch: {@code weight} from {@code kaiming_uniform_(a=sqrt(5))},
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with {@code fan_in = inChannels * k * k},
 * then {@code bias} from the same interval, drawn in that order from the default
 * generator.
 */
public final class Conv2d extends Module implements UnaryModule {
  private final long inChannels;
  private final long outChannels;
  private final long kernelSize;
  private final long stride;
  private final long padding;
  private final boolean hasBias;

  /**
   * A convolution with a bias.
   *
   * @param inChannels channels of the input, &gt; 0
   * @param outChannels channels of the output, &gt; 0
   * @param kernelSize height and width of the kernel, &gt; 0
   * @param stride step on both axes, &gt; 0
   * @param padding zeros added on each side of both axes, &gt;= 0
   * @throws IllegalArgumentException if an argument is out of range
   */
  public Conv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding) {
    this(inChannels, outChannels, kernelSize, stride, padding, true);
  }

  /**
   * @param inChannels channels of the input, &gt; 0
   * @param outChannels channels of the output, &gt; 0
   * @param kernelSize height and width of the kernel, &gt; 0
   * @param stride step on both axes, &gt; 0
   * @param padding zeros added on each side of both axes, &gt;= 0
   * @param bias whether to learn an additive bias
   * @throws IllegalArgumentException if an argument is out of range
   */
  public Conv2d(long inChannels, long outChannels, long kernelSize, long stride, long padding, boolean bias) {
    this.inChannels = Checks.positive(inChannels, "inChannels");
    this.outChannels = Checks.positive(outChannels, "outChannels");
    this.kernelSize = Checks.positive(kernelSize, "kernelSize");
    this.stride = Checks.positive(stride, "stride");
    this.padding = Checks.nonNegative(padding, "padding");
    this.hasBias = bias;
    registerParameter("weight", Torch.empty(new long[] {outChannels, inChannels, kernelSize, kernelSize}, DType.FLOAT32, Device.CPU));
    if (bias) registerParameter("bias", Torch.empty(new long[] {outChannels}, DType.FLOAT32, Device.CPU));
    resetParameters();
  }

  /** Redraws the parameters as the constructor does ({@code _ConvNd.reset_parameters}). */
  public void resetParameters() {
    Init.kaimingUniform_(weight(), Math.sqrt(5));
    if (hasBias) {
      long fanIn = Init.calculateFanInAndFanOut(weight()).fanIn();
      double bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      Init.uniform_(bias(), -bound, bound, null);
    }
  }

  /**
   * Applies the convolution ({@code Conv2d.forward}, {@code F.conv2d}).
   *
   * @param input {@code [N, inChannels, H, W]}, or unbatched {@code [inChannels, H, W]}, with
   *     {@code H + 2 * padding >= kernelSize} and likewise {@code W}; the parameters' dtype and device
   * @return {@code [N, outChannels, Ho, Wo]} (or {@code [outChannels, Ho, Wo]}) with
   *     {@code Ho = (H + 2 * padding - kernelSize) / stride + 1}, rounded down, likewise {@code Wo}
   * @throws IllegalArgumentException if the rank, channel count or spatial size does not fit, or the dtype
   *     or device differs from the parameters'
   */
  @Override
  public Tensor forward(Tensor input) {
    Checks.input(input, this);
    int d = input.dim();
    if ((d != 3 && d != 4) || input.size(-3) != inChannels) {
      throw Checks.badShape(this, "[N, " + inChannels + ", H, W] or [" + inChannels + ", H, W]", input);
    }
    if (input.size(-2) + 2 * padding < kernelSize || input.size(-1) + 2 * padding < kernelSize) {
      throw Checks.badShape(this, "with H + 2*padding >= " + kernelSize + " and W + 2*padding >= " + kernelSize, input);
    }
    Tensor w = weight();
    Checks.sameTypeAndDevice(input, w, this);
    return Functional.conv2d(input, w, bias(), new long[] {stride, stride}, new long[] {padding, padding}, new long[] {1, 1}, 1);
  }

  /** @return the weight {@code [outChannels, inChannels, k, k]} (the module's own tensor: do not close it) */
  public Tensor weight() {
    return parameter("weight");
  }

  /** @return the bias {@code [outChannels]}, or {@code null} for a layer without one */
  public Tensor bias() {
    return hasBias ? parameter("bias") : null;
  }

  /** @return channels of the input */
  public long inChannels() {
    return inChannels;
  }

  /** @return channels of the output */
  public long outChannels() {
    return outChannels;
  }

  /** @return the kernel's height and width */
  public long kernelSize() {
    return kernelSize;
  }

  /** @return the step on both axes */
  public long stride() {
    return stride;
  }

  /** @return the zero padding on each side */
  public long padding() {
    return padding;
  }

  /** @return PyTorch's {@code _ConvNd.extra_repr}, e.g. {@code 3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)} */
  @Override
  protected String extraRepr() {
    StringBuilder s = new StringBuilder().append(inChannels).append(", ").append(outChannels)
        .append(", kernel_size=").append(Repr.pair(kernelSize)).append(", stride=").append(Repr.pair(stride));
    if (padding != 0) s.append(", padding=").append(Repr.pair(padding));
    if (!hasBias) s.append(", bias=False");
    return s.toString();
  }
}
