package io.github.ddpm4j.nn;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;

/**
 * Formats values the way Python's {@code repr} does, for {@link Module#extraRepr()} and the
 * descriptions of optimizers, so that ddpm4j prints a model as PyTorch prints it.
 */
public final class Repr {
  private Repr() {}

  /**
   * Python's {@code repr(float)}: the shortest digits that round-trip, in
   * positional notation when the decimal exponent is in [-4, 16), otherwise in
   * scientific notation with a signed exponent of at least two digits.
   *
   * @param x any double, NaN and infinities included
   * @return {@code repr(x)} as Python prints it, e.g. {@code 0.001}, {@code 1e-05}, {@code inf}
   */
  public static String pyFloat(double x) {
    if (Double.isNaN(x)) return "nan";
    if (Double.isInfinite(x)) return x > 0 ? "inf" : "-inf";
    if (x == 0) return (Double.doubleToRawLongBits(x) < 0) ? "-0.0" : "0.0";
    BigDecimal d = shortest(Math.abs(x));
    String digits = d.unscaledValue().toString();
    // value = 0.digits * 10^decpt
    int decpt = digits.length() - d.scale();
    StringBuilder sb = new StringBuilder(x < 0 ? "-" : "");
    if (decpt > -4 && decpt <= 16) {
      if (decpt <= 0) {
        sb.append("0.").append("0".repeat(-decpt)).append(digits);
      } else if (decpt >= digits.length()) {
        sb.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
      } else {
        sb.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
      }
    } else {
      int exp = decpt - 1;
      sb.append(digits.charAt(0));
      if (digits.length() > 1) sb.append('.').append(digits, 1, digits.length());
      sb.append('e').append(exp < 0 ? '-' : '+');
      int a = Math.abs(exp);
      if (a < 10) sb.append('0');
      sb.append(a);
    }
    return sb.toString();
  }

  /** The decimal with the fewest significant digits that reads back as {@code x}, the nearest such. */
  private static BigDecimal shortest(double x) {
    BigDecimal exact = new BigDecimal(x);
    for (int p = 1; p < 17; p++) {
      BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
      if (r.doubleValue() == x) return r.stripTrailingZeros();
    }
    return exact.round(new MathContext(17, RoundingMode.HALF_EVEN)).stripTrailingZeros();
  }

  /** Python's {@code repr(bool)}. */
  static String pyBool(boolean b) {
    return b ? "True" : "False";
  }

  /** Python's {@code repr} of the tuple {@code (v, v)}. */
  static String pair(long v) {
    return "(" + v + ", " + v + ")";
  }
}
