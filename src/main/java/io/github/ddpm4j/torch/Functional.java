package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * Stateless neural-network functions, as in {@code torch.nn.functional}
 * (imported in PyTorch code as {@code F}), computed by LibTorch's own operators, so
 * values and gradients are PyTorch's. Optional tensors ({@code bias}, GroupNorm's
 * {@code weight}) may be {@code null}. Every function checks its arguments' shapes
 * first and names the one at fault ({@link IllegalArgumentException}), returns a new
 * tensor owned by the caller (it joins the innermost open {@link Scope}), records
 * autograd history when grad mode is on, and throws {@link IllegalStateException} for
 * a closed input and {@link NullPointerException} for a null required argument.
 */
public final class Functional {
  static {
    NativeLibrary.load();
  }

  private Functional() {}

  /** Loss reductions ({@code reduction=} in torch.nn.functional), each with its code of {@code enum dd_loss_reduction}. */
  public enum Reduction {
    /** Per-element losses. */
    NONE(DD_REDUCTION_NONE()),
    /** The mean over all elements. */
    MEAN(DD_REDUCTION_MEAN()),
    /** The sum over all elements. */
    SUM(DD_REDUCTION_SUM());

    private final int code;

    Reduction(int code) {
      this.code = code;
    }
  }

  /** Resampling modes of {@link #interpolate}, each with its code of {@code enum dd_interpolate_mode}. */
  public enum InterpolateMode {
    /** Nearest neighbour ({@code mode="nearest"}). */
    NEAREST(DD_NEAREST()),
    /** Bilinear ({@code mode="bilinear"}). */
    BILINEAR(DD_BILINEAR()),
    /** Bicubic ({@code mode="bicubic"}). */
    BICUBIC(DD_BICUBIC());

    private final int code;

    InterpolateMode(int code) {
      this.code = code;
    }
  }

  private static MemorySegment opt(Tensor t) {
    return t == null ? MemorySegment.NULL : t.handle();
  }

  private static Tensor req(Tensor t, String name) {
    return Objects.requireNonNull(t, name);
  }

  private static long positive(long value, String name) {
    if (value <= 0) throw new IllegalArgumentException(name + " must be > 0, got " + value);
    return value;
  }

  private static long nonNegative(long value, String name) {
    if (value < 0) throw new IllegalArgumentException(name + " must be >= 0, got " + value);
    return value;
  }

  private static void finiteEps(double eps, String fn) {
    if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException(fn + ": eps must be finite and >= 0, got " + eps);
  }

  private static void checkDim(Tensor x, long dim, String fn) {
    int d = x.dim();
    if (dim < -Math.max(d, 1) || dim >= Math.max(d, 1)) {
      throw new IllegalArgumentException(fn + ": dim " + dim + " is out of range for a " + d + "-d input");
    }
  }

  // ------------------------------------------------------------- activations

  /**
   * @param input any shape, floating point
   * @return {@code input * sigmoid(input)}, same shape ({@code F.silu}; Elfwing et al. 2018)
   */
  public static Tensor silu(Tensor input) {
    return req(input, "input").silu();
  }

  /**
   * @param input any shape, floating point
   * @return {@code 1 / (1 + exp(-input))}, same shape ({@code torch.sigmoid})
   */
  public static Tensor sigmoid(Tensor input) {
    return req(input, "input").sigmoid();
  }

  /**
   * @param input any shape
   * @return {@code max(input, 0)}, same shape ({@code F.relu})
   */
  public static Tensor relu(Tensor input) {
    return req(input, "input").relu();
  }

  /**
   * @param input any shape, floating point
   * @return {@code input * Phi(input)} with the exact normal CDF, same shape ({@code F.gelu}, approximate='none')
   */
  public static Tensor gelu(Tensor input) {
    return req(input, "input").gelu();
  }

  /**
   * Softmax along one dimension ({@code F.softmax(input, dim)}).
   *
   * @param input any shape with at least one element, floating point
   * @param dim the dimension that sums to one; negative counts from the end
   * @return same shape and dtype
   * @throws IllegalArgumentException if {@code dim} is out of range
   */
  public static Tensor softmax(Tensor input, long dim) {
    checkDim(req(input, "input"), dim, "softmax");
    return input.softmax(dim);
  }

  /**
   * Log of the softmax along one dimension ({@code F.log_softmax(input, dim)}).
   *
   * @param input any shape, floating point
   * @param dim the dimension; negative counts from the end
   * @return same shape and dtype
   * @throws IllegalArgumentException if {@code dim} is out of range
   */
  public static Tensor logSoftmax(Tensor input, long dim) {
    checkDim(req(input, "input"), dim, "logSoftmax");
    return input.logSoftmax(dim);
  }

  // ------------------------------------------------------------------ layers

  /**
   * {@code y = x W^T + b} ({@code F.linear}).
   *
   * @param input {@code [..., in_features]}
   * @param weight {@code [out_features, in_features]}, same dtype and device as {@code input}
   * @param bias {@code [out_features]} or {@code null}
   * @return {@code [..., out_features]}
   * @throws IllegalArgumentException if the sizes disagree
   */
  public static Tensor linear(Tensor input, Tensor weight, Tensor bias) {
    req(input, "input");
    req(weight, "weight");
    if (weight.dim() != 2) throw new IllegalArgumentException("linear: weight must be 2-d [out, in], got " + Arrays.toString(weight.shape()));
    if (input.dim() < 1 || input.size(-1) != weight.size(1)) {
      throw new IllegalArgumentException("linear: input must be [*, " + weight.size(1) + "], got " + Arrays.toString(input.shape()));
    }
    if (bias != null && (bias.dim() != 1 || bias.size(0) != weight.size(0))) {
      throw new IllegalArgumentException("linear: bias must be [" + weight.size(0) + "], got " + Arrays.toString(bias.shape()));
    }
    Native n = Native.get();
    return Tensor.result(n, dd_linear(n.ctx, input.handle(), weight.handle(), opt(bias)), input, weight, bias);
  }

  /**
   * 2-d convolution with equal stride and padding on both axes ({@code F.conv2d}).
   *
   * @param input {@code [N, C, H, W]} or {@code [C, H, W]}
   * @param weight {@code [out, C, kh, kw]}
   * @param bias {@code [out]}, or {@code null}
   * @param stride step on both axes, &gt; 0
   * @param padding zeros on each side of both axes, &gt;= 0
   * @return {@code [N, out, (H + 2p - kh) / s + 1, (W + 2p - kw) / s + 1]}
   * @throws IllegalArgumentException if {@code stride} or {@code padding} is out of range
   * @throws TorchException if LibTorch rejects the shapes
   */
  public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, long stride, long padding) {
    positive(stride, "stride");
    nonNegative(padding, "padding");
    return conv2d(req(input, "input"), req(weight, "weight"), bias, new long[] {stride, stride}, new long[] {padding, padding},
        new long[] {1, 1}, 1);
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
    return Tensor.result(n, dd_conv2d(n.ctx, input.handle(), weight.handle(), opt(bias), stride[0], stride[1], padding[0], padding[1],
        dilation[0], dilation[1], groups), input, weight, bias);
  }

  /**
   * 2-d transposed convolution with equal stride and padding on both axes
   * ({@code F.conv_transpose2d}, {@code output_padding=0}).
   *
   * @param input {@code [N, C, H, W]} or {@code [C, H, W]}
   * @param weight {@code [C, out, kh, kw]}
   * @param bias {@code [out]}, or {@code null}
   * @param stride step on both axes, &gt; 0
   * @param padding padding removed from each side of the output, &gt;= 0
   * @return {@code [N, out, (H - 1) s - 2p + kh, (W - 1) s - 2p + kw]}
   * @throws IllegalArgumentException if {@code stride} or {@code padding} is out of range
   * @throws TorchException if LibTorch rejects the shapes
   */
  public static Tensor convTranspose2d(Tensor input, Tensor weight, Tensor bias, long stride, long padding) {
    positive(stride, "stride");
    nonNegative(padding, "padding");
    return convTranspose2d(req(input, "input"), req(weight, "weight"), bias, new long[] {stride, stride},
        new long[] {padding, padding}, new long[] {0, 0}, new long[] {1, 1}, 1);
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
    return Tensor.result(n, dd_conv_transpose2d(n.ctx, input.handle(), weight.handle(), opt(bias), stride[0], stride[1], padding[0],
        padding[1], outputPadding[0], outputPadding[1], dilation[0], dilation[1], groups), input, weight, bias);
  }

  private static void pair(long[] a, String name) {
    if (a == null || a.length != 2) throw new IllegalArgumentException(name + " must have exactly two entries {h, w}");
  }

  /**
   * Group normalisation (Wu and He 2018; {@code F.group_norm}): normalises each
   * sample's channel group to zero mean and unit (biased) variance, then applies
   * the per-channel {@code weight} and {@code bias}.
   *
   * @param input {@code [N, C, *]}, floating point
   * @param numGroups number of groups, &gt; 0, dividing {@code C}
   * @param weight {@code [C]}, or {@code null} for no scaling
   * @param bias {@code [C]}, or {@code null} for no shift
   * @param eps added to the variance, finite and &gt;= 0
   * @return same shape as {@code input}
   * @throws IllegalArgumentException if {@code input} has fewer than two dimensions, {@code numGroups}
   *     does not divide {@code C}, {@code weight} or {@code bias} is not {@code [C]}, or {@code eps} is bad
   */
  public static Tensor groupNorm(Tensor input, long numGroups, Tensor weight, Tensor bias, double eps) {
    req(input, "input");
    if (input.dim() < 2) throw new IllegalArgumentException("groupNorm: input must be [N, C, *], got " + Arrays.toString(input.shape()));
    positive(numGroups, "numGroups");
    long c = input.size(1);
    if (c % numGroups != 0) {
      throw new IllegalArgumentException("groupNorm: the input's channel count (" + c + ") must be divisible by numGroups (" + numGroups + ")");
    }
    if (weight != null && !Arrays.equals(weight.shape(), new long[] {c})) {
      throw new IllegalArgumentException("groupNorm: weight must be [" + c + "], got " + Arrays.toString(weight.shape()));
    }
    if (bias != null && !Arrays.equals(bias.shape(), new long[] {c})) {
      throw new IllegalArgumentException("groupNorm: bias must be [" + c + "], got " + Arrays.toString(bias.shape()));
    }
    finiteEps(eps, "groupNorm");
    Native n = Native.get();
    return Tensor.result(n, dd_group_norm(n.ctx, input.handle(), numGroups, opt(weight), opt(bias), eps), input, weight, bias);
  }

  /**
   * Layer normalisation (Ba et al. 2016; {@code F.layer_norm}) over the trailing dimensions.
   *
   * @param input {@code [*, normalizedShape...]}, floating point
   * @param normalizedShape the trailing sizes to normalise over, non-empty
   * @param weight {@code normalizedShape}, or {@code null}
   * @param bias {@code normalizedShape}, or {@code null}
   * @param eps added to the variance, finite and &gt;= 0
   * @return same shape as {@code input}
   * @throws IllegalArgumentException if the trailing sizes of {@code input}, {@code weight} or {@code bias}
   *     differ from {@code normalizedShape}, or {@code eps} is bad
   */
  public static Tensor layerNorm(Tensor input, long[] normalizedShape, Tensor weight, Tensor bias, double eps) {
    req(input, "input");
    Objects.requireNonNull(normalizedShape, "normalizedShape");
    long[] s = input.shape();
    int k = normalizedShape.length;
    if (k == 0 || k > s.length || !Arrays.equals(Arrays.copyOfRange(s, s.length - k, s.length), normalizedShape)) {
      throw new IllegalArgumentException("layerNorm: input must end in normalizedShape " + Arrays.toString(normalizedShape) + ", got "
          + Arrays.toString(s));
    }
    if (weight != null && !Arrays.equals(weight.shape(), normalizedShape)) {
      throw new IllegalArgumentException("layerNorm: weight must be " + Arrays.toString(normalizedShape) + ", got " + Arrays.toString(weight.shape()));
    }
    if (bias != null && !Arrays.equals(bias.shape(), normalizedShape)) {
      throw new IllegalArgumentException("layerNorm: bias must be " + Arrays.toString(normalizedShape) + ", got " + Arrays.toString(bias.shape()));
    }
    finiteEps(eps, "layerNorm");
    Native n = Native.get();
    return Tensor.result(n, dd_layer_norm(n.ctx, input.handle(), n.longs(0, normalizedShape), normalizedShape.length, opt(weight),
        opt(bias), eps), input, weight, bias);
  }

  /**
   * Dropout ({@code F.dropout}): when {@code training}, zeroes each element
   * with probability {@code p} (default generator) and scales the rest by
   * {@code 1 / (1 - p)}.
   *
   * @param input any shape, floating point
   * @param p drop probability in [0, 1]
   * @param training whether to drop; when false the result is a new handle to {@code input}
   * @return same shape
   * @throws IllegalArgumentException if {@code p} is outside [0, 1]
   */
  public static Tensor dropout(Tensor input, double p, boolean training) {
    req(input, "input");
    if (!(p >= 0 && p <= 1)) throw new IllegalArgumentException("dropout probability must be in [0, 1], got " + p);
    Native n = Native.get();
    return Tensor.result(n, dd_dropout(n.ctx, input.handle(), p, training ? 1 : 0), input);
  }

  /**
   * Mean squared error, averaged over all elements ({@code F.mse_loss(input, target)}).
   *
   * @param input predictions, any shape, floating point
   * @param target targets, the same shape, dtype and device
   * @return a 0-d tensor
   * @throws IllegalArgumentException if the shapes differ
   */
  public static Tensor mseLoss(Tensor input, Tensor target) {
    return mseLoss(input, target, Reduction.MEAN);
  }

  /**
   * Mean squared error {@code (input - target)^2} ({@code F.mse_loss(input, target, reduction=...)}).
   *
   * @param input predictions, any shape, floating point
   * @param target targets, the same shape, dtype and device
   * @param reduction {@code NONE} for per-element losses (same shape), {@code MEAN} or {@code SUM} for a 0-d tensor
   * @return the loss
   * @throws IllegalArgumentException if the shapes differ (PyTorch would broadcast, with a warning;
   *     that is almost always a bug)
   */
  public static Tensor mseLoss(Tensor input, Tensor target, Reduction reduction) {
    req(input, "input");
    req(target, "target");
    Objects.requireNonNull(reduction, "reduction");
    if (!Arrays.equals(input.shape(), target.shape())) {
      throw new IllegalArgumentException("mseLoss: input " + Arrays.toString(input.shape()) + " and target "
          + Arrays.toString(target.shape()) + " must have the same shape");
    }
    Native n = Native.get();
    return Tensor.result(n, dd_mse_loss(n.ctx, input.handle(), target.handle(), reduction.code), input, target);
  }

  /**
   * Resizes images to a given size ({@code F.interpolate(input, size=(outH, outW), mode=...)},
   * {@code align_corners=False} for the modes that take it).
   *
   * @param input {@code [N, C, H, W]}, floating point
   * @param outH output height, &gt; 0
   * @param outW output width, &gt; 0
   * @param mode the resampling mode
   * @return {@code [N, C, outH, outW]}
   * @throws IllegalArgumentException if {@code input} is not 4-d or a size is not positive
   */
  public static Tensor interpolate(Tensor input, long outH, long outW, InterpolateMode mode) {
    return interpolate(input, outH, outW, mode, false);
  }

  /**
   * Resizes images to a given size ({@code F.interpolate(input, size=(outH, outW), mode=..., align_corners=...)}).
   *
   * @param input {@code [N, C, H, W]}, floating point
   * @param outH output height, &gt; 0
   * @param outW output width, &gt; 0
   * @param mode the resampling mode
   * @param alignCorners PyTorch's {@code align_corners}; must be false for {@link InterpolateMode#NEAREST}
   * @return {@code [N, C, outH, outW]}
   * @throws IllegalArgumentException if {@code input} is not 4-d, a size is not positive, or
   *     {@code alignCorners} is set for nearest-neighbour sampling (PyTorch rejects that too)
   */
  public static Tensor interpolate(Tensor input, long outH, long outW, InterpolateMode mode, boolean alignCorners) {
    req(input, "input");
    Objects.requireNonNull(mode, "mode");
    if (input.dim() != 4) throw new IllegalArgumentException("interpolate: input must be [N, C, H, W], got " + Arrays.toString(input.shape()));
    positive(outH, "outH");
    positive(outW, "outW");
    if (alignCorners && mode == InterpolateMode.NEAREST) {
      throw new IllegalArgumentException("interpolate: alignCorners only applies to BILINEAR and BICUBIC, not NEAREST");
    }
    Native n = Native.get();
    return Tensor.result(n, dd_interpolate(n.ctx, input.handle(), outH, outW, mode.code, alignCorners ? 1 : 0), input);
  }

  /**
   * Resizes images by a scale factor ({@code F.interpolate(input, scale_factor=s, mode=m,
   * recompute_scale_factor=True)}, and for integer {@code s} exactly
   * {@code nn.Upsample(scale_factor=s, mode=m)}): the output is
   * {@code floor(H * s) x floor(W * s)}, sampled as {@link #interpolate} samples that size.
   *
   * @param input {@code [N, C, H, W]}, floating point
   * @param scaleFactor the factor for both axes, finite and &gt; 0
   * @param mode the resampling mode ({@code align_corners=False})
   * @return {@code [N, C, floor(H * s), floor(W * s)]}
   * @throws IllegalArgumentException if {@code input} is not 4-d, {@code scaleFactor} is bad, or an output
   *     size would be 0
   */
  public static Tensor upsample(Tensor input, double scaleFactor, InterpolateMode mode) {
    req(input, "input");
    if (!(scaleFactor > 0) || Double.isInfinite(scaleFactor)) {
      throw new IllegalArgumentException("upsample: scaleFactor must be finite and > 0, got " + scaleFactor);
    }
    if (input.dim() != 4) throw new IllegalArgumentException("upsample: input must be [N, C, H, W], got " + Arrays.toString(input.shape()));
    long h = (long) Math.floor(input.size(2) * scaleFactor);
    long w = (long) Math.floor(input.size(3) * scaleFactor);
    if (h <= 0 || w <= 0) {
      throw new IllegalArgumentException("upsample: scaleFactor " + scaleFactor + " turns " + Arrays.toString(input.shape())
          + " into an empty image");
    }
    return interpolate(input, h, w, mode, false);
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
    double norm = dd_clip_grad_norm(n.ctx, n.handles(parameters), parameters.size(), maxNorm, normType);
    n.check(parameters);
    return norm;
  }
}
