package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Tensor;
import java.util.Objects;

/**
 * A reverse-process sampler: the timesteps it visits and its step rule, the one thing in
 * which samplers differ. One loop runs every sampler ({@link #sample}): it starts from
 * {@code x_T ~ N(0, I)} at the last of {@link #tau()}, applies {@link #step} at each timestep
 * from the last down to the first, and tells a {@link StepObserver} after each
 * step. A new sampler is one small class that implements {@link #diffusion()}, {@link #tau()}
 * and {@link #step}; see {@link AncestralSampler} (Ho et al. 2020, Algorithm 2),
 * {@link DdimSampler} (Song et al. 2021, equation 12) and {@link DpmSolverSampler} (Lu et al. 2022).
 *
 * <p><b>State of a run.</b> A sampler is shared by threads, so it keeps nothing of a run in its fields.
 * A multistep sampler, whose step needs earlier steps' results, keeps them in a {@link RunState}: the loop
 * asks {@link #newRun()} for one at the start of each run, hands it to every step of that run
 * ({@link #step(Tensor, int, int, Noise, RunState)}), and closes it at the end. Single-step samplers keep the
 * defaults, a stateless {@link RunState#NONE}.
 *
 * <p>The loop runs in inference mode, with a {@link io.github.ddpm4j.nn.Module} model switched
 * to evaluation mode for the run and restored afterwards. Results are inference tensors: use
 * them for images and metrics, not as inputs that need gradients. Every intermediate image is
 * freed as soon as the next exists. With the same generator state on the CPU the output is the
 * same bit for bit.
 */
public interface Sampler {
  /**
   * What one step made.
   *
   * @param next the next, less noisy image {@code x_{tPrev}} ({@code x_0} after the last step), a new
   *     tensor of the shape and dtype of {@code x_t}
   * @param x0Hat the step's estimate of {@code x_0} from {@code x_t}, the shape of {@code x_t}
   */
  record Update(Tensor next, Tensor x0Hat) {}

  /**
   * What a sampler remembers between the steps of one run, confined to the thread of that run. Closing it
   * frees any tensors it holds.
   */
  interface RunState extends AutoCloseable {
    /** The state of a sampler that remembers nothing. */
    RunState NONE = () -> {};

    /** Frees what the state holds; idempotent. */
    @Override
    void close();
  }

  /**
   * A fresh state for one run, which the loop closes when the run ends. The default, for samplers whose step
   * depends only on its arguments, is {@link RunState#NONE}.
   *
   * @return the state of a new run
   */
  default RunState newRun() {
    return RunState.NONE;
  }

  /**
   * The step rule with the run's state: what the loop calls. The default ignores the state and calls
   * {@link #step(Tensor, int, int, Noise)}.
   *
   * @param xt the images at {@code t}, float32 {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, one of {@link #tau()}
   * @param tPrev the timestep index of the next image, or -1 when the next image is the final one
   * @param noise the source of the step's noise
   * @param state the state of this run, from {@link #newRun()} of this sampler
   * @return the next image and the estimate of {@code x_0}
   * @throws IllegalArgumentException if the model does not suit {@code xt}
   */
  default Update step(Tensor xt, int t, int tPrev, Noise noise, RunState state) {
    return step(xt, t, tPrev, noise);
  }

  /** @return the model and schedule this sampler draws from */
  GaussianDiffusion diffusion();

  /**
   * @return the timestep indices a run from pure noise visits, ascending
   *     ({@code 0 <= tau_1 < tau_2 < ... < tau_S <= T - 1}; {@code tau_1 = 0} for DDIM and ancestral sampling);
   *     the run visits them from the last to the first, and the step at {@code tau_1} makes the final image
   */
  int[] tau();

  /**
   * The step rule: one update from {@code x_t} at timestep index {@code t} to the image at
   * {@code tPrev}. The loop calls it inside a {@link io.github.ddpm4j.torch.Scope} of the step:
   * what it creates is freed after the step, except {@link Update#next()}.
   *
   * @param xt the images at {@code t}, float32 {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, one of {@link #tau()}
   * @param tPrev the timestep index of the next image, the entry of {@link #tau()} before {@code t}, or -1
   *     when the next image is {@code x_0}
   * @param noise the source of the step's noise, on the device of {@code xt} (one generator, or one per
   *     group of rows: {@link Noise})
   * @return the next image and the estimate of {@code x_0}
   * @throws IllegalArgumentException if the model does not suit {@code xt}
   */
  Update step(Tensor xt, int t, int tPrev, Noise noise);

  /**
   * Generates {@code n} images: {@code x_T ~ N(0, I)}, then one {@link #step} per entry of
   * {@link #tau()}, from the last to the first.
   *
   * @param n how many images, &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param generator the source of {@code x_T} and of every step's noise, on the schedule's device
   * @param observer told after each step ({@link Progress}, {@link TrajectoryRecorder}, or
   *     several with {@link StepObserver#andThen})
   * @return float32 {@code [n, channels, height, width]}, roughly in [-1, 1]; joins the caller's scope
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive, or from the
   *     model when the image size does not suit it
   * @throws NullPointerException if {@code generator} or {@code observer} is null
   */
  default Tensor sample(long n, long[] imageShape, Generator generator, StepObserver observer) {
    Objects.requireNonNull(observer, "observer");
    return ReverseLoop.run(this, tau(), ReverseLoop.noise(diffusion(), n, imageShape, generator), true, Noise.of(generator), observer);
  }

  /**
   * Generates images for several requests in one batched loop: request {@code i} gets {@code counts[i]}
   * images whose {@code x_T} and step noise come from {@code generators.get(i)} alone, the same draws as
   * {@link #sample(long, long[], Generator, StepObserver)} would make for it with that generator; so its
   * images differ from those of an unbatched run only by the float rounding of the batched forward passes.
   *
   * @param generators one generator per request, on the schedule's device
   * @param counts images per request, each &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param observer told after each step of the batched loop
   * @return float32 {@code [sum(counts), channels, height, width]}, the requests' images in order; joins the
   *     caller's scope
   * @throws IllegalArgumentException if the lists differ in length, a count is below 1, or {@code imageShape} is
   *     not positive
   * @throws NullPointerException if an argument is null
   */
  default Tensor sample(java.util.List<Generator> generators, long[] counts, long[] imageShape, StepObserver observer) {
    Objects.requireNonNull(observer, "observer");
    Noise noise = Noise.perRows(generators, counts);
    long n = 0;
    for (long c : counts) n += c;
    Tensor like = ReverseLoop.shapeOnly(diffusion(), n, imageShape);
    Tensor xT;
    try {
      xT = noise.randnLike(like);
    } finally {
      like.close();
    }
    return ReverseLoop.run(this, tau(), xT, true, noise, observer);
  }

  /**
   * {@link #sample(long, long[], Generator, StepObserver)} with a fresh generator seeded with {@code seed}.
   *
   * @param n how many images, &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param seed the seed of the generator
   * @param observer told after each step
   * @return float32 {@code [n, channels, height, width]}; joins the caller's scope
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive
   */
  default Tensor sample(long n, long[] imageShape, long seed, StepObserver observer) {
    try (Generator generator = new Generator(seed, diffusion().schedule().device())) {
      return sample(n, imageShape, generator, observer);
    }
  }
}
