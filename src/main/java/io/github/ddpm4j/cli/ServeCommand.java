package io.github.ddpm4j.cli;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.pipeline.BatchingSampler;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.pipeline.GeneratedImages;
import io.github.ddpm4j.pipeline.SampleRequest;
import io.github.ddpm4j.server.SampleServer;
import io.github.ddpm4j.torch.Device;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ddpm4j serve}: an HTTP server that samples from a trained model on request ({@link SampleServer}).
 * Loads the model, warms it up with one small sample (with the progress bar), starts listening and prints
 * {@code ddpm4j: serving http://HOST:PORT/ ...}; SIGTERM (or Ctrl-C) answers the requests already taken, then
 * stops, and the JVM exits with the signal's status (143 for SIGTERM).
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Serve a trained model over HTTP: POST /v1/samples (JSON in, PNG out), GET /healthz, GET /metrics",
        "(Prometheus) and a page to try it at GET /. Concurrent requests with the same sampler settings share a batch."})
final class ServeCommand implements Callable<Integer> {
  /** DDIM steps of the warm-up sample (or T for a model of fewer timesteps). */
  static final int WARM_UP_STEPS = 10;

  @Mixin
  CheckpointOption model;

  @Option(names = "--host", paramLabel = "HOST", defaultValue = "127.0.0.1",
      description = "Address to listen on; 0.0.0.0 for every interface (default: ${DEFAULT-VALUE}: this machine only).")
  String host;

  @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080", description = "TCP port; 0 takes a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--max-images", paramLabel = "N", defaultValue = "" + SampleServer.DEFAULT_MAX_IMAGES,
      description = "Most images one request may ask for (default: ${DEFAULT-VALUE}).")
  int maxImages;

  @Option(names = "--batch-window", paramLabel = "MS", defaultValue = "5",
      description = "Milliseconds the first request of a batch waits for others to join (default: ${DEFAULT-VALUE}).")
  long batchWindow;

  @Option(names = "--max-batch-images", paramLabel = "N", defaultValue = "64",
      description = "Most images in one batch; a larger request runs alone (default: ${DEFAULT-VALUE}).")
  int maxBatchImages;

  @Option(names = "--queue-capacity", paramLabel = "N", defaultValue = "256",
      description = "Most requests waiting for a worker; more get 503 with Retry-After (default: ${DEFAULT-VALUE}).")
  int queueCapacity;

  @Option(names = "--workers", paramLabel = "N", defaultValue = "1",
      description = "Threads that run batches, each with LibTorch's --threads (default: ${DEFAULT-VALUE}).")
  int workers;

  @Option(names = "--no-batching", description = "Run every request alone (for comparison; --batch-window and --max-batch-images then do nothing).")
  boolean noBatching;

  @Option(names = "--drain-timeout", paramLabel = "S", defaultValue = "60",
      description = "Seconds that SIGTERM waits for the requests already taken before stopping (default: ${DEFAULT-VALUE}).")
  long drainTimeout;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    if (port < 0 || port > 65535) throw new InvalidSettingException("{port=} must be in 0..65535 (0: a free port)", port);
    if (maxImages < 1 || maxImages > SampleRequest.MAX_IMAGES) {
      throw new InvalidSettingException("{maxImages=} must be in 1..{}", maxImages, SampleRequest.MAX_IMAGES);
    }
    if (batchWindow < 0) throw new InvalidSettingException("{batchWindow=} must be >= 0", batchWindow);
    if (maxBatchImages < 1) throw new InvalidSettingException("{maxBatchImages=} must be >= 1", maxBatchImages);
    if (queueCapacity < 1) throw new InvalidSettingException("{queueCapacity=} must be >= 1", queueCapacity);
    if (workers < 1) throw new InvalidSettingException("{workers=} must be >= 1", workers);
    if (drainTimeout < 0) throw new InvalidSettingException("{drainTimeout=} must be >= 0", drainTimeout);
    BatchingSampler.Options batching = new BatchingSampler.Options(Duration.ofMillis(batchWindow), maxBatchImages, queueCapacity, workers);
    if (noBatching) batching = batching.unbatched();
    Device device = common.apply();
    CountDownLatch finished = new CountDownLatch(1);
    try {
      boolean drained = serve(device, batching, finished);
      common.report(drained ? "stopped serving: every request taken was answered"
          : "stopped serving after --drain-timeout=" + drainTimeout + " s with requests unanswered");
    } finally {
      finished.countDown();
    }
    return 0;
  }

  /**
   * Serves until the server is shut down (by the shutdown hook it registers), then closes the model.
   *
   * @return whether every request taken was answered
   */
  private boolean serve(Device device, BatchingSampler.Options batching, CountDownLatch finished) throws Exception {
    try (DDPMPipeline pipeline = DDPMPipeline.fromCheckpoint(model.checkpoint, device)) {
      warmUp(pipeline);
      SampleServer server = SampleServer.start(pipeline, batching, new SampleServer.Options(host, port, maxImages, common.seed));
      // SIGTERM or Ctrl-C: drain, then let this thread close the model and say so before the JVM halts
      Runtime.getRuntime().addShutdownHook(new Thread(() -> {
        server.shutdown(Duration.ofSeconds(drainTimeout));
        try {
          finished.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "ddpm4j-serve-stop"));
      boolean drained;
      try {
        common.report("serving " + server.uri() + " (" + model.checkpoint + " on " + device + "; " + describe(batching) + ")");
        server.awaitTermination();
      } finally {
        drained = server.shutdown(Duration.ofSeconds(drainTimeout));
      }
      return drained;
    }
  }

  /** Samples one small DDIM batch with the progress bar, so that the first request finds LibTorch warm. */
  private void warmUp(DDPMPipeline pipeline) {
    int steps = Math.min(WARM_UP_STEPS, pipeline.config().timesteps());
    try (ConsoleProgress bar = common.progress("warm-up", steps);
         GeneratedImages images = pipeline.sample(SampleRequest.ddim(1, common.seed, steps), (Progress) bar::step)) {
      images.size();
    }
  }

  private static String describe(BatchingSampler.Options b) {
    return b.batching()
        ? "batching up to " + b.maxBatchImages() + " images within " + b.window().toMillis() + " ms, " + b.queueCapacity() + " requests may wait, "
            + b.workers() + (b.workers() == 1 ? " worker" : " workers")
        : "no batching, " + b.queueCapacity() + " requests may wait, " + b.workers() + (b.workers() == 1 ? " worker" : " workers");
  }
}
