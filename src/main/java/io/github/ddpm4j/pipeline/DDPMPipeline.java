package io.github.ddpm4j.pipeline;

import io.github.ddpm4j.diffusion.ClassifierFreeGuidance;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.Sampler;
import io.github.ddpm4j.diffusion.StepObserver;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.nn.StateDictMismatchException;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * A trained DDPM ready to sample from: the UNet {@code epsTheta} and its noise schedule on one device, as
 * diffusers' {@code DDPMPipeline} bundles a UNet and a scheduler. Load it from a {@code ddpm4j train}
 * checkpoint ({@link #fromCheckpoint}, its EMA weights) or from a bare state dict and a configuration
 * ({@link #fromStateDict}); call {@link #sample(SampleRequest)}; close it to free the model.
 *
 * <pre>{@code
 * try (DDPMPipeline pipeline = DDPMPipeline.fromCheckpoint(Path.of("runs/fashion-mnist/checkpoint.pt"), Device.CPU);
 *      GeneratedImages images = pipeline.sample(SampleRequest.ddim(16, 42, 50))) {
 *   Files.write(Path.of("grid.png"), images.gridPng());
 * }
 * }</pre>
 *
 * <p><b>Thread safety.</b> A pipeline is safe for use by any number of threads at once, platform or virtual.
 * Sampling never changes shared state: the model's weights are only read, evaluation mode (no dropout) holds
 * for the sampling thread alone ({@link io.github.ddpm4j.nn.EvalMode}), and every call draws its noise from
 * a generator of its own, seeded by its request. So a request gives the same images whatever else runs
 * (bit-identical on the CPU; tested with eight threads). {@link #close()} waits for the calls in flight, and
 * later calls throw {@link IllegalStateException}. LibTorch's intra-op threads are shared by all calls
 * ({@link io.github.ddpm4j.torch.Torch#setNumThreads}). Native calls pin a virtual thread to its carrier, so a
 * server does well to run calls on a bounded pool of platform threads.
 *
 * <p><b>Progress and cancellation.</b> {@link #sample(SampleRequest, StepObserver)} reports every step to
 * the call's observer, on the calling thread. Interrupting the calling thread (as {@code Future.cancel(true)}
 * does) stops the call after the current step with {@link java.util.concurrent.CancellationException}, its
 * tensors freed; so does an exception thrown by the observer, which the call rethrows.
 */
public final class DDPMPipeline implements AutoCloseable {
  private final UNet unet;
  private final NoiseSchedule scheduler;
  private final TrainConfig config;
  private final Device device;
  private final String source;
  private final GaussianDiffusion diffusion;
  private final ReentrantReadWriteLock life = new ReentrantReadWriteLock();
  private boolean closed;

  private DDPMPipeline(UNet unet, TrainConfig config, Device device, String source) {
    this.unet = unet;
    this.config = config;
    this.device = device;
    this.source = source;
    this.scheduler = config.noiseSchedule(device);
    this.diffusion = new GaussianDiffusion(unet, scheduler, config.prediction());
  }

  /**
   * Loads the EMA weights of a {@code ddpm4j train} checkpoint, refusing weights that are NaN or infinite.
   *
   * @param checkpoint a file written by {@code ddpm4j train} (or {@link io.github.ddpm4j.train.Trainer})
   * @param device where the model runs
   * @return the pipeline
   * @throws java.nio.file.NoSuchFileException if the file does not exist
   * @throws IOException if the checkpoint is corrupt or not a ddpm4j checkpoint, its weights do not fit its
   *     configuration, or a weight is NaN or infinite (the message names the file and the first such entry)
   * @throws NullPointerException if an argument is null
   */
  public static DDPMPipeline fromCheckpoint(Path checkpoint, Device device) throws IOException {
    Objects.requireNonNull(device, "device");
    try (Checkpoint.Contents ck = Checkpoint.read(checkpoint)) {
      Checkpoint.WeightStats w = Checkpoint.weightStats(ck.entries(), Checkpoint.EMA);
      if (!w.allFinite()) {
        throw new IOException(checkpoint + ": non-finite weights: " + w.nonFinite() + " of " + w.values() + " " + Checkpoint.EMA
            + "* values are NaN or infinite, the first in " + w.firstNonFinite() + " (the run diverged; an earlier checkpoint may be sound)");
      }
      return load(ck.ema(), ck.config(), device, checkpoint.toString(), "its " + Checkpoint.EMA + "* weights");
    }
  }

  /**
   * Loads a bare state dict (PyTorch's {@code torch.save} format or safetensors) with the UNet's keys, for a
   * model that {@code config} describes.
   *
   * @param weights the state dict file
   * @param config the configuration the weights were trained with (its model, image size and schedule)
   * @param device where the model runs
   * @return the pipeline
   * @throws java.nio.file.NoSuchFileException if the file does not exist
   * @throws IOException if the file is corrupt, or its keys or shapes do not fit the UNet of {@code config}
   * @throws NullPointerException if an argument is null
   */
  public static DDPMPipeline fromStateDict(Path weights, TrainConfig config, Device device) throws IOException {
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(device, "device");
    try (StateDict sd = StateDict.load(weights)) {
      return load(sd, config, device, weights.toString(), "its weights");
    }
  }

  private static DDPMPipeline load(Map<String, Tensor> weights, TrainConfig config, Device device, String source, String what)
      throws IOException {
    UNet model = new UNet(config.model());
    try {
      try {
        model.loadStateDict(weights, true);
      } catch (StateDictMismatchException e) {
        throw new IOException(source + ": " + what + " do not fit the UNet its configuration describes: " + e.getMessage(), e);
      }
      model.to(device);
      model.eval();
      return new DDPMPipeline(model, config, device, source);
    } catch (RuntimeException | IOException e) {
      model.close();
      throw e;
    }
  }

  /**
   * Generates images ({@code DDPMPipeline.__call__}): {@code x_T ~ N(0, I)} from the request's seed, then the
   * request's sampler down to {@code x_0}.
   *
   * @param request how many images, the seed and the sampler
   * @return the images; the caller closes them
   * @throws io.github.ddpm4j.io.InvalidSettingException naming {@code samplingSteps} if the request asks for
   *     more DDIM steps than the model's T
   * @throws java.util.concurrent.CancellationException if the calling thread is interrupted while sampling
   * @throws IllegalStateException if the pipeline is closed, or the model made NaN or infinite values (its
   *     weights diverged; the message names the checkpoint)
   * @throws IllegalArgumentException if the request asks for a class ({@link SampleRequest#withClass}) of an
   *     unconditional model or one the model does not have
   * @throws NullPointerException if {@code request} is null
   */
  public GeneratedImages sample(SampleRequest request) {
    return sample(request, step -> {});
  }

  /**
   * {@link #sample(SampleRequest)}, telling {@code observer} after every step.
   *
   * @param request how many images, the seed and the sampler
   * @param observer told after every step, on the calling thread; an exception it throws ends the call
   * @return the images; the caller closes them
   * @throws io.github.ddpm4j.io.InvalidSettingException naming {@code samplingSteps} if the request asks for
   *     more DDIM steps than the model's T
   * @throws java.util.concurrent.CancellationException if the calling thread is interrupted while sampling
   * @throws IllegalStateException if the pipeline is closed, or the model made NaN or infinite values
   * @throws IllegalArgumentException if the request asks for a class of an unconditional model or one the model
   *     does not have
   * @throws NullPointerException if an argument is null
   */
  public GeneratedImages sample(SampleRequest request, StepObserver observer) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(observer, "observer");
    checkClass(request);
    return run(() -> {
      Sampler sampler = request.samplerOptions().create(diffusion(request));
      try (Scope scope = Scope.open()) {
        Tensor x = sampler.sample(request.numImages(), imageShape(), request.seed(), observer);
        requireFinite(x);
        return new GeneratedImages(Scope.release(x));
      }
    });
  }

  /**
   * Runs work on this pipeline's model, holding it open: {@link #close()} waits for it.
   *
   * @param work what to run
   * @return its result
   * @throws IllegalStateException if the pipeline is closed
   */
  <T> T run(java.util.function.Supplier<T> work) {
    life.readLock().lock();
    try {
      if (closed) throw new IllegalStateException("this DDPMPipeline (" + source + ") is closed");
      return work.get();
    } finally {
      life.readLock().unlock();
    }
  }

  /**
   * Checks images this model made before they are used: finite weights can still be large enough (a
   * diverging run, |w| near 1e37) that every forward pass overflows. {@link #sample} checks its own.
   *
   * @param images what a sampler returned, floating point, any shape
   * @throws IllegalStateException naming the checkpoint if a value is NaN or infinite
   */
  public void requireFinite(Tensor images) {
    try (Scope scope = Scope.open()) {
      long bad = images.numel() - images.isfinite().sum().itemLong();
      if (bad > 0) {
        throw new IllegalStateException(source + ": the model made images with NaN or infinite values (" + bad + " of "
            + images.numel() + "); its weights are diverged or too large (see 'ddpm4j info --checkpoint " + source
            + "'); no image written");
      }
    }
  }

  /** @return the model {@code epsTheta}, in evaluation mode; shared, so change it only when no call runs */
  public UNet unet() {
    return unet;
  }

  /**
   * Checks a request's class against the model.
   *
   * @param request a request
   * @throws IllegalArgumentException if it asks for a class of an unconditional model, or for a class outside
   *     0..numClasses-1 (the message gives the valid range)
   */
  void checkClass(SampleRequest request) {
    if (!request.hasClass()) return;
    int k = unet.numClasses();
    if (k == 0) {
      throw new IllegalArgumentException("class " + request.classLabel() + " asked of an unconditional model (" + source
          + " was trained without class labels)");
    }
    if (request.classLabel() >= k) {
      throw new IllegalArgumentException("class " + request.classLabel() + " is out of range: the model's classes are 0.." + (k - 1));
    }
  }

  /**
   * @param request a request
   * @return the diffusion its sampler runs: the model's, or with a class, the model under classifier-free guidance
   *     ({@link ClassifierFreeGuidance}) with the request's class and scale
   */
  GaussianDiffusion diffusion(SampleRequest request) {
    if (!request.hasClass()) return diffusion;
    return diffusion.withEpsModel(new ClassifierFreeGuidance(unet, new long[] {request.classLabel()}, request.guidanceScale()));
  }

  /** @return the noise schedule (diffusers' scheduler holds the same betas and alphaBar) */
  public NoiseSchedule scheduler() {
    return scheduler;
  }

  /**
   * @return the model and schedule, as the samplers take them, reading the model's output by the prediction type
   *     of its configuration ({@link TrainConfig#prediction()})
   */
  public GaussianDiffusion diffusion() {
    return diffusion;
  }

  /** @return the configuration the model was trained with */
  public TrainConfig config() {
    return config;
  }

  /** @return the device the model is on */
  public Device device() {
    return device;
  }

  /** @return {@code [channels, height, width]} of the images this model makes */
  public long[] imageShape() {
    return new long[] {config.model().imageChannels(), config.imageSize(), config.imageSize()};
  }

  /** @return the file the model was loaded from */
  public String source() {
    return source;
  }

  /** Waits for the calls in flight, then frees the model and the schedule; idempotent. */
  @Override
  public void close() {
    life.writeLock().lock();
    try {
      if (closed) return;
      closed = true;
      unet.close();
      scheduler.close();
    } finally {
      life.writeLock().unlock();
    }
  }
}
