package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.ArrayList;
import java.util.List;

/**
 * A frozen copy of the reverse loops as they were before the samplers shared one loop
 * (AncestralSampler, DdimSampler, TrajectorySampler, Interpolator of commit 31a73c0), kept
 * only so that {@link SamplerEquivalenceTest} can show that the shared loop makes the same
 * images bit for bit. It uses only {@link GaussianDiffusion#pMeanVariance}, {@link
 * GaussianDiffusion#qSample} and the model itself, whose arithmetic the refactoring left alone.
 */
final class LegacySamplers {
  private LegacySamplers() {}

  /** The frames and final images of the old TrajectorySampler. */
  record Frames(int[] t, Tensor x0Hat, Tensor sample) {}

  private static Tensor noise(GaussianDiffusion d, long n, long[] imageShape, Generator g) {
    long[] shape = new long[imageShape.length + 1];
    shape[0] = n;
    System.arraycopy(imageShape, 0, shape, 1, imageShape.length);
    return Torch.randn(shape, DType.FLOAT32, d.schedule().device(), g);
  }

  private static Tensor steps(int t, Tensor like) {
    return Torch.full(new long[] {like.size(0)}, t, DType.INT64, like.device());
  }

  /** Old AncestralSampler.run, with pSample written out as the old TrajectorySampler wrote it. */
  static Tensor ancestral(GaussianDiffusion d, Tensor xt, int from, Generator g) {
    return ancestral(d, xt, from, g, 0, null, null);
  }

  private static Tensor ancestral(GaussianDiffusion d, Tensor xt, int from, Generator g, int k, List<Tensor> frames,
      List<Integer> recorded) {
    boolean training = d.epsModel() instanceof io.github.ddpm4j.nn.Module m && m.isTraining();
    if (training) ((io.github.ddpm4j.nn.Module) d.epsModel()).eval();
    try (GradMode mode = GradMode.inferenceMode()) {
      Tensor x = xt;
      for (int t = from; t >= 0; t--) {
        Tensor next;
        try (Scope step = Scope.open()) {
          Prediction p = d.pMeanVariance(x, steps(t, x));
          if (frames != null && t % k == 0) {
            frames.add(Scope.keep(p.x0Hat()));
            recorded.add(t);
          }
          next = t > 0 ? p.mean().add(p.variance().sqrt().mul(Torch.randnLike(x, g))) : p.mean();
          Scope.keep(next);
        }
        if (x != xt) x.close();
        x = next;
      }
      return x;
    } finally {
      if (training) ((io.github.ddpm4j.nn.Module) d.epsModel()).train(true);
    }
  }

  static Tensor ancestralSample(GaussianDiffusion d, long n, long[] shape, long seed) {
    try (Generator g = new Generator(seed, d.schedule().device()); Scope scope = Scope.open()) {
      return Scope.keep(ancestral(d, noise(d, n, shape, g), d.schedule().timesteps() - 1, g));
    }
  }

  static Frames trajectory(GaussianDiffusion d, long n, long[] shape, long seed, int k) {
    try (Generator g = new Generator(seed, d.schedule().device()); Scope scope = Scope.open()) {
      List<Tensor> frames = new ArrayList<>();
      List<Integer> recorded = new ArrayList<>();
      Tensor x = ancestral(d, noise(d, n, shape, g), d.schedule().timesteps() - 1, g, k, frames, recorded);
      int[] ts = recorded.stream().mapToInt(Integer::intValue).toArray();
      return new Frames(ts, Scope.keep(Torch.stack(frames, 0)), Scope.keep(x));
    }
  }

  /** Old Interpolator.interpolate. */
  static Tensor interpolate(GaussianDiffusion d, Tensor x1, Tensor x2, double lambda, int t, long seed) {
    try (Generator g = new Generator(seed, d.schedule().device()); Scope scope = Scope.open();
         GradMode mode = GradMode.inferenceMode()) {
      Tensor ts = steps(t, x1);
      Tensor eps = Torch.randnLike(x1, g);
      Tensor xt = d.qSample(x1, ts, eps).mul(1 - lambda).add(d.qSample(x2, ts, eps).mul(lambda));
      return Scope.keep(ancestral(d, xt, t, g));
    }
  }

  /** Old DdimSampler.sample and its step. */
  static Tensor ddim(GaussianDiffusion d, int S, double eta, long n, long[] shape, long seed) {
    int T = d.schedule().timesteps();
    int[] tau = new int[S];
    for (int i = 0; i < S; i++) tau[i] = (int) ((long) i * T / S);
    boolean training = d.epsModel() instanceof io.github.ddpm4j.nn.Module m && m.isTraining();
    if (training) ((io.github.ddpm4j.nn.Module) d.epsModel()).eval();
    try (Generator g = new Generator(seed, d.schedule().device()); GradMode mode = GradMode.inferenceMode();
         Scope scope = Scope.open()) {
      Tensor x = noise(d, n, shape, g);
      for (int i = S - 1; i >= 0; i--) {
        Tensor next;
        int t = tau[i];
        double alphaBar = d.schedule().alphaBar(t);
        double alphaBarPrev = i == 0 ? 1.0 : d.schedule().alphaBar(tau[i - 1]);
        try (Scope step = Scope.open()) {
          Tensor eps = d.epsModel().epsTheta(x, steps(t, x));
          Tensor x0Hat = x.sub(eps.mul(Math.sqrt(1 - alphaBar))).div(Math.sqrt(alphaBar));
          if (d.clipDenoised()) {
            x0Hat = x0Hat.clamp(-1.0, 1.0);
            eps = x.sub(x0Hat.mul(Math.sqrt(alphaBar))).div(Math.sqrt(1 - alphaBar));
          }
          double sigma = eta * Math.sqrt((1 - alphaBarPrev) / (1 - alphaBar)) * Math.sqrt(1 - alphaBar / alphaBarPrev);
          double dirCoef = Math.sqrt(Math.max(0.0, 1 - alphaBarPrev - sigma * sigma));
          next = x0Hat.mul(Math.sqrt(alphaBarPrev)).add(eps.mul(dirCoef));
          if (sigma > 0) next = next.add(Torch.randnLike(x, g).mul(sigma));
          Scope.keep(next);
        }
        x.close();
        x = next;
      }
      return Scope.keep(x);
    } finally {
      if (training) ((io.github.ddpm4j.nn.Module) d.epsModel()).train(true);
    }
  }
}
