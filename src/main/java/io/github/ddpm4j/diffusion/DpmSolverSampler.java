package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.util.Objects;

/**
 * DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
 * Models", Algorithm 2): the multistep second-order solver of the diffusion ODE in its data-prediction form, on the
 * discrete-time schedule, as diffusers' {@code DPMSolverMultistepScheduler} runs it with its defaults
 * ({@code algorithm_type="dpmsolver++"}, {@code solver_order=2}, {@code solver_type="midpoint"},
 * {@code final_sigmas_type="zero"}, {@code timestep_spacing="linspace"}).
 *
 * <p>With {@code alpha_t = sqrt(alphaBar_t)}, {@code sigma_t = sqrt(1 - alphaBar_t)}, {@code lambda_t = log(alpha_t / sigma_t)}
 * and {@code h_i = lambda_{t_i} - lambda_{t_{i-1}}}, a step from {@code t_{i-1}} to {@code t_i} (noisier to cleaner) is
 * {@code x_{t_i} = (sigma_{t_i} / sigma_{t_{i-1}}) x_{t_{i-1}} - alpha_{t_i} (e^{-h_i} - 1) D_i}. The first step is first
 * order, {@code D_i = x0Hat_{i-1}}; later steps are second order,
 * {@code D_i = (1 + 1 / (2 r_i)) x0Hat_{i-1} - 1 / (2 r_i) x0Hat_{i-2}} with {@code r_i = h_{i-1} / h_i}. The last step goes
 * to {@code sigma = 0} (diffusers' {@code final_sigmas_type="zero"}), where the first-order formula is {@code x0Hat}
 * itself: the final image is the data prediction at the smallest timestep, and the model is never evaluated at
 * {@code t = 0}. (So diffusers' {@code lower_order_final} holds for every number of steps.) {@code x0Hat} is read
 * from the network's output by the diffusion's prediction type, and clipped when the diffusion clips
 * ({@link GaussianDiffusion#estimate(Tensor, int)}). The solver is deterministic: it draws no noise.
 *
 * <p>The timesteps come from a grid of {@code S + 1} points from {@code T - 1} down to 0, less the last point (0), whose
 * place the final {@code sigma = 0} takes ({@link TimestepSpacing}). The previous step's {@code x0Hat} lives in the
 * run's {@link Sampler.RunState}, so one sampler serves any number of threads at once.
 */
public final class DpmSolverSampler implements Sampler {
  /** How the {@code S} timesteps are spread over the schedule. */
  public enum TimestepSpacing {
    /**
     * Uniform in {@code t}: {@code round(j (T - 1) / S)} for {@code j = 1 .. S} (rounded half to even), as diffusers'
     * {@code timestep_spacing="linspace"}.
     */
    LINSPACE("linspace"),
    /**
     * Uniform in log-SNR: {@code S + 1} values of {@code lambda} evenly spaced from {@code lambda_{T-1}} to
     * {@code lambda_0}, each mapped to the timestep whose {@code lambda} is nearest, less the last (in the spirit of
     * diffusers' {@code use_lu_lambdas}, Lu et al. 2022, section 3.3, who space DPM-Solver's steps uniformly in
     * {@code lambda}). On a coarse schedule two points can have the same nearest timestep: going from {@code t = 0}
     * up, each timestep is then at least one above the previous one, and at most as high as leaves one timestep for
     * each of the points after it.
     */
    LOGSNR("logsnr");

    private final String label;

    TimestepSpacing(String label) {
      this.label = label;
    }

    /** @return the name: {@code linspace} or {@code logsnr} */
    @Override
    public String toString() {
      return label;
    }

    /**
     * @param text {@code linspace} or {@code logsnr}
     * @return the spacing of that name
     * @throws IllegalArgumentException listing the accepted names otherwise
     */
    public static TimestepSpacing parse(String text) {
      return Choices.parse(values(), text);
    }
  }

  private final GaussianDiffusion diffusion;
  private final TimestepSpacing spacing;
  private final int[] tau;

  /**
   * A solver with timesteps uniform in {@code t} ({@link TimestepSpacing#LINSPACE}).
   *
   * @param diffusion the model and schedule to sample from
   * @param S the number of steps ({@code samplingSteps}), each one network evaluation, in [1, T - 1]
   * @throws InvalidSettingException naming {@code samplingSteps} when out of range
   * @throws NullPointerException if {@code diffusion} is null
   */
  public DpmSolverSampler(GaussianDiffusion diffusion, int S) {
    this(diffusion, S, TimestepSpacing.LINSPACE);
  }

  /**
   * @param diffusion the model and schedule to sample from
   * @param S the number of steps ({@code samplingSteps}), each one network evaluation, in [1, T - 1]
   * @param spacing how the steps are spread over the schedule
   * @throws InvalidSettingException naming {@code samplingSteps} when out of range
   * @throws NullPointerException if {@code diffusion} or {@code spacing} is null
   */
  public DpmSolverSampler(GaussianDiffusion diffusion, int S, TimestepSpacing spacing) {
    this.diffusion = Objects.requireNonNull(diffusion, "diffusion");
    this.spacing = Objects.requireNonNull(spacing, "spacing");
    int T = diffusion.timesteps();
    checkSettings(S, T);
    this.tau = spacing == TimestepSpacing.LINSPACE ? linspace(S, T) : logSnr(S, diffusion.schedule());
  }

  /**
   * Checks the number of steps against a schedule's length, before any model exists.
   *
   * @param S the number of steps ({@code samplingSteps})
   * @param T the schedule's number of timesteps
   * @throws InvalidSettingException naming {@code samplingSteps} unless it is in [1, T - 1]
   */
  static void checkSettings(int S, int T) {
    if (S < 1 || S > T - 1) {
      throw new InvalidSettingException("{samplingSteps=} must lie in [1, T - 1 = {}] for dpm-solver++ (its steps skip t = 0)", S, T - 1);
    }
  }

  private static int[] linspace(int S, int T) {
    int[] tau = new int[S];
    for (int j = 1; j <= S; j++) tau[j - 1] = (int) Math.rint((double) j * (T - 1) / S);
    return tau;
  }

  private static int[] logSnr(int S, NoiseSchedule schedule) {
    int T = schedule.timesteps();
    double[] lambda = new double[T];
    for (int t = 0; t < T; t++) lambda[t] = lambda(schedule.alphaBar(t));
    int[] tau = new int[S];
    for (int j = 1; j <= S; j++) {
      double target = lambda[0] + (lambda[T - 1] - lambda[0]) * j / S;
      int best = 0;
      for (int t = 1; t < T; t++) if (Math.abs(lambda[t] - target) < Math.abs(lambda[best] - target)) best = t;
      int low = j > 1 ? tau[j - 2] + 1 : 0;
      int high = T - 1 - (S - j);
      tau[j - 1] = Math.min(Math.max(best, low), high);
    }
    return tau;
  }

  /** {@code lambda = log(alpha / sigma) = log(alphaBar / (1 - alphaBar)) / 2}. */
  private static double lambda(double alphaBar) {
    return 0.5 * (Math.log(alphaBar) - Math.log1p(-alphaBar));
  }

  @Override
  public GaussianDiffusion diffusion() {
    return diffusion;
  }

  /** @return the timesteps, ascending, 0-based; the smallest is at least 1 */
  @Override
  public int[] tau() {
    return tau.clone();
  }

  /** @return how the timesteps are spread */
  public TimestepSpacing spacing() {
    return spacing;
  }

  /** @return a state that holds the previous step's {@code x0Hat} and {@code lambda} */
  @Override
  public RunState newRun() {
    return new History();
  }

  /**
   * One step as the first of a run (first order, the same as deterministic DDIM), for a caller without a run state.
   * The loop of {@link Sampler} calls {@link #step(Tensor, int, int, Noise, RunState)} instead.
   *
   * @param xt the images at {@code t}, float32 {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, in [0, T)
   * @param tPrev the next timestep index, below {@code t}, or -1 for the final step to {@code sigma = 0}
   * @param noise unused: the solver draws no noise
   * @return the next image and {@code x0Hat}
   * @throws IllegalArgumentException if the model does not suit {@code xt}
   */
  @Override
  public Update step(Tensor xt, int t, int tPrev, Noise noise) {
    try (History fresh = new History()) {
      return step(xt, t, tPrev, noise, fresh);
    }
  }

  /**
   * One step of Algorithm 2 from {@code t} to {@code tPrev} (to {@code sigma = 0} when {@code tPrev = -1}): first order
   * when {@code state} holds no earlier step or at the final step, second order otherwise. Records this step's
   * {@code x0Hat} and {@code lambda_t} in {@code state}.
   *
   * @param xt the images at {@code t}, float32 {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, in [0, T)
   * @param tPrev the next timestep index, below {@code t}, or -1
   * @param noise unused: the solver draws no noise
   * @param state this run's state, from {@link #newRun()}
   * @return {@code x_{tPrev}} (the final image {@code x0Hat} when {@code tPrev = -1}) and {@code x0Hat}
   * @throws IllegalArgumentException if {@code state} is not from this kind of sampler, or the model does not suit {@code xt}
   */
  @Override
  public Update step(Tensor xt, int t, int tPrev, Noise noise, RunState state) {
    if (!(state instanceof History history)) {
      throw new IllegalArgumentException("state must come from DpmSolverSampler.newRun(), got " + state);
    }
    GaussianDiffusion.Estimate e = diffusion.estimate(xt, t);
    Tensor x0Hat = e.x0Hat();
    if (tPrev < 0) {
      history.clear();
      return new Update(x0Hat.clone(), x0Hat);
    }
    NoiseSchedule schedule = diffusion.schedule();
    double alphaBarS = schedule.alphaBar(t);
    double alphaBarT = schedule.alphaBar(tPrev);
    double sigmaS = Math.sqrt(1 - alphaBarS);
    double alphaT = Math.sqrt(alphaBarT);
    double sigmaT = Math.sqrt(1 - alphaBarT);
    double lambdaS = lambda(alphaBarS);
    double h = lambda(alphaBarT) - lambdaS;
    Tensor d = x0Hat;
    if (history.x0Hat != null) {
      double r = (lambdaS - history.lambda) / h;
      d = x0Hat.mul(1 + 1 / (2 * r)).sub(history.x0Hat.mul(1 / (2 * r)));
    }
    Tensor next = xt.mul(sigmaT / sigmaS).sub(d.mul(alphaT * Math.expm1(-h)));
    history.record(x0Hat, lambdaS);
    return new Update(next, x0Hat);
  }

  /** The previous step's {@code x0Hat} (a copy that belongs to no scope) and {@code lambda}. */
  private static final class History implements RunState {
    private Tensor x0Hat;
    private double lambda;

    void record(Tensor x0Hat, double lambda) {
      Tensor copy = Scope.release(x0Hat.clone());
      clear();
      this.x0Hat = copy;
      this.lambda = lambda;
    }

    void clear() {
      if (x0Hat != null) x0Hat.close();
      x0Hat = null;
    }

    @Override
    public void close() {
      clear();
    }

    @Override
    public String toString() {
      return "DpmSolverSampler run state";
    }
  }
}
