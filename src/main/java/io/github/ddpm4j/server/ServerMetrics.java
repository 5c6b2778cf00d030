package io.github.ddpm4j.server;

import io.github.ddpm4j.torch.CpuCache;
import io.github.ddpm4j.torch.Torch;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.function.IntSupplier;

/**
 * The sampling server's metrics, in a Prometheus registry of their own and written in Prometheus' text format
 * by the official Java client ({@code io.prometheus:prometheus-metrics-core} and its text-format writer):
 * HTTP requests by endpoint and status code, their latency, requests that clients abandoned, the size of every
 * batch in requests and in images, the sampler's queue depth, requests in flight, LibTorch's live native
 * handles and the CPU cache's bytes. Thread-safe.
 */
final class ServerMetrics {
  /** Latency buckets, in seconds: a metrics scrape takes a millisecond, a large ancestral request a minute. */
  private static final double[] SECONDS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
  /** Batch-size buckets: powers of two up to the largest batch a server takes by default. */
  private static final double[] SIZES = {1, 2, 4, 8, 16, 32, 64, 128, 256};

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
  private final Counter requests;
  private final Histogram latency;
  private final Counter cancelled;
  private final Histogram batchRequests;
  private final Histogram batchImages;
  private final Histogram batchSeconds;

  /**
   * @param queueDepth the sampler's waiting requests, read at every scrape
   * @param inFlight the sample requests accepted and not yet answered, read at every scrape
   */
  ServerMetrics(IntSupplier queueDepth, IntSupplier inFlight) {
    requests = Counter.builder().name("ddpm4j_http_requests").help("HTTP requests answered, by endpoint and status code")
        .labelNames("endpoint", "code").register(registry);
    latency = Histogram.builder().name("ddpm4j_http_request_duration_seconds")
        .help("Time from a request's arrival to its response's being written, by endpoint").labelNames("endpoint")
        .classicOnly().classicUpperBounds(SECONDS).register(registry);
    cancelled = Counter.builder().name("ddpm4j_http_requests_cancelled")
        .help("Sample requests whose client disconnected before the answer: their work was cancelled").register(registry);
    batchRequests = Histogram.builder().name("ddpm4j_batch_requests").help("Requests per batch the sampler ran")
        .classicOnly().classicUpperBounds(SIZES).register(registry);
    batchImages = Histogram.builder().name("ddpm4j_batch_images").help("Images per batch the sampler ran")
        .classicOnly().classicUpperBounds(SIZES).register(registry);
    batchSeconds = Histogram.builder().name("ddpm4j_batch_duration_seconds").help("Wall time of each batch the sampler ran")
        .classicOnly().classicUpperBounds(SECONDS).register(registry);
    GaugeWithCallback.builder().name("ddpm4j_queue_depth").help("Sample requests waiting for a sampler worker")
        .callback(c -> c.call(queueDepth.getAsInt())).register(registry);
    GaugeWithCallback.builder().name("ddpm4j_http_requests_in_flight").help("Sample requests accepted and not yet answered")
        .callback(c -> c.call(inFlight.getAsInt())).register(registry);
    GaugeWithCallback.builder().name("ddpm4j_native_handles").help("Live native handles (tensors, generators, ...) in LibTorch")
        .callback(c -> c.call(Torch.liveHandles())).register(registry);
    GaugeWithCallback.builder().name("ddpm4j_cpu_cache_bytes")
        .help("Bytes of ddpm4j's caching CPU allocator: idle blocks kept for reuse (cached) and live tensors' blocks (allocated)")
        .labelNames("state").callback(c -> {
          CpuCache.Stats s = CpuCache.stats();
          c.call(s.cachedBytes(), "cached");
          c.call(s.allocatedBytes(), "allocated");
        }).register(registry);
  }

  /**
   * Counts an answered request.
   *
   * @param endpoint the endpoint's label ({@code samples}, {@code healthz}, {@code metrics}, {@code page}, {@code other})
   * @param code the response's status code
   * @param nanos from the request's arrival to its response's being written
   */
  void request(String endpoint, int code, long nanos) {
    requests.labelValues(endpoint, Integer.toString(code)).inc();
    latency.labelValues(endpoint).observe(nanos / 1e9);
  }

  /** Counts a sample request whose client disconnected, cancelling its work. */
  void cancelled() {
    cancelled.inc();
  }

  /**
   * Records a batch the sampler ran ({@link io.github.ddpm4j.pipeline.BatchingSampler.Listener}).
   *
   * @param requests requests in the batch
   * @param images images it sampled
   * @param nanos its wall time
   */
  void batch(int requests, int images, long nanos) {
    batchRequests.observe(requests);
    batchImages.observe(images);
    batchSeconds.observe(nanos / 1e9);
  }

  /** @return the number of sample requests cancelled by their client's disconnect so far */
  long cancelledCount() {
    return cancelled.getLongValue();
  }

  /** @return the content type of {@link #scrape()}: Prometheus' text format, version 0.0.4 */
  String contentType() {
    return writer.getContentType();
  }

  /** @return every metric, in Prometheus' text format */
  byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
    try {
      writer.write(out, registry.scrape());
    } catch (IOException e) {
      throw new UncheckedIOException("writing metrics into memory failed: " + e.getMessage(), e);
    }
    return out.toByteArray();
  }
}
