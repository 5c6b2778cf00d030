package io.github.ddpm4j.train;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The learning rate of each optimizer step: a linear warm-up from {@code lr / warmup} to the peak {@code lr}
 * over the first {@code warmup} steps, then either the peak ({@link #CONSTANT}) or a half-cosine decay
 * from the peak to 0 at the last step ({@link #COSINE}, as {@code torch.optim.lr_scheduler.CosineAnnealingLR}
 * with {@code eta_min = 0}, or diffusers' {@code get_cosine_schedule_with_warmup}).
 */
public enum LrSchedule {
  /** The peak learning rate after the warm-up. */
  CONSTANT,
  /** {@code lr * (1 + cos(pi * (s - warmup) / (total - warmup))) / 2} after the warm-up, for step index {@code s}. */
  COSINE;

  /**
   * The learning rate of a step.
   *
   * @param step the 0-based index of the optimizer step, in [0, total)
   * @param peak the peak learning rate, &gt; 0
   * @param warmup warm-up steps, &gt;= 0 (0: none)
   * @param total the run's optimizer steps, &gt;= 1
   * @return the learning rate of that step, in (0, peak] (the last cosine step has a small positive rate); the
   *     warm-up rate is computed as {@code peak * ((step + 1) / warmup)}, in that order, the rounding of earlier versions
   */
  public double lr(long step, double peak, long warmup, long total) {
    if (step < warmup) return peak * ((step + 1.0) / warmup);
    if (this == CONSTANT || total <= warmup) return peak;
    double progress = (double) (step - warmup) / (total - warmup);
    return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
  }

  /** @return the name a configuration or command line uses: {@code constant} or {@code cosine} */
  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @param text {@code constant} or {@code cosine}
   * @return the schedule of that name
   * @throws IllegalArgumentException listing the accepted names otherwise
   */
  public static LrSchedule parse(String text) {
    for (LrSchedule s : values()) if (s.toString().equals(text)) return s;
    throw new IllegalArgumentException("expected one of " + Arrays.stream(values()).map(Object::toString).collect(Collectors.joining(", "))
        + ", got " + (text == null ? "nothing" : "'" + text + "'"));
  }
}
