package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.CudaGraph;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs a noise predictor through CUDA graphs: the first call with a new input shape
 * warms the model up, then captures one forward pass into a {@link CudaGraph} with static
 * input and output buffers of that shape; every later call copies {@code x_t} and
 * {@code t} into the buffers and replays the graph. A sampler's reverse loop calls the
 * model once per step with the same shape, so after the first step each step costs one
 * graph launch instead of one launch per op (about 490 for the UNet at batch 1).
 *
 * <p>Where capture is not possible (an op that synchronises with the host, an old driver),
 * the capture's {@link TorchException} is remembered and that shape runs eagerly from
 * then on; {@link #fallbacks()} says how often this happened. Results equal the eager
 * model's up to the order of floating-point operations; random ops inside the model
 * (dropout, in training mode only) would draw from the device's default generator.
 *
 * <p>Not thread-safe: one sampling loop (one platform thread; capture refuses virtual
 * threads) uses an instance. {@link #close()} frees the graphs and their buffers; the
 * wrapped model stays open.
 */
public final class CudaGraphEpsilon implements EpsilonModel, AutoCloseable {
  /** Eager forward passes before a capture, as PyTorch's documentation recommends. */
  static final int WARMUP = 3;

  private record Key(List<Long> shape, DType dtype, DType timeType) {}

  /** The graph of one input shape and its static tensors; {@code graph == null} after a failed capture. */
  private static final class Captured {
    Tensor x;
    Tensor t;
    Tensor out;
    CudaGraph graph;

    void close() {
      if (graph != null) graph.close();
      for (Tensor s : new Tensor[] {out, x, t}) {
        if (s != null) s.close();
      }
    }
  }

  private final EpsilonModel model;
  private final Device device;
  private final Map<Key, Captured> graphs = new HashMap<>();
  private int fallbacks;
  private boolean closed;

  /**
   * @param model the noise predictor, on {@code device}
   * @param device the CUDA device the model and its inputs live on
   * @throws IllegalArgumentException if {@code device} is not a CUDA device, or CUDA is not available
   */
  public CudaGraphEpsilon(EpsilonModel model, Device device) {
    this.model = Objects.requireNonNull(model, "model");
    this.device = Objects.requireNonNull(device, "device");
    if (!device.isCuda()) throw new IllegalArgumentException("CUDA graphs need a CUDA device, got " + device);
    if (!Torch.cudaIsAvailable()) {
      throw new IllegalArgumentException("CUDA graphs need CUDA, which is not available (this LibTorch has no CUDA, or no GPU is visible)");
    }
  }

  /**
   * @param xt the noised images, {@code [batch, channels, height, width]} on this instance's device
   * @param t the timestep indices, int64 {@code [batch]} on the same device
   * @return the model's prediction, a new tensor the caller owns (a copy of the graph's static output)
   * @throws IllegalStateException if this instance is closed
   * @throws IllegalArgumentException as the wrapped model throws it, for inputs that do not suit it
   */
  @Override
  public Tensor epsTheta(Tensor xt, Tensor t) {
    if (closed) throw new IllegalStateException("CudaGraphEpsilon is closed");
    Key key = new Key(Arrays.stream(xt.shape()).boxed().toList(), xt.dtype(), t.dtype());
    Captured c = graphs.get(key);
    if (c == null) {
      c = capture(xt, t);
      graphs.put(key, c);
    }
    if (c.graph == null) return model.epsTheta(xt, t);
    c.x.copy_(xt);
    c.t.copy_(t);
    c.graph.replay();
    return c.out.clone();
  }

  private Captured capture(Tensor xt, Tensor t) {
    Captured c = new Captured();
    Tensor[] out = new Tensor[1];
    try {
      c.x = Scope.release(Torch.empty(xt.shape(), xt.dtype(), device)).copy_(xt);
      c.t = Scope.release(Torch.empty(t.shape(), t.dtype(), device)).copy_(t);
      for (int i = 0; i < WARMUP; i++) {
        try (Scope s = Scope.open()) {
          model.epsTheta(c.x, c.t);
        }
      }
      try (Scope s = Scope.open()) {
        c.graph = CudaGraph.capture(device, () -> out[0] = Scope.release(model.epsTheta(c.x, c.t)));
      }
      c.out = out[0];
      return c;
    } catch (TorchException e) {
      c.close();
      if (out[0] != null) out[0].close();
      Captured eager = new Captured();
      fallbacks++;
      return eager;
    }
  }

  /** @return how many input shapes could not be captured and run eagerly */
  public int fallbacks() {
    return fallbacks;
  }

  /** @return how many input shapes have a captured graph */
  public int graphs() {
    return (int) graphs.values().stream().filter(c -> c.graph != null).count();
  }

  /** Frees every graph and its static tensors. Closing twice does nothing. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    graphs.values().forEach(Captured::close);
    graphs.clear();
  }
}
