package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * The variance schedule {@code beta_1 .. beta_T} of the forward process and every
 * coefficient derived from it (Ho et al. 2020, section 2 and equations 4, 6, 7).
 *
 * <p>Timesteps are indexed from 0 as in the seed implementation: index {@code t}
 * holds the paper's step {@code t + 1}, so {@code t = 0} is the last reverse step
 * (the one that adds no noise) and {@code t = T - 1} the first. Every coefficient is
 * a one-dimensional {@code float64} tensor of length {@code T} on {@link #device()},
 * computed by LibTorch in double precision. The schedule owns these tensors: they
 * belong to no {@link Scope}, and {@link #close()} frees them.
 *
 * {@snippet :
 * try (NoiseSchedule schedule = NoiseSchedule.linear()) {
 *   double alphaBarLast = schedule.alphaBar(schedule.timesteps() - 1); // about 4.0e-5
 * }
 * }
 */
public final class NoiseSchedule implements AutoCloseable {
  /** Default number of diffusion steps {@code T} (Ho et al. 2020, section 4). */
  public static final int DEFAULT_T = 1000;
  /** Default {@code beta_1} of the linear schedule. */
  public static final double DEFAULT_BETA_START = 1e-4;
  /** Default {@code beta_T} of the linear schedule. */
  public static final double DEFAULT_BETA_END = 0.02;
  /** Offset {@code s} of the cosine schedule (Nichol and Dhariwal 2021, equation 17). */
  public static final double COSINE_S = 0.008;
  /** Largest {@code beta_t} the cosine schedule allows (Nichol and Dhariwal 2021, section 3.2). */
  public static final double COSINE_MAX_BETA = 0.999;

  private final int timesteps;
  private final Device device;
  private final Tensor beta;
  private final Tensor alpha;
  private final Tensor alphaBar;
  private final Tensor alphaBarPrev;
  private final Tensor sqrtAlphaBar;
  private final Tensor sqrtOneMinusAlphaBar;
  private final Tensor sqrtRecipAlphaBar;
  private final Tensor sqrtRecipAlphaBarMinusOne;
  private final Tensor posteriorVariance;
  private final Tensor posteriorMeanCoef1;
  private final Tensor posteriorMeanCoef2;
  private final double[] betaValues;
  private final double[] alphaBarValues;
  private final double[] posteriorVarianceValues;
  private boolean closed;

  private NoiseSchedule(Tensor betaCpu, Device device) {
    this.timesteps = (int) betaCpu.size(0);
    this.device = device;
    try (Scope scope = Scope.open(); GradMode g = GradMode.noGrad()) {
      Tensor b = betaCpu.to(DType.FLOAT64);
      Tensor a = b.rsub(1.0);
      Tensor ab = a.cumprod(0);
      Tensor abPrev = Torch.cat(java.util.List.of(Torch.ones(new long[] {1}, DType.FLOAT64, Device.CPU),
          ab.narrow(0, 0, timesteps - 1)), 0);
      Tensor oneMinusAb = ab.rsub(1.0);
      Tensor oneMinusAbPrev = abPrev.rsub(1.0);
      // beta~_t = beta_t (1 - alphaBar_{t-1}) / (1 - alphaBar_t), equation 7
      Tensor postVar = b.mul(oneMinusAbPrev).div(oneMinusAb);
      // mu~_t = coef1 x_0 + coef2 x_t, equation 7
      Tensor coef1 = b.mul(abPrev.sqrt()).div(oneMinusAb);
      Tensor coef2 = oneMinusAbPrev.mul(a.sqrt()).div(oneMinusAb);

      this.beta = own(b);
      this.alpha = own(a);
      this.alphaBar = own(ab);
      this.alphaBarPrev = own(abPrev);
      this.sqrtAlphaBar = own(ab.sqrt());
      this.sqrtOneMinusAlphaBar = own(oneMinusAb.sqrt());
      this.sqrtRecipAlphaBar = own(ab.rsqrt());
      this.sqrtRecipAlphaBarMinusOne = own(ab.reciprocal().sub(1.0).sqrt());
      this.posteriorVariance = own(postVar);
      this.posteriorMeanCoef1 = own(coef1);
      this.posteriorMeanCoef2 = own(coef2);
      this.betaValues = b.toDoubleArray();
      this.alphaBarValues = ab.toDoubleArray();
      this.posteriorVarianceValues = postVar.toDoubleArray();
    }
  }

  private Tensor own(Tensor cpu) {
    return Scope.release(device.equals(Device.CPU) ? cpu : cpu.to(device));
  }

  /**
   * The linear schedule of Ho et al. 2020 (section 4): {@code T = 1000} values of
   * {@code beta} rising linearly from {@code 1e-4} to {@code 0.02}, on the CPU.
   *
   * @return the schedule
   */
  public static NoiseSchedule linear() {
    return linear(DEFAULT_T, DEFAULT_BETA_START, DEFAULT_BETA_END, Device.CPU);
  }

  /**
   * A linear schedule on the CPU ({@code torch.linspace(betaStart, betaEnd, T)}).
   *
   * @param T the number of diffusion steps, &gt;= 1
   * @param betaStart {@code beta_1}, in (0, 1)
   * @param betaEnd {@code beta_T}, in [betaStart, 1)
   * @return the schedule
   * @throws IllegalArgumentException naming {@code T}, {@code betaStart} or {@code betaEnd} when out of range
   */
  public static NoiseSchedule linear(int T, double betaStart, double betaEnd) {
    return linear(T, betaStart, betaEnd, Device.CPU);
  }

  /**
   * A linear schedule whose coefficient tensors live on {@code device}.
   *
   * @param T the number of diffusion steps, &gt;= 1
   * @param betaStart {@code beta_1}, in (0, 1)
   * @param betaEnd {@code beta_T}, in [betaStart, 1)
   * @param device where the coefficient tensors live
   * @return the schedule
   * @throws IllegalArgumentException naming {@code T}, {@code betaStart} or {@code betaEnd} when out of range
   * @throws io.github.ddpm4j.torch.TorchException if the device is not available
   */
  public static NoiseSchedule linear(int T, double betaStart, double betaEnd, Device device) {
    checkT(T);
    if (!(betaStart > 0 && betaStart < 1)) {
      throw new IllegalArgumentException("betaStart = " + betaStart + " must lie in (0, 1)");
    }
    if (!(betaEnd >= betaStart && betaEnd < 1)) {
      throw new IllegalArgumentException("betaEnd = " + betaEnd + " must lie in [betaStart = " + betaStart + ", 1)");
    }
    try (Scope scope = Scope.open()) {
      return new NoiseSchedule(Torch.linspace(betaStart, betaEnd, T, DType.FLOAT64, Device.CPU), device);
    }
  }

  /**
   * The cosine schedule of Nichol and Dhariwal 2021 (equation 17) with {@code s = 0.008}
   * and {@code beta_t} clipped at {@code 0.999}, on the CPU.
   *
   * @param T the number of diffusion steps, &gt;= 1
   * @return the schedule
   * @throws IllegalArgumentException naming {@code T} when it is below 1
   */
  public static NoiseSchedule cosine(int T) {
    return cosine(T, COSINE_S, COSINE_MAX_BETA, Device.CPU);
  }

  /**
   * The cosine schedule: {@code f(t) = cos(((t / T + s) / (1 + s)) * pi / 2)^2},
   * {@code beta_t = min(1 - f(t) / f(t - 1), maxBeta)} for {@code t = 1 .. T}, and
   * {@code alphaBar_t} the cumulative product of {@code 1 - beta_t} (which equals
   * {@code f(t) / f(0)} wherever no clipping happened).
   *
   * @param T the number of diffusion steps, &gt;= 1
   * @param s the small offset {@code s}, finite and &gt;= 0
   * @param maxBeta the clipping bound of {@code beta_t}, in (0, 1)
   * @param device where the coefficient tensors live
   * @return the schedule
   * @throws IllegalArgumentException naming {@code T}, {@code s} or {@code maxBeta} when out of range
   * @throws io.github.ddpm4j.torch.TorchException if the device is not available
   */
  public static NoiseSchedule cosine(int T, double s, double maxBeta, Device device) {
    checkT(T);
    if (!(s >= 0 && Double.isFinite(s))) throw new IllegalArgumentException("s = " + s + " must be finite and >= 0");
    if (!(maxBeta > 0 && maxBeta < 1)) throw new IllegalArgumentException("maxBeta = " + maxBeta + " must lie in (0, 1)");
    try (Scope scope = Scope.open()) {
      Tensor steps = Torch.arange(0, T + 1, 1, DType.FLOAT64, Device.CPU);
      Tensor f = steps.div(T).add(s).div(1 + s).mul(Math.PI / 2).cos().square();
      Tensor ratio = f.narrow(0, 1, T).div(f.narrow(0, 0, T));
      Tensor b = ratio.rsub(1.0).clamp(0.0, maxBeta);
      return new NoiseSchedule(b, device);
    }
  }

  /**
   * A schedule from explicit values of {@code beta}.
   *
   * @param beta {@code [T]} floating-point values in (0, 1), {@code beta[t]} for index {@code t}; copied
   * @param device where the coefficient tensors live
   * @return the schedule
   * @throws IllegalArgumentException naming {@code beta} if it is not a non-empty one-dimensional
   *     floating-point tensor with every value in (0, 1)
   */
  public static NoiseSchedule fromBeta(Tensor beta, Device device) {
    if (beta.dim() != 1 || beta.size(0) < 1 || !beta.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException("beta must be a non-empty 1-D floating-point tensor, got "
          + beta.dtype() + java.util.Arrays.toString(beta.shape()));
    }
    try (Scope scope = Scope.open(); GradMode g = GradMode.noGrad()) {
      Tensor cpu = beta.detach().to(DType.FLOAT64, Device.CPU).clone();
      if (cpu.gt(0.0).logicalAnd(cpu.lt(1.0)).all().item() == 0) {
        throw new IllegalArgumentException("beta values must all lie in (0, 1)");
      }
      return new NoiseSchedule(cpu, device);
    }
  }

  private static void checkT(int T) {
    if (T < 1) throw new IllegalArgumentException("T = " + T + " must be >= 1");
  }

  /** @return the number of diffusion steps {@code T} */
  public int timesteps() {
    return timesteps;
  }

  /** @return the device of the coefficient tensors */
  public Device device() {
    return device;
  }

  /** @return {@code beta_t}, float64 {@code [T]} */
  public Tensor beta() {
    return live(beta);
  }

  /** @return {@code alpha_t = 1 - beta_t}, float64 {@code [T]} */
  public Tensor alpha() {
    return live(alpha);
  }

  /** @return {@code alphaBar_t = prod_{s <= t} alpha_s} (equation 4), float64 {@code [T]} */
  public Tensor alphaBar() {
    return live(alphaBar);
  }

  /** @return {@code alphaBar_{t-1}}, with {@code alphaBar_{-1} = 1}, float64 {@code [T]} */
  public Tensor alphaBarPrev() {
    return live(alphaBarPrev);
  }

  /** @return {@code sqrt(alphaBar_t)}, the mean factor of q(x_t | x_0) (equation 4), float64 {@code [T]} */
  public Tensor sqrtAlphaBar() {
    return live(sqrtAlphaBar);
  }

  /** @return {@code sqrt(1 - alphaBar_t)}, the standard deviation of q(x_t | x_0) (equation 4), float64 {@code [T]} */
  public Tensor sqrtOneMinusAlphaBar() {
    return live(sqrtOneMinusAlphaBar);
  }

  /** @return {@code 1 / sqrt(alphaBar_t)}, used to predict x_0 from epsilon (equation 9 solved for x_0), float64 {@code [T]} */
  public Tensor sqrtRecipAlphaBar() {
    return live(sqrtRecipAlphaBar);
  }

  /** @return {@code sqrt(1 / alphaBar_t - 1)}, used to predict x_0 from epsilon, float64 {@code [T]} */
  public Tensor sqrtRecipAlphaBarMinusOne() {
    return live(sqrtRecipAlphaBarMinusOne);
  }

  /**
   * @return the posterior variance {@code beta~_t = beta_t (1 - alphaBar_{t-1}) / (1 - alphaBar_t)}
   *     (equation 7), zero at {@code t = 0}, float64 {@code [T]}
   */
  public Tensor posteriorVariance() {
    return live(posteriorVariance);
  }

  /** @return {@code beta_t sqrt(alphaBar_{t-1}) / (1 - alphaBar_t)}, the x_0 factor of mu~_t (equation 7), float64 {@code [T]} */
  public Tensor posteriorMeanCoef1() {
    return live(posteriorMeanCoef1);
  }

  /** @return {@code (1 - alphaBar_{t-1}) sqrt(alpha_t) / (1 - alphaBar_t)}, the x_t factor of mu~_t (equation 7), float64 {@code [T]} */
  public Tensor posteriorMeanCoef2() {
    return live(posteriorMeanCoef2);
  }

  /**
   * @param t a timestep index in [0, T)
   * @return {@code beta_t}
   * @throws IllegalArgumentException naming {@code t} when out of range
   */
  public double beta(int t) {
    return betaValues[checkIndex(t)];
  }

  /**
   * @param t a timestep index in [0, T)
   * @return {@code alphaBar_t} (equation 4)
   * @throws IllegalArgumentException naming {@code t} when out of range
   */
  public double alphaBar(int t) {
    return alphaBarValues[checkIndex(t)];
  }

  /**
   * @param t a timestep index in [0, T)
   * @return {@code beta~_t} (equation 7)
   * @throws IllegalArgumentException naming {@code t} when out of range
   */
  public double posteriorVariance(int t) {
    return posteriorVarianceValues[checkIndex(t)];
  }

  /**
   * @param t a timestep index
   * @return {@code t}
   * @throws IllegalArgumentException naming {@code t} unless {@code 0 <= t < T}
   */
  int checkIndex(long t) {
    if (t < 0 || t >= timesteps) throw new IllegalArgumentException("t = " + t + " is outside [0, " + (timesteps - 1) + "]");
    return (int) t;
  }

  private Tensor live(Tensor t) {
    if (closed) throw new IllegalStateException("noise schedule is closed");
    return t;
  }

  @Override
  public String toString() {
    return "NoiseSchedule(T=" + timesteps + ", beta=[" + betaValues[0] + " .. " + betaValues[timesteps - 1] + "], device=" + device + ")";
  }

  /** Frees the coefficient tensors. Closing twice does nothing. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    for (Tensor t : new Tensor[] {beta, alpha, alphaBar, alphaBarPrev, sqrtAlphaBar, sqrtOneMinusAlphaBar, sqrtRecipAlphaBar,
        sqrtRecipAlphaBarMinusOne, posteriorVariance, posteriorMeanCoef1, posteriorMeanCoef2}) {
      t.close();
    }
  }
}
