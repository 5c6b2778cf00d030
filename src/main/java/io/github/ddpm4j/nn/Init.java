package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Tensor;
import java.util.Arrays;
import java.util.Objects;

/**
 * Parameter initialisation, mirroring {@code torch.nn.init}: the same
 * formulas, computed in the same double-precision order, and the same
 * sampling ({@link Tensor#uniform_} and {@link Tensor#normal_}), so that after
 * {@code Torch.manualSeed(s)} these functions fill a tensor exactly as
 * PyTorch's do after {@code torch.manual_seed(s)}.
 *
 * <p>Every function works in place, without recording autograd history (as
 * {@code torch.nn.init} does under {@code torch.no_grad()}), so it may be
 * applied to a module's parameters. A {@code null} generator means LibTorch's
 * default generator of the tensor's device. Every function returns its
 * {@code tensor} argument and throws {@link IllegalStateException} if the
 * tensor is closed.
 */
public final class Init {
  private Init() {}

  /** Which fan {@link #kaimingUniform_} and {@link #kaimingNormal_} scale by ({@code mode=}). */
  public enum FanMode {
    /** Preserve the variance of the forward pass ({@code mode='fan_in'}). */
    FAN_IN,
    /** Preserve the variance of the backward pass ({@code mode='fan_out'}). */
    FAN_OUT
  }

  /** Nonlinearities known to {@link #calculateGain} ({@code nonlinearity=}). */
  public enum Nonlinearity {
    /** {@code 'linear'}: gain 1. */
    LINEAR,
    /** {@code 'conv2d'}: gain 1. */
    CONV2D,
    /** {@code 'sigmoid'}: gain 1. */
    SIGMOID,
    /** {@code 'tanh'}: gain 5/3. */
    TANH,
    /** {@code 'relu'}: gain sqrt(2). */
    RELU,
    /** {@code 'leaky_relu'}: gain sqrt(2 / (1 + negative_slope^2)). */
    LEAKY_RELU,
    /** {@code 'selu'}: gain 3/4. */
    SELU
  }

  /**
   * The fans of a weight tensor ({@code torch.nn.init._calculate_fan_in_and_fan_out}).
   *
   * @param fanIn {@code size(1) * receptive field size}
   * @param fanOut {@code size(0) * receptive field size}
   */
  public record Fans(long fanIn, long fanOut) {}

  /**
   * The fans of a weight of shape {@code [out, in, k...]} (for a transposed
   * convolution, {@code [in, out, k...]}, whose "fan in" is then PyTorch's
   * {@code out * k...} too).
   *
   * @param tensor a tensor with at least two dimensions; any dtype
   * @return {@code fanIn = size(1) * prod(size(2:))}, {@code fanOut = size(0) * prod(size(2:))}
   * @throws IllegalArgumentException if {@code tensor} has fewer than two dimensions
   */
  public static Fans calculateFanInAndFanOut(Tensor tensor) {
    long[] s = Objects.requireNonNull(tensor, "tensor").shape();
    if (s.length < 2) {
      throw new IllegalArgumentException("fan in and fan out can not be computed for a tensor with fewer than 2 dimensions, got shape "
          + Arrays.toString(s));
    }
    long receptive = 1;
    for (int i = 2; i < s.length; i++) receptive *= s[i];
    return new Fans(s[1] * receptive, s[0] * receptive);
  }

  /**
   * The recommended gain for a nonlinearity ({@code torch.nn.init.calculate_gain}).
   *
   * @param nonlinearity the nonlinearity
   * @param param the negative slope of {@link Nonlinearity#LEAKY_RELU} (ignored otherwise)
   * @return the gain
   * @throws IllegalArgumentException if {@code param} is not finite
   */
  public static double calculateGain(Nonlinearity nonlinearity, double param) {
    Objects.requireNonNull(nonlinearity, "nonlinearity");
    return switch (nonlinearity) {
      case LINEAR, CONV2D, SIGMOID -> 1;
      case TANH -> 5.0 / 3;
      case RELU -> Math.sqrt(2.0);
      case LEAKY_RELU -> {
        if (!Double.isFinite(param)) throw new IllegalArgumentException("negative slope must be finite, got " + param);
        yield Math.sqrt(2.0 / (1 + param * param));
      }
      case SELU -> 3.0 / 4;
    };
  }

  /**
   * @param nonlinearity the nonlinearity; {@link Nonlinearity#LEAKY_RELU} uses slope 0.01
   * @return the gain ({@code calculate_gain(nonlinearity)})
   */
  public static double calculateGain(Nonlinearity nonlinearity) {
    return calculateGain(nonlinearity, 0.01);
  }

  /**
   * Fills {@code tensor} with U[a, b) ({@code torch.nn.init.uniform_}).
   *
   * @param tensor a floating-point tensor of any shape
   * @param a lower bound
   * @param b upper bound, &gt;= a
   * @param generator the generator, or {@code null} for the default one
   * @return {@code tensor}
   * @throws IllegalArgumentException if {@code a > b} or a bound is not finite
   * @throws io.github.ddpm4j.torch.TorchException if the dtype is not floating point
   */
  public static Tensor uniform_(Tensor tensor, double a, double b, Generator generator) {
    Objects.requireNonNull(tensor, "tensor");
    if (!Double.isFinite(a) || !Double.isFinite(b)) throw new IllegalArgumentException("bounds must be finite, got a=" + a + ", b=" + b);
    if (a > b) throw new IllegalArgumentException("uniform_ needs a <= b, got a=" + a + ", b=" + b);
    try (GradMode g = GradMode.noGrad()) {
      return tensor.uniform_(a, b, generator);
    }
  }

  /**
   * @param tensor a floating-point tensor
   * @return {@code tensor} filled from U[0, 1) with the default generator ({@code uniform_(tensor)})
   */
  public static Tensor uniform_(Tensor tensor) {
    return uniform_(tensor, 0, 1, null);
  }

  /**
   * Fills {@code tensor} with N(mean, std^2) ({@code torch.nn.init.normal_}).
   *
   * @param tensor a floating-point tensor of any shape
   * @param mean the mean
   * @param std the standard deviation, &gt;= 0
   * @param generator the generator, or {@code null} for the default one
   * @return {@code tensor}
   * @throws IllegalArgumentException if {@code std < 0} or either value is not finite
   * @throws io.github.ddpm4j.torch.TorchException if the dtype is not floating point
   */
  public static Tensor normal_(Tensor tensor, double mean, double std, Generator generator) {
    Objects.requireNonNull(tensor, "tensor");
    if (!Double.isFinite(mean)) throw new IllegalArgumentException("mean must be finite, got " + mean);
    if (!(std >= 0) || Double.isInfinite(std)) throw new IllegalArgumentException("std must be finite and >= 0, got " + std);
    try (GradMode g = GradMode.noGrad()) {
      return tensor.normal_(mean, std, generator);
    }
  }

  /**
   * @param tensor a floating-point tensor
   * @return {@code tensor} filled from N(0, 1) with the default generator ({@code normal_(tensor)})
   */
  public static Tensor normal_(Tensor tensor) {
    return normal_(tensor, 0, 1, null);
  }

  /**
   * Fills {@code tensor} with a constant ({@code torch.nn.init.constant_}).
   *
   * @param tensor any tensor
   * @param value the value
   * @return {@code tensor}
   */
  public static Tensor constant_(Tensor tensor, double value) {
    Objects.requireNonNull(tensor, "tensor");
    try (GradMode g = GradMode.noGrad()) {
      return tensor.fill_(value);
    }
  }

  /**
   * @param tensor any tensor
   * @return {@code tensor} filled with zeros ({@code torch.nn.init.zeros_})
   */
  public static Tensor zeros_(Tensor tensor) {
    return constant_(tensor, 0);
  }

  /**
   * @param tensor any tensor
   * @return {@code tensor} filled with ones ({@code torch.nn.init.ones_})
   */
  public static Tensor ones_(Tensor tensor) {
    return constant_(tensor, 1);
  }

  private static long fan(Tensor tensor, FanMode mode) {
    Fans f = calculateFanInAndFanOut(tensor);
    return Objects.requireNonNull(mode, "mode") == FanMode.FAN_IN ? f.fanIn() : f.fanOut();
  }

  private static boolean empty(Tensor tensor) {
    for (long s : tensor.shape()) if (s == 0) return true;
    return false;
  }

  /**
   * Kaiming (He) uniform initialisation (He et al. 2015, "Delving deep into
   * rectifiers"; {@code torch.nn.init.kaiming_uniform_}): U(-bound, bound) with
   * {@code bound = sqrt(3) * gain / sqrt(fan)}. With {@code a = sqrt(5)},
   * {@code FAN_IN} and {@code LEAKY_RELU} this is torch.nn's default for linear
   * and convolution weights, {@code bound = 1 / sqrt(fan_in)}. A tensor with a
   * zero-sized dimension is left unchanged, as in PyTorch.
   *
   * @param tensor a floating-point tensor with at least two dimensions
   * @param a the negative slope of the rectifier after this layer (for {@code LEAKY_RELU})
   * @param mode which fan to scale by
   * @param nonlinearity the nonlinearity after this layer
   * @param generator the generator, or {@code null} for the default one
   * @return {@code tensor}
   * @throws IllegalArgumentException if {@code tensor} has fewer than two dimensions
   */
  public static Tensor kaimingUniform_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity, Generator generator) {
    Objects.requireNonNull(tensor, "tensor");
    if (empty(tensor)) return tensor;
    double bound = Math.sqrt(3.0) * kaimingStd(tensor, a, mode, nonlinearity);
    return uniform_(tensor, -bound, bound, generator);
  }

  /** He et al. 2015's standard deviation, {@code gain / sqrt(fan)}, shared by both Kaiming initialisations. */
  private static double kaimingStd(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity) {
    return calculateGain(nonlinearity, a) / Math.sqrt(fan(tensor, mode));
  }

  /**
   * torch.nn's default weight initialisation
   * ({@code kaiming_uniform_(tensor, a=a)}: fan in, leaky ReLU, default generator).
   *
   * @param tensor a floating-point tensor with at least two dimensions
   * @param a the negative slope; torch.nn's layers use {@code Math.sqrt(5)}
   * @return {@code tensor}
   * @throws IllegalArgumentException if {@code tensor} has fewer than two dimensions
   */
  public static Tensor kaimingUniform_(Tensor tensor, double a) {
    return kaimingUniform_(tensor, a, FanMode.FAN_IN, Nonlinearity.LEAKY_RELU, null);
  }

  /**
   * Kaiming (He) normal initialisation ({@code torch.nn.init.kaiming_normal_}):
   * N(0, std^2) with {@code std = gain / sqrt(fan)}.
   *
   * @param tensor a floating-point tensor with at least two dimensions
   * @param a the negative slope of the rectifier (for {@code LEAKY_RELU})
   * @param mode which fan to scale by
   * @param nonlinearity the nonlinearity after this layer
   * @param generator the generator, or {@code null} for the default one
   * @return {@code tensor}
   * @throws IllegalArgumentException if {@code tensor} has fewer than two dimensions
   */
  public static Tensor kaimingNormal_(Tensor tensor, double a, FanMode mode, Nonlinearity nonlinearity, Generator generator) {
    Objects.requireNonNull(tensor, "tensor");
    if (empty(tensor)) return tensor;
    return normal_(tensor, 0, kaimingStd(tensor, a, mode, nonlinearity), generator);
  }

  /**
   * Xavier (Glorot) uniform initialisation (Glorot and Bengio 2010;
   * {@code torch.nn.init.xavier_uniform_}): U(-b, b) with
   * {@code b = gain * sqrt(6 / (fan_in + fan_out))}.
   *
   * @param tensor a floating-point tensor with at least two dimensions
   * @param gain scaling factor, finite
   * @param generator the generator, or {@code null} for the default one
   * @return {@code tensor}
   * @throws IllegalArgumentException if {@code tensor} has fewer than two dimensions or {@code gain} is not finite
   */
  public static Tensor xavierUniform_(Tensor tensor, double gain, Generator generator) {
    Objects.requireNonNull(tensor, "tensor");
    if (!Double.isFinite(gain)) throw new IllegalArgumentException("gain must be finite, got " + gain);
    Fans f = calculateFanInAndFanOut(tensor);
    double std = gain * Math.sqrt(2.0 / (double) (f.fanIn() + f.fanOut()));
    double a = Math.sqrt(3.0) * std;
    return uniform_(tensor, -a, a, generator);
  }

  /**
   * @param tensor a floating-point tensor with at least two dimensions
   * @return {@code tensor} after {@code xavier_uniform_(tensor)} (gain 1, default generator)
   * @throws IllegalArgumentException if {@code tensor} has fewer than two dimensions
   */
  public static Tensor xavierUniform_(Tensor tensor) {
    return xavierUniform_(tensor, 1, null);
  }

  /**
   * Xavier (Glorot) normal initialisation ({@code torch.nn.init.xavier_normal_}):
   * N(0, std^2) with {@code std = gain * sqrt(2 / (fan_in + fan_out))}.
   *
   * @param tensor a floating-point tensor with at least two dimensions
   * @param gain scaling factor, finite
   * @param generator the generator, or {@code null} for the default one
   * @return {@code tensor}
   * @throws IllegalArgumentException if {@code tensor} has fewer than two dimensions or {@code gain} is not finite
   */
  public static Tensor xavierNormal_(Tensor tensor, double gain, Generator generator) {
    Objects.requireNonNull(tensor, "tensor");
    if (!Double.isFinite(gain)) throw new IllegalArgumentException("gain must be finite, got " + gain);
    Fans f = calculateFanInAndFanOut(tensor);
    double std = gain * Math.sqrt(2.0 / (double) (f.fanIn() + f.fanOut()));
    return normal_(tensor, 0, std, generator);
  }
}
