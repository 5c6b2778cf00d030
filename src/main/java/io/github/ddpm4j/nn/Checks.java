package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Autocast;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Tensor;
import java.util.Arrays;
import java.util.Objects;

/** Argument checks shared by the layers, with messages that name the layer and the bad value. */
final class Checks {
  private Checks() {}

  static long positive(long value, String name) {
    if (value <= 0) throw new IllegalArgumentException(name + " must be > 0, got " + value);
    return value;
  }

  static long nonNegative(long value, String name) {
    if (value < 0) throw new IllegalArgumentException(name + " must be >= 0, got " + value);
    return value;
  }

  static Tensor input(Tensor input, Module layer) {
    Objects.requireNonNull(input, () -> layer + ": input must not be null");
    if (input.isClosed()) throw new IllegalStateException(layer + ": input tensor is closed");
    return input;
  }

  /**
   * Rejects an input whose dtype or device differs from the layer's parameter. Under
   * {@link Autocast}, LibTorch casts both to the autocast dtype or to float32 itself, so an
   * input in the autocast dtype (or float32) meets float32 parameters there.
   */
  static void sameTypeAndDevice(Tensor input, Tensor param, Module layer) {
    DType autocast = input.dtype() == param.dtype() ? null : Autocast.dtype();
    boolean mixed = autocast != null && param.dtype() == DType.FLOAT32
        && (input.dtype() == autocast || input.dtype() == DType.FLOAT32);
    if (input.dtype() != param.dtype() && !mixed) {
      throw new IllegalArgumentException(layer + ": input dtype " + input.dtype() + " differs from the parameters' dtype "
          + param.dtype() + "; convert the input with to(" + param.dtype() + ") or the module with to(" + input.dtype() + ")");
    }
    if (!input.device().equals(param.device())) {
      throw new IllegalArgumentException(layer + ": input is on " + input.device() + " but the parameters are on "
          + param.device());
    }
  }

  static IllegalArgumentException badShape(Module layer, String expected, Tensor input) {
    return new IllegalArgumentException(layer + ": expected input of shape " + expected + ", got "
        + Arrays.toString(input.shape()));
  }
}
