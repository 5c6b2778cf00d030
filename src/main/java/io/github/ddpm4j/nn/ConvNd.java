package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * What {@link Conv2d} and {@link ConvTranspose2d} share, as PyTorch's {@code _ConvNd}: the
 * channel counts, the {@link ConvOptions}, the parameters and their initialisation, the
 * accessors and the description. {@code weight} is
 * {@code [outChannels, inChannels / groups, k, k]} for a convolution and
 * {@code [inChannels, outChannels / groups, k, k]} for a transposed one (PyTorch's order);
 * {@code bias}, unless disabled, {@code [outChannels]}; float32 on the CPU. They start as in
 * PyTorch: {@code kaiming_uniform_(a=sqrt(5))} on the weight, then the bias from
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the fan in that PyTorch takes from the weight's
 * dimension 1, drawn in that order from the default generator.
 */
public abstract sealed class ConvNd extends Module implements UnaryModule permits Conv2d, ConvTranspose2d {
  private final long inChannels;
  private final long outChannels;
  private final ConvOptions options;

  ConvNd(long inChannels, long outChannels, ConvOptions options, boolean transposed) {
    this.inChannels = Checks.positive(inChannels, "inChannels");
    this.outChannels = Checks.positive(outChannels, "outChannels");
    this.options = java.util.Objects.requireNonNull(options, "options");
    long g = options.groups();
    if (inChannels % g != 0 || outChannels % g != 0) {
      throw new IllegalArgumentException("groups = " + g + " must divide inChannels = " + inChannels + " and outChannels = " + outChannels);
    }
    long k = options.kernelSize();
    long[] shape = transposed ? new long[] {inChannels, outChannels / g, k, k} : new long[] {outChannels, inChannels / g, k, k};
    registerParameter("weight", Torch.empty(shape, DType.FLOAT32, Device.CPU));
    if (options.bias()) registerParameter("bias", Torch.empty(new long[] {outChannels}, DType.FLOAT32, Device.CPU));
    resetParameters();
  }

  /** Redraws the parameters as the constructor does ({@code _ConvNd.reset_parameters}). */
  public final void resetParameters() {
    Init.kaimingUniform_(weight(), Math.sqrt(5));
    if (options.bias()) {
      long fanIn = Init.calculateFanInAndFanOut(weight()).fanIn();
      double bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      Init.uniform_(bias(), -bound, bound, null);
    }
  }

  /**
   * Checks an input's rank, channels, dtype and device.
   *
   * @return {@code input}
   * @throws IllegalArgumentException if it is not {@code [N, inChannels, H, W]} or {@code [inChannels, H, W]}, or its
   *     dtype or device differs from the weight's
   */
  final Tensor checkInput(Tensor input) {
    Checks.input(input, this);
    int d = input.dim();
    if ((d != 3 && d != 4) || input.size(-3) != inChannels) {
      throw Checks.badShape(this, "[N, " + inChannels + ", H, W] or [" + inChannels + ", H, W]", input);
    }
    Checks.sameTypeAndDevice(input, weight(), this);
    return input;
  }

  /** @return the options' stride, padding or dilation as LibTorch's {@code {h, w}} pair */
  static long[] pair(long v) {
    return new long[] {v, v};
  }

  /** @return the weight (the module's own tensor: do not close it); its shape is in the class comment */
  public final Tensor weight() {
    return parameter("weight");
  }

  /** @return the bias {@code [outChannels]}, or {@code null} for a layer without one */
  public final Tensor bias() {
    return options.bias() ? parameter("bias") : null;
  }

  /** @return channels of the input */
  public final long inChannels() {
    return inChannels;
  }

  /** @return channels of the output */
  public final long outChannels() {
    return outChannels;
  }

  /** @return the layer's settings */
  public final ConvOptions options() {
    return options;
  }

  /**
   * @return PyTorch's {@code _ConvNd.extra_repr}, e.g. {@code 3, 4, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)};
   *     padding, dilation, groups and the bias only where they differ from the defaults
   */
  @Override
  protected final String extraRepr() {
    StringBuilder s = new StringBuilder().append(inChannels).append(", ").append(outChannels)
        .append(", kernel_size=").append(Repr.pair(options.kernelSize())).append(", stride=").append(Repr.pair(options.stride()));
    if (options.padding() != 0) s.append(", padding=").append(Repr.pair(options.padding()));
    if (options.dilation() != 1) s.append(", dilation=").append(Repr.pair(options.dilation()));
    if (options.groups() != 1) s.append(", groups=").append(options.groups());
    if (!options.bias()) s.append(", bias=False");
    return s.toString();
  }
}
