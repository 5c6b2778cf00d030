package io.github.ddpm4j.bench;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.optim.AdamOptions;
import io.github.ddpm4j.torch.Autocast;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Precision;
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
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * Workloads (c) and (d) at 32x32: one UNet forward pass (a sampling step) in
 * inference mode, and one training step (forward, MSE loss, backward, Adam,
 * zero_grad) at batch 64, for the two configurations of {@link BenchModels}.
 * The same as bench/python/ddpm_bench.py and bench/cpp/ddpm_bench.cpp do.
 *
 * <p>The forward pass runs in JMH's sample mode: calls follow each other for a
 * second per iteration and each call is timed, as the baselines' loops time
 * their repetitions. In single-shot mode, every call is an iteration of its
 * own that JMH's control thread starts and collects; at batch 1 (about 10 ms)
 * Java's median then moved by up to 35% between runs, against a few percent
 * for the C++ loop and for a plain Java loop. The training step (seconds)
 * stays single-shot: one call per iteration.
 */
@State(Scope.Thread)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class UNetBenchmark {
  /** {@code cpu-default} or {@code seed}. */
  @Param({"cpu-default", "seed"})
  public String config;

  /** Images per call. */
  @Param({"1", "16"})
  public int batch;

  /** LibTorch intra-op threads. */
  @Param("2")
  public int threads;

  /** {@code cpu} or {@code cuda}. */
  @Param("cpu")
  public String device;

  /** {@code fp32}, or autocast with {@code bf16} (CPU, CUDA) or {@code fp16} (CUDA). */
  @Param("fp32")
  public String precision;

  /** {@code contiguous} or {@code channels_last}: the layout of the model's 4-d weights and its input. */
  @Param("contiguous")
  public String memoryFormat;

  private Precision prec;

  private Device dev;
  private UNet model;
  private Adam adam;
  private Tensor x;
  private Tensor t;
  private Tensor noise;

  /**
   * Builds the model and the inputs with seed 0, then runs the benchmarked Java
   * code until the JIT has compiled it: the single-shot training steps are too few for
   * that, and the baselines have no such warm-up to pay. The warm-up uses
   * batch 1, since the Java path is the same for every batch size.
   *
   * @param params which benchmark method runs
   */
  @Setup
  public void setup(BenchmarkParams params) {
    dev = Device.parse(device);
    model = BenchModels.model(config, dev, threads);
    UNetConfig c = model.config();
    prec = Precision.parse(precision);
    boolean channelsLast = switch (memoryFormat) {
      case "contiguous" -> false;
      case "channels_last" -> true;
      default -> throw new IllegalArgumentException("memoryFormat must be contiguous or channels_last, got " + memoryFormat);
    };
    if (channelsLast) model.to(MemoryFormat.CHANNELS_LAST);
    adam = new Adam(model.parameters(), AdamOptions.adam(2e-5));
    long[] shape = {batch, c.imageChannels(), BenchModels.IMAGE_SIZE, BenchModels.IMAGE_SIZE};
    x = Torch.randn(shape, DType.FLOAT32, dev, null);
    t = Torch.randint(0, 1000, new long[] {batch}, dev, null);
    noise = Torch.randn(shape, DType.FLOAT32, dev, null);
    jitWarmup(c, params.getBenchmark().endsWith("trainStep"));
  }

  private void jitWarmup(UNetConfig c, boolean train) {
    int rounds = config.equals("seed") ? 20 : 200;
    long[] one = {1, c.imageChannels(), BenchModels.IMAGE_SIZE, BenchModels.IMAGE_SIZE};
    try (io.github.ddpm4j.torch.Scope s = io.github.ddpm4j.torch.Scope.open()) {
      Tensor x1 = Torch.randn(one, DType.FLOAT32, dev, null);
      Tensor t1 = Torch.randint(0, 1000, new long[] {1}, dev, null);
      for (int i = 0; i < rounds; i++) {
        try (io.github.ddpm4j.torch.Scope step = io.github.ddpm4j.torch.Scope.open()) {
          if (train) {
            model.train(true);
            lossOf(x1, t1, x1).backward();
            model.zeroGrad();
          } else {
            model.eval();
            try (GradMode g = GradMode.inferenceMode(); Autocast ac = prec.autocast()) {
              model.forward(x1, t1);
            }
          }
        }
      }
    }
  }

  /** The forward pass and the loss in the benchmark's precision (the backward pass runs outside autocast). */
  private Tensor lossOf(Tensor input, Tensor steps, Tensor target) {
    try (Autocast ac = prec.autocast()) {
      return Functional.mseLoss(model.forward(input, steps), target, Functional.Reduction.MEAN);
    }
  }

  /** Frees everything. */
  @TearDown
  public void tearDown() {
    x.close();
    t.close();
    noise.close();
    adam.close();
    model.close();
  }

  private void sync() {
    if (dev.isCuda()) Torch.cudaSynchronize(dev);
  }

  /**
   * (c) {@code eps = model(x, t)} in inference mode, evaluation mode (no dropout).
   *
   * @return the closed output's state, so the work is not eliminated
   */
  @Benchmark
  @BenchmarkMode(Mode.SampleTime)
  @Warmup(iterations = 2, time = 1)
  @Measurement(iterations = 5, time = 1)
  public boolean forward() {
    model.eval();
    try (GradMode g = GradMode.inferenceMode(); Autocast ac = prec.autocast(); Tensor eps = model.forward(x, t)) {
      sync();
      return eps.isClosed();
    }
  }

  /**
   * (d) One optimizer step: forward in training mode, MSE against the noise, backward, Adam, zero_grad.
   * Run it with {@code -p batch=64}.
   */
  @Benchmark
  @BenchmarkMode(Mode.SingleShotTime)
  @Warmup(iterations = 2)
  @Measurement(iterations = 5)
  public void trainStep() {
    model.train(true);
    try (io.github.ddpm4j.torch.Scope s = io.github.ddpm4j.torch.Scope.open()) {
      lossOf(x, t, noise).backward();
      adam.step();
      adam.zeroGrad();
      sync();
    }
  }
}
