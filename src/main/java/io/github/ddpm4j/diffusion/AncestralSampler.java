package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.util.Objects;

/**
 * Ancestral sampling, Algorithm 2 of Ho et al. 2020: start from {@code x_T ~ N(0, I)} and
 * apply {@link GaussianDiffusion#pSample(Tensor, int, Generator)} for {@code t = T-1 .. 0};
 * the last step adds no noise.
 *
 * <p>Runs in inference mode, with a {@link io.github.ddpm4j.nn.Module} model switched to
 * evaluation mode for the run. Results are inference tensors: use them for images and
 * metrics, not as inputs that need gradients. With the same generator state on the CPU
 * the output is the same bit for bit.
 */
public final class AncestralSampler {
  private final GaussianDiffusion diffusion;

  /**
   * @param diffusion the model and schedule to sample from
   * @throws NullPointerException if {@code diffusion} is null
   */
  public AncestralSampler(GaussianDiffusion diffusion) {
    this.diffusion = Objects.requireNonNull(diffusion, "diffusion");
  }

  /**
   * Generates {@code n} images.
   *
   * @param n how many images, &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param generator the source of {@code x_T} and of every step's noise, on the schedule's device
   * @param progress told after each of the {@code T} steps
   * @return float32 {@code [n, channels, height, width]}, roughly in [-1, 1]; joins the caller's scope
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive, or
   *     from the model when the image size does not suit it
   */
  public Tensor sample(long n, long[] imageShape, Generator generator, Progress progress) {
    try (SamplingMode mode = SamplingMode.enter(diffusion); Scope scope = Scope.open()) {
      Tensor x = SamplingMode.noise(diffusion, n, imageShape, generator);
      return Scope.keep(run(x, diffusion.nSteps() - 1, generator, progress));
    }
  }

  /**
   * {@link #sample(long, long[], Generator, Progress)} with a fresh generator seeded with {@code seed}.
   *
   * @param n how many images, &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param seed the seed of the generator
   * @param progress told after each step
   * @return float32 {@code [n, channels, height, width]}
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive
   */
  public Tensor sample(long n, long[] imageShape, long seed, Progress progress) {
    try (Generator generator = new Generator(seed, diffusion.schedule().device())) {
      return sample(n, imageShape, generator, progress);
    }
  }

  /**
   * Runs the reverse chain from step {@code t} down to 0 on given images {@code x_t}.
   *
   * @param xt images at step {@code t}, floating point {@code [batch, channels, height, width]}
   * @param t the step of {@code xt}, in [0, T)
   * @param generator the source of each step's noise
   * @param progress told after each of the {@code t + 1} steps
   * @return the denoised images {@code x_0}, the shape and dtype of {@code xt}; joins the caller's scope
   * @throws IllegalArgumentException naming {@code t} when out of range
   */
  public Tensor denoise(Tensor xt, int t, Generator generator, Progress progress) {
    diffusion.schedule().checkIndex(t);
    try (SamplingMode mode = SamplingMode.enter(diffusion); Scope scope = Scope.open()) {
      return Scope.keep(run(xt, t, generator, progress));
    }
  }

  /** The loop; every intermediate image is freed as soon as the next exists. */
  static Tensor run(Tensor xt, int from, GaussianDiffusion diffusion, Generator generator, Progress progress) {
    Tensor x = xt;
    int total = from + 1;
    for (int t = from; t >= 0; t--) {
      Tensor next = diffusion.pSample(x, t, generator);
      if (x != xt) x.close();
      x = next;
      progress.step(total - t, total);
    }
    return x;
  }

  private Tensor run(Tensor xt, int from, Generator generator, Progress progress) {
    return run(xt, from, diffusion, generator, Objects.requireNonNull(progress, "progress"));
  }
}
