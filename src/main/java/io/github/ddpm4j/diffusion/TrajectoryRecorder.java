package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Records a reverse run every {@code k} steps, as in figure 6 of Ho et al. 2020: at each
 * timestep index {@code t} with {@code t % k == 0}, and always at the last step (which is
 * {@code t = 0} for the ancestral and DDIM samplers, and the smallest of its timesteps for
 * {@link DpmSolverSampler}, which never visits 0), the model's estimate {@code x0Hat} of the final image (equation 4 solved for
 * {@code x_0}) and/or the image {@code x_t}. Any {@link Sampler} runs it:
 * {@snippet :
 * TrajectoryRecorder recorder = new TrajectoryRecorder(50);
 * Tensor x = new AncestralSampler(diffusion).sample(4, new long[] {1, 28, 28}, generator, recorder);
 * try (Trajectory frames = recorder.trajectory(x)) {
 *   // frames.x0Hat(): [frames, 4, 1, 28, 28]
 * }
 * }
 * The recorded frames are copies that join the scope open around the sampler call until
 * {@link #trajectory} stacks them. A recorder records one run.
 */
public final class TrajectoryRecorder implements StepObserver {
  private final int k;
  private final boolean recordX0Hat;
  private final boolean recordXt;
  private final List<Integer> t = new ArrayList<>();
  private final List<Tensor> x0Hat = new ArrayList<>();
  private final List<Tensor> xt = new ArrayList<>();

  /**
   * Records {@code x0Hat} every {@code k} steps.
   *
   * @param k the spacing of recorded frames, in timesteps, &gt;= 1
   * @throws IllegalArgumentException naming {@code k} when it is below 1
   */
  public TrajectoryRecorder(int k) {
    this(k, true, false);
  }

  /**
   * @param k the spacing of recorded frames, in timesteps, &gt;= 1
   * @param recordX0Hat record the estimates {@code x0Hat}
   * @param recordXt record the images {@code x_t}
   * @throws IllegalArgumentException naming {@code k} when it is below 1, or if neither is recorded
   */
  public TrajectoryRecorder(int k, boolean recordX0Hat, boolean recordXt) {
    if (k < 1) throw new IllegalArgumentException("k = " + k + " must be >= 1");
    if (!recordX0Hat && !recordXt) throw new IllegalArgumentException("record x0Hat, x_t or both");
    this.k = k;
    this.recordX0Hat = recordX0Hat;
    this.recordXt = recordXt;
  }

  /**
   * Keeps copies of the step's tensors when {@code step.t() % k == 0}.
   *
   * @param step the finished step
   */
  @Override
  public void afterStep(Step step) {
    if (step.t() % k != 0 && step.done() != step.total()) return;
    t.add(step.t());
    if (recordX0Hat) x0Hat.add(Scope.keep(step.x0Hat().clone()));
    if (recordXt) xt.add(Scope.keep(step.xt().clone()));
  }

  /**
   * Stacks the recorded frames (and frees the single ones).
   *
   * @param sample the run's result, float32 {@code [batch, channels, height, width]}; the trajectory owns it
   * @return the frames, float32 {@code [frames, batch, channels, height, width]} each; they join the caller's scope,
   *     and closing the trajectory frees them and {@code sample}
   * @throws IllegalStateException if nothing was recorded since the last call (no run, or a run that never reached {@code t = 0})
   * @throws NullPointerException if {@code sample} is null
   */
  public Trajectory trajectory(Tensor sample) {
    Objects.requireNonNull(sample, "sample");
    if (t.isEmpty()) throw new IllegalStateException("no frames recorded: run a sampler with this recorder first");
    int[] ts = t.stream().mapToInt(Integer::intValue).toArray();
    t.clear();
    return new Trajectory(ts, stack(x0Hat), stack(xt), sample);
  }

  private static Tensor stack(List<Tensor> frames) {
    if (frames.isEmpty()) return null;
    Tensor stacked = Torch.stack(frames, 0);
    frames.forEach(Tensor::close);
    frames.clear();
    return stacked;
  }
}
