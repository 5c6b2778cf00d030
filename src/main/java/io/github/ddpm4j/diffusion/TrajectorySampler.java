package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Ancestral sampling (Algorithm 2 of Ho et al. 2020) that also records the model's
 * estimate {@code x0Hat} of the final image (equation 4 solved for {@code x_0}) every
 * {@code k} steps, as in the paper's figure 6: at each step index {@code t} with
 * {@code t % k == 0}, which always includes the last step {@code t = 0}. With the same
 * generator state it produces the same final images as {@link AncestralSampler}.
 * Runs in inference mode like {@link AncestralSampler}.
 */
public final class TrajectorySampler {
  private final GaussianDiffusion diffusion;
  private final int k;

  /**
   * @param diffusion the model and schedule
   * @param k the spacing of recorded frames, in steps, &gt;= 1
   * @throws IllegalArgumentException naming {@code k} when it is below 1
   * @throws NullPointerException if {@code diffusion} is null
   */
  public TrajectorySampler(GaussianDiffusion diffusion, int k) {
    this.diffusion = Objects.requireNonNull(diffusion, "diffusion");
    if (k < 1) throw new IllegalArgumentException("k = " + k + " must be >= 1");
    this.k = k;
  }

  /**
   * Generates {@code n} images and their denoising frames.
   *
   * @param n how many images, &gt;= 1
   * @param imageShape one image's shape, {@code {channels, height, width}}
   * @param generator the source of {@code x_T} and of every step's noise, on the schedule's device
   * @param progress told after each of the {@code T} steps
   * @return the frames and final images; the caller closes it (its tensors also join the caller's scope)
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive
   */
  public Trajectory sample(long n, long[] imageShape, Generator generator, Progress progress) {
    Objects.requireNonNull(progress, "progress");
    int total = diffusion.nSteps();
    List<Integer> recorded = new ArrayList<>();
    try (SamplingMode mode = SamplingMode.enter(diffusion); Scope scope = Scope.open()) {
      List<Tensor> frames = new ArrayList<>();
      Tensor x = SamplingMode.noise(diffusion, n, imageShape, generator);
      for (int t = total - 1; t >= 0; t--) {
        Tensor next;
        try (Scope step = Scope.open()) {
          Tensor steps = diffusion.timesteps(t, x);
          Prediction p = diffusion.pMeanVariance(x, steps);
          if (t % k == 0) {
            frames.add(Scope.keep(p.x0Hat()));
            recorded.add(t);
          }
          next = t > 0 ? p.mean().add(p.variance().sqrt().mul(Torch.randnLike(x, generator))) : p.mean();
          Scope.keep(next);
        }
        x.close();
        x = next;
        progress.step(total - t, total);
      }
      Tensor stacked = Torch.stack(frames, 0);
      int[] ts = recorded.stream().mapToInt(Integer::intValue).toArray();
      return new Trajectory(ts, Scope.keep(stacked), Scope.keep(x));
    }
  }
}
