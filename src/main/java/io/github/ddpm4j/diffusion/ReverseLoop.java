package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.EvalMode;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.Objects;
import java.util.concurrent.CancellationException;

/**
 * The one reverse loop that every {@link Sampler} runs: from an image at the last of its
 * timesteps down to {@code x_0}, one {@link Sampler#step} per timestep, in inference mode with
 * the model in evaluation mode on this thread only ({@link EvalMode}: a model shared with a thread
 * that trains it keeps its training mode there). An interrupted thread stops after the current
 * step with {@link CancellationException}, its intermediate images freed. Each run has its own
 * {@link Sampler.RunState}, closed when the run ends.
 */
final class ReverseLoop {
  private ReverseLoop() {}

  /**
   * Runs {@code sampler}'s step rule over {@code tau}, from its last entry to its first.
   *
   * @param tau ascending timestep indices; {@code x} is at the last, and the run ends after the first
   * @param x the images at the last timestep, floating point {@code [batch, channels, height, width]}
   * @param owned whether the loop frees {@code x} once the next image exists (it never frees a caller's input)
   * @return the images after the last step; join the caller's scope
   */
  static Tensor run(Sampler sampler, int[] tau, Tensor x, boolean owned, Noise noise, StepObserver observer) {
    Objects.requireNonNull(observer, "observer");
    Tensor start = x;
    try (Mode mode = new Mode(); Sampler.RunState state = sampler.newRun()) {
      for (int i = tau.length - 1; i >= 0; i--) {
        Tensor next;
        try (Scope step = Scope.open()) {
          Sampler.Update u = sampler.step(x, tau[i], i > 0 ? tau[i - 1] : -1, noise, state);
          observer.afterStep(new StepObserver.Step(tau.length - i, tau.length, tau[i], x, u.x0Hat(), u.next()));
          if (Thread.currentThread().isInterrupted()) {
            throw new CancellationException("sampling was interrupted after step " + (tau.length - i) + " of " + tau.length);
          }
          next = Scope.keep(u.next());
        }
        if (owned || x != start) x.close();
        x = next;
      }
      return x;
    } catch (RuntimeException | Error e) {
      if ((owned || x != start) && !x.isClosed()) x.close();
      throw e;
    }
  }

  /**
   * Pure noise {@code x_T ~ N(0, I)}.
   *
   * @return float32 {@code [n, channels, height, width]} on the schedule's device
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive
   */
  static Tensor noise(GaussianDiffusion diffusion, long n, long[] imageShape, Generator generator) {
    return Torch.randn(batchShape(n, imageShape), DType.FLOAT32, diffusion.schedule().device(), generator);
  }

  /**
   * An uninitialised tensor of {@code x_T}'s shape, dtype and device, to draw noise like.
   *
   * @return float32 {@code [n, channels, height, width]} on the schedule's device; the caller closes it
   * @throws IllegalArgumentException naming {@code n} or {@code imageShape} when not positive
   */
  static Tensor shapeOnly(GaussianDiffusion diffusion, long n, long[] imageShape) {
    return Torch.empty(batchShape(n, imageShape), DType.FLOAT32, diffusion.schedule().device());
  }

  private static long[] batchShape(long n, long[] imageShape) {
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
    return shape;
  }

  /** Inference mode and evaluation mode on, on this thread, until closed. */
  private static final class Mode implements AutoCloseable {
    private final GradMode grad;
    private final EvalMode eval;

    Mode() {
      this.grad = GradMode.inferenceMode();
      this.eval = EvalMode.enter();
    }

    @Override
    public void close() {
      eval.close();
      grad.close();
    }
  }
}
