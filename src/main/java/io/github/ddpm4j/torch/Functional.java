package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Reference;

/**
 * Neural-network operators computed by LibTorch, as in
 * {@code torch.nn.functional}. Optional tensors ({@code bias}, GroupNorm's
 * {@code weight}) may be {@code null}.
 */
public final class Functional {
  static {
    NativeLibrary.load();
  }

  private Functional() {}

  /** Loss reductions ({@code reduction=} in torch.nn.functional). */
  public enum Reduction {
    /** Per-element losses. */
    NONE,
    /** The mean over all elements. */
    MEAN,
    /** The sum over all elements. */
    SUM
  }

  /** Resampling modes of {@link #interpolate}. */
  public enum InterpolateMode {
    /** Nearest neighbour ({@code mode="nearest"}). */
    NEAREST,
    /** Bilinear ({@code mode="bilinear"}). */
    BILINEAR,
    /** Bicubic ({@code mode="bicubic"}). */
    BICUBIC
  }

  private static MemorySegment opt(Tensor t) {
    return t == null ? MemorySegment.NULL : t.handle();
  }

  /**
   * {@code y = x W^T + b} ({@code F.linear}).
   *
   * @param input {@code [..., in_features]}
   * @param weight {@code [out_features, in_features]}
   * @param bias {@code [out_features]} or {@code null}
   * @return {@code [..., out_features]}
   * @throws TorchException if the feature sizes disagree
   */
  public static Tensor linear(Tensor input, Tensor weight, Tensor bias) {
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_linear(n.ctx, input.handle(), weight.handle(), opt(bias)), input, weight, bias);
    } finally {
      Reference.reachabilityFence(input);
      Reference.reachabilityFence(weight);
      Reference.reachabilityFence(bias);
    }
  }

  /**
   * 2-d convolution ({@code F.conv2d}).
   *
   * @param input {@code [batch, in_channels, height, width]}
   * @param weight {@code [out_channels, in_channels / groups, kh, kw]}
   * @param bias {@code [out_channels]} or {@code null}
   * @param stride {@code {sh, sw}}
   * @param padding {@code {ph, pw}}, zero padding
   * @param dilation {@code {dh, dw}}
   * @param groups channel groups
   * @return {@code [batch, out_channels, h_out, w_out]}
   * @throws TorchException if the shapes disagree
   * @throws IllegalArgumentException if an array does not have two entries
   */
  public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, long[] stride, long[] padding, long[] dilation, long groups) {
    pair(stride, "stride");
    pair(padding, "padding");
    pair(dilation, "dilation");
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_conv2d(n.ctx, input.handle(), weight.handle(), opt(bias), stride[0], stride[1], padding[0], padding[1],
          dilation[0], dilation[1], groups), input, weight, bias);
    } finally {
      Reference.reachabilityFence(input);
      Reference.reachabilityFence(weight);
      Reference.reachabilityFence(bias);
    }
  }

  /**
   * 2-d transposed convolution ({@code F.conv_transpose2d}).
   *
   * @param input {@code [batch, in_channels, height, width]}
   * @param weight {@code [in_channels, out_channels / groups, kh, kw]}
   * @param bias {@code [out_channels]} or {@code null}
   * @param stride {@code {sh, sw}}
   * @param padding {@code {ph, pw}}
   * @param outputPadding {@code {oph, opw}}
   * @param dilation {@code {dh, dw}}
   * @param groups channel groups
   * @return {@code [batch, out_channels, h_out, w_out]}
   * @throws TorchException if the shapes disagree
   * @throws IllegalArgumentException if an array does not have two entries
   */
  public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, long[] stride, long[] padding, long[] outputPadding,
      long[] dilation, long groups) {
    pair(stride, "stride");
    pair(padding, "padding");
    pair(outputPadding, "outputPadding");
    pair(dilation, "dilation");
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_conv_transpose2d(n.ctx, input.handle(), weight.handle(), opt(bias), stride[0], stride[1], padding[0],
          padding[1], outputPadding[0], outputPadding[1], dilation[0], dilation[1], groups), input, weight, bias);
    } finally {
      Reference.reachabilityFence(input);
      Reference.reachabilityFence(weight);
      Reference.reachabilityFence(bias);
    }
  }

  private static void pair(long[] a, String name) {
    if (a == null || a.length != 2) throw new IllegalArgumentException(name + " must have exactly two entries {h, w}");
  }

  /**
   * Group normalisation (Wu and He 2018; {@code F.group_norm}).
   *
   * @param input {@code [batch, channels, ...]}
   * @param groups number of groups; must divide {@code channels}
   * @param weight {@code [channels]} or {@code null}
   * @param bias {@code [channels]} or {@code null}
   * @param eps added to the variance
   * @return the normalised input, same shape
   * @throws TorchException if {@code channels} is not divisible by {@code groups}
   */
  public static Tensor groupNorm(Tensor input, long groups, Tensor weight, Tensor bias, double eps) {
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_group_norm(n.ctx, input.handle(), groups, opt(weight), opt(bias), eps), input, weight, bias);
    } finally {
      Reference.reachabilityFence(input);
      Reference.reachabilityFence(weight);
      Reference.reachabilityFence(bias);
    }
  }

  /**
   * Layer normalisation ({@code F.layer_norm}).
   *
   * @param input {@code [..., *normalizedShape]}
   * @param normalizedShape the trailing sizes to normalise over
   * @param weight {@code normalizedShape} or {@code null}
   * @param bias {@code normalizedShape} or {@code null}
   * @param eps added to the variance
   * @return the normalised input, same shape
   * @throws TorchException if the trailing sizes disagree
   */
  public static Tensor layerNorm(Tensor input, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_layer_norm(n.ctx, input.handle(), n.longs(0, normalizedShape), normalizedShape.length, opt(weight),
          opt(bias), eps), input, weight, bias);
    } finally {
      Reference.reachabilityFence(input);
      Reference.reachabilityFence(weight);
      Reference.reachabilityFence(bias);
    }
  }

  /**
   * Dropout ({@code F.dropout}): in training, zeroes each element with
   * probability {@code p} and scales the rest by {@code 1/(1-p)}, drawing from
   * the default generator.
   *
   * @param input any shape
   * @param p drop probability in [0, 1]
   * @param training whether to drop; when false the input is returned unchanged (as a new handle)
   * @return same shape
   * @throws IllegalArgumentException if {@code p} is outside [0, 1]
   */
  public static Tensor dropout(Tensor input, double p, boolean training) {
    if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_dropout(n.ctx, input.handle(), p, training ? 1 : 0), input);
    } finally {
      Reference.reachabilityFence(input);
    }
  }

  /**
   * Mean squared error ({@code F.mse_loss}).
   *
   * @param input predictions
   * @param target targets, same shape as {@code input}
   * @param reduction how to reduce
   * @return a 0-d tensor, or per-element losses for {@link Reduction#NONE}
   * @throws TorchException if the shapes differ
   */
  public static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) {
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_mse_loss(n.ctx, input.handle(), target.handle(), reduction.ordinal()), input, target);
    } finally {
      Reference.reachabilityFence(input);
      Reference.reachabilityFence(target);
    }
  }

  /**
   * Resizes images ({@code F.interpolate(size=(outH, outW), mode=...)}).
   *
   * @param input {@code [batch, channels, height, width]}
   * @param outH output height, &gt; 0
   * @param outW output width, &gt; 0
   * @param mode resampling mode
   * @param alignCorners PyTorch's {@code align_corners}; ignored for {@link InterpolateMode#NEAREST}
   * @return {@code [batch, channels, outH, outW]}
   * @throws TorchException if the input is not 4-d or a size is not positive
   */
  public static Tensor interpolate(Tensor input, long outH, long outW, InterpolateMode mode, boolean alignCorners) {
    Native n = Native.get();
    try {
      return Tensor.result(n, dd_interpolate(n.ctx, input.handle(), outH, outW, mode.ordinal(), alignCorners ? 1 : 0), input);
    } finally {
      Reference.reachabilityFence(input);
    }
  }

  /**
   * Rescales gradients so that their joint norm is at most {@code maxNorm}
   * ({@code torch.nn.utils.clip_grad_norm_}).
   *
   * @param parameters tensors whose {@code grad} to clip; those without a gradient are skipped
   * @param maxNorm the largest allowed norm, &gt; 0
   * @param normType the norm's order (2 for Euclidean; {@code Double.POSITIVE_INFINITY} for max)
   * @return the total norm before clipping
   * @throws IllegalArgumentException if {@code maxNorm <= 0}
   */
  public static double clipGradNorm(java.util.List<Tensor> parameters, double maxNorm, double normType) {
    if (!(maxNorm > 0)) throw new IllegalArgumentException("maxNorm must be > 0, got " + maxNorm);
    Native n = Native.get();
    try {
      double norm = dd_clip_grad_norm(n.ctx, n.handles(parameters), parameters.size(), maxNorm, normType);
      Native.check(n.ctx);
      return norm;
    } finally {
      Reference.reachabilityFence(parameters);
    }
  }
}
