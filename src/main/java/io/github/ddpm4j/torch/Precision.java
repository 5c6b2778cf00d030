package io.github.ddpm4j.torch;

import java.util.Locale;

/**
 * The floating-point precision a model runs in: float32 throughout, or automatic mixed
 * precision ({@link Autocast}) with bfloat16 or float16 for the ops that gain from it.
 * Weights and optimizer state stay float32 in every case.
 */
public enum Precision {
  /** float32 throughout. */
  FP32(null),
  /** bfloat16 autocast: float32's range, 8 bits of mantissa; CPU (fast with AVX-512 BF16/AMX) and CUDA. */
  BF16(DType.BFLOAT16),
  /** float16 autocast with loss scaling ({@code io.github.ddpm4j.optim.GradScaler}); CUDA only. */
  FP16(DType.FLOAT16);

  private final DType autocastType;

  Precision(DType autocastType) {
    this.autocastType = autocastType;
  }

  /** @return the autocast dtype, or {@code null} for {@link #FP32} */
  public DType autocastType() {
    return autocastType;
  }

  /** @return the name used on the command line and in configurations: {@code fp32}, {@code bf16}, {@code fp16} */
  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * @param label {@code fp32}, {@code bf16} or {@code fp16} (any case)
   * @return the precision
   * @throws IllegalArgumentException for anything else
   */
  public static Precision parse(String label) {
    for (Precision p : values()) {
      if (p.label().equalsIgnoreCase(label.strip())) return p;
    }
    throw new IllegalArgumentException("precision must be fp32, bf16 or fp16, got '" + label + "'");
  }

  /**
   * @param device where the model runs
   * @throws IllegalArgumentException if this precision is not available there: float16 autocast
   *     with loss scaling is offered on CUDA only (on the CPU, bfloat16 is the lower precision)
   */
  public void checkDevice(Device device) {
    if (this == FP16 && !device.isCuda()) {
      throw new IllegalArgumentException("fp16 precision needs a CUDA device (on the CPU use bf16), got " + device);
    }
  }

  /**
   * @return a guard that holds this precision's autocast on the current thread until closed;
   *     for {@link #FP32}, a guard that turns autocast off
   */
  public Autocast autocast() {
    return autocastType == null ? Autocast.disable() : Autocast.enable(autocastType);
  }
}
