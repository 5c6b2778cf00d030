package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * What every sampler does around its loop: inference mode on, and a model that is a
 * {@link Module} in evaluation mode (dropout off), restored afterwards.
 */
final class SamplingMode implements AutoCloseable {
  private final GradMode grad;
  private final Module switched;

  private SamplingMode(EpsilonModel model) {
    this.grad = GradMode.inferenceMode();
    if (model instanceof Module m && m.isTraining()) {
      m.eval();
      switched = m;
    } else {
      switched = null;
    }
  }

  static SamplingMode enter(GaussianDiffusion diffusion) {
    return new SamplingMode(diffusion.epsModel());
  }

  /** Pure noise {@code x_T ~ N(0, I)}, float32 {@code [n, channels, height, width]} on the schedule's device. */
  static Tensor noise(GaussianDiffusion diffusion, long n, long[] imageShape, Generator generator) {
    if (n < 1) throw new IllegalArgumentException("n = " + n + " must be >= 1");
    if (imageShape == null || imageShape.length == 0) {
      throw new IllegalArgumentException("imageShape must list the image dimensions, e.g. {channels, height, width}");
    }
    long[] shape = new long[imageShape.length + 1];
    shape[0] = n;
    for (int i = 0; i < imageShape.length; i++) {
      if (imageShape[i] < 1) throw new IllegalArgumentException("imageShape[" + i + "] = " + imageShape[i] + " must be >= 1");
      shape[i + 1] = imageShape[i];
    }
    return Torch.randn(shape, DType.FLOAT32, diffusion.schedule().device(), generator);
  }

  @Override
  public void close() {
    if (switched != null) switched.train(true);
    grad.close();
  }
}
