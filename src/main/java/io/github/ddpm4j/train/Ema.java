package io.github.ddpm4j.train;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Tensor;
import java.util.Map;

/**
 * An exponential moving average of a model's weights, kept in a second model
 * of the same architecture, as DDPM samples with (Ho et al. 2020, Appendix B:
 * decay 0.9999).
 *
 * <p>The decay warms up as {@code min(decay, (1 + step) / (10 + step))}, so
 * that early averages are not dominated by the random initialisation: with a
 * fixed 0.999, a 740-step run would still hold 0.999^740 = 48% of it.
 * {@code shadow = decay_t * shadow + (1 - decay_t) * weights}, applied in place
 * with {@code lerp_}; buffers are copied.
 */
public final class Ema {
  private final Module shadow;
  private final double decay;
  private final boolean warmup;

  /**
   * Starts the average at the model's current weights.
   *
   * @param model the trained model (read, not owned)
   * @param shadow a model of the same architecture that will hold the average (owned by the caller)
   * @param decay the long-run decay, in [0, 1)
   * @param warmup whether to use the warm-up schedule above
   * @throws IllegalArgumentException if {@code decay} is outside [0, 1) or the models' state dicts differ
   */
  public Ema(Module model, Module shadow, double decay, boolean warmup) {
    if (!(decay >= 0 && decay < 1)) throw new IllegalArgumentException("EMA decay must be in [0, 1), got " + decay);
    this.shadow = shadow;
    this.decay = decay;
    this.warmup = warmup;
    shadow.loadStateDict(model.stateDict(), true);
    shadow.eval();
  }

  /**
   * @param step the optimizer step just taken, counted from 0
   * @return the decay applied after that step
   */
  public double decayAt(long step) {
    return warmup ? Math.min(decay, (1.0 + step) / (10.0 + step)) : decay;
  }

  /**
   * Folds the model's current weights into the average.
   *
   * @param model the trained model, same architecture as the shadow
   * @param step the optimizer step just taken, counted from 0
   */
  public void update(Module model, long step) {
    double d = decayAt(step);
    Map<String, Tensor> mine = shadow.namedParameters();
    try (GradMode g = GradMode.noGrad()) {
      for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
        mine.get(e.getKey()).lerp_(e.getValue(), 1.0 - d);
      }
      Map<String, Tensor> buffers = shadow.namedBuffers();
      for (Map.Entry<String, Tensor> e : model.namedBuffers().entrySet()) {
        buffers.get(e.getKey()).copy_(e.getValue());
      }
    }
  }

  /** @return the model holding the averaged weights, in evaluation mode */
  public Module shadow() {
    return shadow;
  }
}
