package io.github.ddpm4j.optim;

import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Dynamic loss scaling for float16 training ({@code torch.amp.GradScaler}, after
 * Micikevicius et al. 2018, "Mixed Precision Training"). float16 gradients underflow
 * below about 6e-8, so the loss is multiplied by a large scale before
 * {@code backward()}, and the gradients are divided by it before the optimizer steps. A
 * step whose gradients hold an infinity or NaN is skipped and the scale is multiplied by
 * the backoff factor; after {@code growthInterval} clean steps in a row, by the growth
 * factor. With bfloat16 (float32's range) no scaling is needed.
 * {@snippet :
 * optimizer.zeroGrad();
 * try (var ac = Autocast.enable(DType.FLOAT16)) { loss = model.loss(x); }
 * scaler.scale(loss).backward();
 * scaler.unscale(optimizer);           // optional: gradients in true units, e.g. for clipping
 * Utils.clipGradNorm(params, 1.0);
 * scaler.step(optimizer);              // skipped if the gradients overflowed
 * scaler.update();
 * }
 *
 * <p>Not thread-safe: one training loop owns a scaler. Its state ({@link #state()}) belongs
 * in a checkpoint for an exact resume.
 */
public final class GradScaler {
  /**
   * The scaler's state between steps.
   *
   * @param scale the current loss scale, finite and &gt; 0
   * @param growthTracker clean steps since the scale last changed, &gt;= 0
   */
  public record State(double scale, long growthTracker) {
    /** @throws IllegalArgumentException if a field is out of range */
    public State {
      if (!(scale > 0) || Double.isInfinite(scale)) throw new IllegalArgumentException("scale must be finite and > 0, got " + scale);
      if (growthTracker < 0) throw new IllegalArgumentException("growthTracker must be >= 0, got " + growthTracker);
    }
  }

  private final double growthFactor;
  private final double backoffFactor;
  private final long growthInterval;
  private double scale;
  private long growthTracker;
  private Optimizer unscaled;
  private boolean foundInf;

  /** PyTorch's defaults: initial scale 2^16, growth 2, backoff 0.5, growth interval 2000. */
  public GradScaler() {
    this(65536.0, 2.0, 0.5, 2000);
  }

  /**
   * @param initScale the first scale, finite and &gt; 0
   * @param growthFactor multiplies the scale after {@code growthInterval} clean steps, &gt; 1
   * @param backoffFactor multiplies the scale after an overflow, in (0, 1)
   * @param growthInterval clean steps in a row before the scale grows, &gt; 0
   * @throws IllegalArgumentException if an argument is out of range
   */
  public GradScaler(double initScale, double growthFactor, double backoffFactor, long growthInterval) {
    if (!(growthFactor > 1) || Double.isInfinite(growthFactor)) throw new IllegalArgumentException("growthFactor must be > 1, got " + growthFactor);
    if (!(backoffFactor > 0 && backoffFactor < 1)) throw new IllegalArgumentException("backoffFactor must be in (0, 1), got " + backoffFactor);
    if (growthInterval < 1) throw new IllegalArgumentException("growthInterval must be > 0, got " + growthInterval);
    this.growthFactor = growthFactor;
    this.backoffFactor = backoffFactor;
    this.growthInterval = growthInterval;
    load(new State(initScale, 0));
  }

  /**
   * @param loss the loss, any shape
   * @return {@code loss * scale}, to call {@code backward()} on
   */
  public Tensor scale(Tensor loss) {
    return Objects.requireNonNull(loss, "loss").mul(scale);
  }

  /**
   * Divides the gradients of the optimizer's parameters by the scale, in place, and notes
   * whether any of them is infinite or NaN. Call it at most once between {@link #update()}s.
   *
   * @param optimizer the optimizer whose parameters' gradients to unscale
   * @throws IllegalStateException if the gradients were already unscaled since the last {@link #update()}
   */
  public void unscale(Optimizer optimizer) {
    Objects.requireNonNull(optimizer, "optimizer");
    if (unscaled != null) throw new IllegalStateException("unscale() was already called since the last update()");
    double inverse = 1.0 / scale;
    try (Scope s = Scope.open()) {
      List<Tensor> finite = new ArrayList<>();
      for (Tensor p : optimizer.parameters()) {
        Tensor g = p.grad();
        if (g == null) continue;
        g.mul_(inverse);
        finite.add(g.isfinite().all());
      }
      foundInf = !finite.isEmpty() && Torch.stack(finite, 0).all().item() == 0;
    }
    unscaled = optimizer;
  }

  /**
   * Unscales the gradients (unless {@link #unscale} already did) and steps the optimizer,
   * unless a gradient is infinite or NaN.
   *
   * @param optimizer the optimizer
   * @return whether the optimizer stepped
   * @throws IllegalStateException if the gradients were unscaled for another optimizer
   */
  public boolean step(Optimizer optimizer) {
    if (unscaled == null) unscale(optimizer);
    if (unscaled != optimizer) throw new IllegalStateException("the gradients were unscaled for another optimizer");
    if (foundInf) return false;
    optimizer.step();
    return true;
  }

  /** Adjusts the scale after a step: backs off after an overflow, grows after enough clean steps. */
  public void update() {
    if (unscaled != null && foundInf) {
      scale *= backoffFactor;
      growthTracker = 0;
    } else if (++growthTracker >= growthInterval) {
      scale *= growthFactor;
      growthTracker = 0;
    }
    unscaled = null;
    foundInf = false;
  }

  /** @return the current loss scale */
  public double getScale() {
    return scale;
  }

  /** @return the state to save in a checkpoint */
  public State state() {
    return new State(scale, growthTracker);
  }

  /**
   * Restores a saved state.
   *
   * @param state from {@link #state()}
   */
  public void load(State state) {
    Objects.requireNonNull(state, "state");
    scale = state.scale();
    growthTracker = state.growthTracker();
    unscaled = null;
    foundInf = false;
  }
}
