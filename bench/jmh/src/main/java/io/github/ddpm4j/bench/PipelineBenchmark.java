package io.github.ddpm4j.bench;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.pipeline.GeneratedImages;
import io.github.ddpm4j.pipeline.SampleRequest;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * One call of the public pipeline, as a service makes it: {@link DDPMPipeline#sample} with DDIM
 * ({@code steps} steps, eta 0) for {@code batch} images of the benchmark model (32x32), loaded through
 * {@link DDPMPipeline#fromStateDict} from the weights {@link BenchModels#model} builds. The whole call is
 * timed: the request's generator, {@code x_T}, every step, the finiteness check. bench/python's
 * {@code --workload sample} runs the same loop in PyTorch. Single-shot: one call per iteration.
 */
@State(org.openjdk.jmh.annotations.Scope.Thread)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class PipelineBenchmark {
  /** {@code cpu-default} or {@code seed}. */
  @Param("cpu-default")
  public String config;

  /** DDIM steps. */
  @Param("50")
  public int steps;

  /** Images per call. */
  @Param("1")
  public int batch;

  /** LibTorch intra-op threads. */
  @Param("2")
  public int threads;

  /** {@code cpu} or {@code cuda}. */
  @Param("cpu")
  public String device;

  private DDPMPipeline pipeline;

  /**
   * Saves the benchmark model's weights and loads them as a pipeline.
   *
   * @throws IOException if the temporary weights cannot be written or read
   */
  @Setup
  public void setup() throws IOException {
    Path weights = Files.createTempFile("ddpm4j-bench", ".safetensors");
    TrainConfig d = TrainConfig.defaults();
    TrainConfig c = new TrainConfig(d.data(), BenchModels.IMAGE_SIZE, d.limit(), d.flip(), BenchModels.config(config), d.schedule(),
        d.timesteps(), d.betaStart(), d.betaEnd(), d.batchSize(), d.trainSteps(), d.lr(), d.warmupSteps(), d.gradClip(), d.emaDecay(),
        d.emaWarmup(), d.seed(), d.precision());
    try (UNet model = BenchModels.model(config, Device.CPU, threads)) {
      StateDict.saveSafetensors(model.stateDict(), weights);
      pipeline = DDPMPipeline.fromStateDict(weights, c, Device.parse(device));
    } finally {
      Files.deleteIfExists(weights);
    }
  }

  /** Frees the pipeline. */
  @TearDown
  public void tearDown() {
    pipeline.close();
  }

  /**
   * One pipeline call.
   *
   * @return the number of images, so the work is not eliminated
   */
  @Benchmark
  @Warmup(iterations = 1)
  @Measurement(iterations = 3)
  public int sample() {
    try (GeneratedImages images = pipeline.sample(SampleRequest.ddim(batch, 0, steps))) {
      return images.size();
    }
  }
}
