package io.github.ddpm4j.pipeline;

import io.github.ddpm4j.diffusion.Sampler;
import io.github.ddpm4j.diffusion.StepObserver;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Request batching over a {@link DDPMPipeline}: concurrent requests with the same sampler settings (sampler,
 * inference steps, eta; the image shape is the pipeline's) that arrive within a short window run as one
 * batched reverse loop, so that N users cost about one loop's forward passes, not N. Each request's noise
 * comes from its own seed ({@link Sampler#sample(List, long[], long[], StepObserver)}), so its images do not
 * depend on who it was batched with beyond the float rounding of the batched forward pass.
 *
 * <p>The queue is bounded: {@link #submit} rejects a request at once with {@link RejectedExecutionException}
 * when {@link Options#queueCapacity()} requests wait, never leaving it waiting without end. A batch holds at
 * most {@link Options#maxBatchImages()} images (a larger request runs alone). The model work runs on
 * {@link Options#workers()} platform threads of the sampler's own (native calls would pin virtual threads).
 *
 * <p>Cancelling a request's future ({@code future.cancel(true)}, e.g. when its client disconnects) drops it
 * from the queue, or from its batch's result; a batch whose requests are all cancelled stops after the current
 * step. Thread-safe: any thread may submit.
 */
public final class BatchingSampler implements AutoCloseable {
  /**
   * How requests are batched.
   *
   * @param window how long the first request of a batch waits for compatible ones to join, &gt;= 0 (0: it takes
   *     only what is already queued)
   * @param maxBatchImages most images in one batch, &gt;= 1; 1 turns batching off (each request runs alone)
   * @param queueCapacity most requests waiting, &gt;= 1; more are rejected
   * @param workers threads running batches, &gt;= 1
   */
  public record Options(Duration window, int maxBatchImages, int queueCapacity, int workers) {
    /**
     * @throws IllegalArgumentException naming the field when out of range
     * @throws NullPointerException if {@code window} is null
     */
    public Options {
      Objects.requireNonNull(window, "window");
      if (window.isNegative()) throw new IllegalArgumentException("window = " + window + " must be >= 0");
      if (maxBatchImages < 1) throw new IllegalArgumentException("maxBatchImages = " + maxBatchImages + " must be >= 1");
      if (queueCapacity < 1) throw new IllegalArgumentException("queueCapacity = " + queueCapacity + " must be >= 1");
      if (workers < 1) throw new IllegalArgumentException("workers = " + workers + " must be >= 1");
    }

    /** @return a 5 ms window, at most 64 images a batch, 256 waiting requests, one worker */
    public static Options defaults() {
      return new Options(Duration.ofMillis(5), 64, 256, 1);
    }

    /** @return these options with batching off: every request runs alone */
    public Options unbatched() {
      return new Options(Duration.ZERO, 1, queueCapacity, workers);
    }

    /** @return whether requests may share a batch */
    public boolean batching() {
      return maxBatchImages > 1;
    }
  }

  /** Told about every batch, on the worker that ran it (for metrics). */
  @FunctionalInterface
  public interface Listener {
    /**
     * @param requests requests in the batch (cancelled ones included)
     * @param images images the batch sampled
     * @param nanos the batch's wall time, in nanoseconds
     */
    void batchDone(int requests, int images, long nanos);
  }

  /** A queued request and the future of its images. */
  private record Pending(SampleRequest request, CompletableFuture<GeneratedImages> future) {
    boolean joins(SampleRequest other) {
      return request.sampler() == other.sampler() && request.numInferenceSteps() == other.numInferenceSteps()
          && Double.compare(request.eta(), other.eta()) == 0 && request.classLabel() == other.classLabel()
          && Double.compare(request.guidanceScale(), other.guidanceScale()) == 0;
    }
  }

  private final DDPMPipeline pipeline;
  private final Options options;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition arrived = lock.newCondition();
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  private final List<Thread> workers = new ArrayList<>();
  private volatile Listener listener = (requests, images, nanos) -> {};
  private boolean shutdown;

  /**
   * Starts the workers.
   *
   * @param pipeline the model to sample from; stays open while this sampler runs (closing this does not close it)
   * @param options the batching settings
   * @throws NullPointerException if an argument is null
   */
  public BatchingSampler(DDPMPipeline pipeline, Options options) {
    this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
    this.options = Objects.requireNonNull(options, "options");
    for (int i = 0; i < options.workers(); i++) {
      Thread t = Thread.ofPlatform().name("ddpm4j-sampler-" + i).daemon(true).unstarted(this::work);
      workers.add(t);
      t.start();
    }
  }

  /**
   * Queues a request.
   *
   * @param request the images to make
   * @return their future: completes with the images (the caller closes them), or exceptionally as the
   *     pipeline's {@link DDPMPipeline#sample} would fail
   * @throws RejectedExecutionException at once when the queue is full or the sampler is closed
   * @throws io.github.ddpm4j.io.InvalidSettingException naming {@code samplingSteps} when the request asks for
   *     more DDIM steps than the model's T
   * @throws IllegalArgumentException when the request asks for a class of an unconditional model or one the
   *     model does not have
   * @throws NullPointerException if {@code request} is null
   */
  public CompletableFuture<GeneratedImages> submit(SampleRequest request) {
    Objects.requireNonNull(request, "request");
    request.samplerOptions().check(pipeline.config().timesteps());
    pipeline.checkClass(request);
    Pending p = new Pending(request, new CompletableFuture<>());
    lock.lock();
    try {
      if (shutdown) throw new RejectedExecutionException("the sampler is shutting down");
      if (queue.size() >= options.queueCapacity()) {
        throw new RejectedExecutionException("the queue is full (" + options.queueCapacity() + " requests wait)");
      }
      queue.addLast(p);
      arrived.signalAll();
    } finally {
      lock.unlock();
    }
    return p.future();
  }

  /** @return requests waiting for a worker */
  public int queueDepth() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  /** @return the batching settings */
  public Options options() {
    return options;
  }

  /** @param listener told about every batch (replaces the previous one) */
  public void setListener(Listener listener) {
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  private void work() {
    while (true) {
      List<Pending> batch = next();
      if (batch == null) return;
      run(batch);
    }
  }

  /** @return the next batch, or null once shut down with nothing queued */
  private List<Pending> next() {
    lock.lock();
    try {
      Pending first;
      while (true) {
        while (queue.isEmpty() && !shutdown) arrived.awaitUninterruptibly();
        first = queue.pollFirst();
        if (first == null) return null;
        if (!first.future().isDone()) break;
      }
      List<Pending> batch = new ArrayList<>(List.of(first));
      int images = first.request().numImages();
      long deadline = System.nanoTime() + options.window().toNanos();
      while (options.batching() && images < options.maxBatchImages()) {
        for (Iterator<Pending> it = queue.iterator(); it.hasNext() && images < options.maxBatchImages(); ) {
          Pending p = it.next();
          if (p.future().isDone()) {
            it.remove();
          } else if (first.joins(p.request()) && images + p.request().numImages() <= options.maxBatchImages()) {
            it.remove();
            batch.add(p);
            images += p.request().numImages();
          }
        }
        long left = deadline - System.nanoTime();
        if (left <= 0 || shutdown || images >= options.maxBatchImages()) break;
        try {
          arrived.awaitNanos(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      return batch;
    } finally {
      lock.unlock();
    }
  }

  private void run(List<Pending> batch) {
    long start = System.nanoTime();
    int images = 0;
    for (Pending p : batch) images += p.request().numImages();
    List<Generator> generators = new ArrayList<>(batch.size());
    try {
      List<GeneratedImages> results = pipeline.run(() -> {
        try (Scope scope = Scope.open()) {
          long[] counts = new long[batch.size()];
          for (int i = 0; i < batch.size(); i++) {
            generators.add(new Generator(batch.get(i).request().seed(), pipeline.device()));
            counts[i] = batch.get(i).request().numImages();
          }
          Sampler sampler = batch.get(0).request().samplerOptions().create(pipeline.diffusion(batch.get(0).request()));
          StepObserver stopWhenAllCancelled = step -> {
            if (batch.stream().allMatch(p -> p.future().isDone())) throw new CancellationException("every request of the batch was cancelled");
          };
          Tensor x = sampler.sample(generators, counts, pipeline.imageShape(), stopWhenAllCancelled);
          pipeline.requireFinite(x);
          List<GeneratedImages> out = new ArrayList<>(batch.size());
          long offset = 0;
          for (long c : counts) {
            out.add(new GeneratedImages(Scope.release(x.narrow(0, offset, c))));
            offset += c;
          }
          return out;
        }
      });
      for (int i = 0; i < batch.size(); i++) {
        if (!batch.get(i).future().complete(results.get(i))) results.get(i).close(); // cancelled meanwhile
      }
    } catch (RuntimeException | Error e) {
      for (Pending p : batch) p.future().completeExceptionally(e);
    } finally {
      generators.forEach(Generator::close);
      listener.batchDone(batch.size(), images, System.nanoTime() - start);
    }
  }

  /**
   * Stops taking requests, runs the queued ones (draining), and waits for the workers to finish.
   * Idempotent; does not close the pipeline.
   */
  @Override
  public void close() {
    try {
      close(Duration.ofNanos(Long.MAX_VALUE));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Like {@link #close()}, waiting at most {@code timeout} for the queued and running requests.
   *
   * @param timeout how long to wait
   * @return whether every worker finished in time
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public boolean close(Duration timeout) throws InterruptedException {
    lock.lock();
    try {
      shutdown = true;
      arrived.signalAll();
    } finally {
      lock.unlock();
    }
    long start = System.nanoTime(), budget = timeout.toNanos(); // saturates at Long.MAX_VALUE
    for (Thread t : workers) {
      long left = budget - (System.nanoTime() - start);
      if (left <= 0 || !t.join(Duration.ofNanos(left))) return false;
    }
    return true;
  }
}
