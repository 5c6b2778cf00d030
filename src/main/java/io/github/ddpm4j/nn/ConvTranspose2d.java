package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * A 2-d transposed convolution with a square kernel, equal stride and padding
 * on both axes ({@code torch.nn.ConvTranspose2d(in, out, kernel_size, stride, padding)},
 * {@code output_padding=0}, dilation 1, one group).
 *
 * <p>Parameters: {@code weight} {@code [inChannels, outChannels, k, k]} (note
 * the order, as in PyTorch) and, unless disabled, {@code bias}
 * {@code [outChannels]}, float32 on the CPU. They start as in PyTorch:
 * {@code kaiming_uniform_(a=sqrt(5))} on the weight, whose fan in PyTorch takes
 * from the weight's dimension 1, {@code fan_in = outChannels * k * k}; then the
 * bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
 */
public final class ConvTranspose2d extends Module implements UnaryModule {
  private final long inChannels;
  private final long outChannels;
  private final long kernelSize;
  private final long stride;
  private final long padding;
  private final boolean hasBias;

  /**
   * A transposed convolution with a bias.
   *
   * @param inChannels channels of the input, &gt; 0
   * @param outChannels channels of the output, &gt; 0
   * @param kernelSize height and width of the kernel, &gt; 0
   * @param stride step on both axes (the upsampling factor), &gt; 0
   * @param padding implicit padding removed from each side of the output, &gt;= 0
   * @throws IllegalArgumentException if an argument is out of range
   */
  public ConvTranspose2d(long inChannels, long outChannels, long kernelSize, long stride, long padding) {
    this(inChannels, outChannels, kernelSize, stride, padding, true);
  }

  /**
   * @param inChannels channels of the input, &gt; 0
   * @param outChannels channels of the output, &gt; 0
   * @param kernelSize height and width of the kernel, &gt; 0
   * @param stride step on both axes (the upsampling factor), &gt; 0
   * @param padding implicit padding removed from each side of the output, &gt;= 0
   * @param bias whether to learn an additive bias
   * @throws IllegalArgumentException if an argument is out of range
   */
  public ConvTranspose2d(long inChannels, long outChannels, long kernelSize, long stride, long padding, boolean bias) {
    this.inChannels = Checks.positive(inChannels, "inChannels");
    this.outChannels = Checks.positive(outChannels, "outChannels");
    this.kernelSize = Checks.positive(kernelSize, "kernelSize");
    this.stride = Checks.positive(stride, "stride");
    this.padding = Checks.nonNegative(padding, "padding");
    this.hasBias = bias;
    registerParameter("weight", Torch.empty(new long[] {inChannels, outChannels, kernelSize, kernelSize}, DType.FLOAT32, Device.CPU));
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
   * Applies the transposed convolution ({@code ConvTranspose2d.forward}, {@code F.conv_transpose2d}).
   *
   * @param input {@code [N, inChannels, H, W]} or unbatched {@code [inChannels, H, W]}; the parameters'
   *     dtype and device
   * @return {@code [N, outChannels, Ho, Wo]} (or {@code [outChannels, Ho, Wo]}) with
   *     {@code Ho = (H - 1) * stride - 2 * padding + kernelSize}, likewise {@code Wo}
   * @throws IllegalArgumentException if the rank or channel count does not fit, the output would be
   *     empty, or the dtype or device differs from the parameters'
   */
  @Override
  public Tensor forward(Tensor input) {
    Checks.input(input, this);
    int d = input.dim();
    if ((d != 3 && d != 4) || input.size(-3) != inChannels) {
      throw Checks.badShape(this, "[N, " + inChannels + ", H, W] or [" + inChannels + ", H, W]", input);
    }
    long ho = (input.size(-2) - 1) * stride - 2 * padding + kernelSize;
    long wo = (input.size(-1) - 1) * stride - 2 * padding + kernelSize;
    if (ho <= 0 || wo <= 0) {
      throw Checks.badShape(this, "large enough for a non-empty output ((H - 1) * " + stride + " - " + 2 * padding + " + "
          + kernelSize + " > 0)", input);
    }
    Tensor w = weight();
    Checks.sameTypeAndDevice(input, w, this);
    return Functional.convTranspose2d(input, w, bias(), new long[] {stride, stride}, new long[] {padding, padding},
        new long[] {0, 0}, new long[] {1, 1}, 1);
  }

  /** @return the weight {@code [inChannels, outChannels, k, k]} (the module's own tensor: do not close it) */
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

  /** @return the padding on each side */
  public long padding() {
    return padding;
  }

  /** @return PyTorch's {@code _ConvNd.extra_repr}, e.g. {@code 4, 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1)} */
  @Override
  protected String extraRepr() {
    StringBuilder s = new StringBuilder().append(inChannels).append(", ").append(outChannels)
        .append(", kernel_size=").append(Repr.pair(kernelSize)).append(", stride=").append(Repr.pair(stride));
    if (padding != 0) s.append(", padding=").append(Repr.pair(padding));
    if (!hasBias) s.append(", bias=False");
    return s.toString();
  }
}
