package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Functional.InterpolateMode;
import io.github.ddpm4j.torch.Tensor;
import java.util.Objects;
import io.github.ddpm4j.torch.Functional;

/**
 * Resizes images by a scale factor ({@code torch.nn.Upsample(scale_factor=s, mode=m)});
 * see {@link F#upsample} for the exact sizes and sampling. It has no parameters.
 */
public final class Upsample extends Module implements UnaryModule {
  private final double scaleFactor;
  private final InterpolateMode mode;

  /**
   * @param scaleFactor the factor for height and width, finite and &gt; 0
   * @param mode the resampling mode ({@code align_corners=False})
   * @throws IllegalArgumentException if {@code scaleFactor} is not finite and positive
   * @throws NullPointerException if {@code mode} is null
   */
  public Upsample(double scaleFactor, InterpolateMode mode) {
    if (!(scaleFactor > 0) || Double.isInfinite(scaleFactor)) {
      throw new IllegalArgumentException("scaleFactor must be finite and > 0, got " + scaleFactor);
    }
    this.scaleFactor = scaleFactor;
    this.mode = Objects.requireNonNull(mode, "mode");
  }

  /**
   * @param input {@code [N, C, H, W]}, floating point
   * @return {@code [N, C, floor(H * scaleFactor), floor(W * scaleFactor)]}
   * @throws IllegalArgumentException if the input is not 4-d or an output size would be 0
   */
  @Override
  public Tensor forward(Tensor input) {
    Checks.input(input, this);
    if (input.dim() != 4) throw Checks.badShape(this, "[N, C, H, W]", input);
    return Functional.upsample(input, scaleFactor, mode);
  }

  /** @return the scale factor */
  public double scaleFactor() {
    return scaleFactor;
  }

  /** @return the resampling mode */
  public InterpolateMode mode() {
    return mode;
  }

  /** @return {@code scale_factor=.., mode=..}, as PyTorch prints it */
  @Override
  protected String extraRepr() {
    return "scale_factor=" + Repr.pyFloat(scaleFactor) + ", mode=" + mode.name().toLowerCase(java.util.Locale.ROOT);
  }
}
