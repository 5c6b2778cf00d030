package io.github.ddpm4j.bench;

import io.github.ddpm4j.diffusion.AncestralSampler;
import io.github.ddpm4j.diffusion.CudaGraphEpsilon;
import io.github.ddpm4j.diffusion.DdimSampler;
import io.github.ddpm4j.diffusion.EpsilonModel;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.torch.Autocast;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A whole reverse loop, as {@code ddpm4j sample} runs it: the ancestral sampler over the
 * 1000 steps of the linear schedule, or DDIM (eta 0) with {@code steps} steps, drawing
 * {@code batch} images of the benchmark model (32x32), in inference mode, eagerly or
 * replaying each step's forward pass from a CUDA graph ({@link CudaGraphEpsilon}), in
 * float32 or bfloat16 autocast. Single-shot: one whole loop per iteration; the warm-up
 * iteration also captures the graphs.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class SamplingBenchmark {
  /** {@code cpu-default} or {@code seed}. */
  @Param("cpu-default")
  public String config;

  /** {@code ancestral} (all T = 1000 steps) or {@code ddim}. */
  @Param("ddim")
  public String sampler;

  /** DDIM steps (ignored for ancestral). */
  @Param("50")
  public int steps;

  /** Images per loop. */
  @Param("1")
  public int batch;

  /** {@code eager} or {@code graphs} (CUDA only). */
  @Param("eager")
  public String mode;

  /** {@code fp32} or {@code bf16}. */
  @Param("fp32")
  public String precision;

  /** {@code cpu} or {@code cuda}. */
  @Param("cpu")
  public String device;

  /** LibTorch intra-op threads. */
  @Param("2")
  public int threads;

  private Device dev;
  private UNet model;
  private NoiseSchedule schedule;
  private CudaGraphEpsilon graphs;
  private Precision prec;
  private long[] shape;

  /** Builds the model (seed 0) on the device, in evaluation mode. */
  @Setup
  public void setup() {
    dev = Device.parse(device);
    model = BenchModels.model(config, dev, threads);
    UNetConfig c = model.config();
    model.eval();
    schedule = NoiseSchedule.linear(1000, 1e-4, 0.02, dev);
    prec = Precision.parse(precision);
    graphs = switch (mode) {
      case "eager" -> null;
      case "graphs" -> new CudaGraphEpsilon(model, dev);
      default -> throw new IllegalArgumentException("mode must be eager or graphs, got " + mode);
    };
    shape = new long[] {c.imageChannels(), BenchModels.IMAGE_SIZE, BenchModels.IMAGE_SIZE};
  }

  /** Frees everything. */
  @TearDown
  public void tearDown() {
    if (graphs != null) graphs.close();
    schedule.close();
    model.close();
  }

  /**
   * One reverse loop.
   *
   * @return whether the images were freed, so the work is not eliminated
   */
  @Benchmark
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public boolean sample() {
    EpsilonModel eps = graphs != null ? graphs : model;
    GaussianDiffusion diffusion = new GaussianDiffusion(eps, schedule);
    try (Scope s = Scope.open(); GradMode g = GradMode.inferenceMode(); Autocast ac = prec.autocast()) {
      Tensor x = sampler.equals("ancestral") ? new AncestralSampler(diffusion).sample(batch, shape, 0, Progress.NONE)
          : new DdimSampler(diffusion, steps, 0.0).sample(batch, shape, 0, Progress.NONE);
      if (dev.isCuda()) Torch.cudaSynchronize(dev);
      return x.isClosed();
    }
  }
}
