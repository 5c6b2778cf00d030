package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.NoiseSchedule;
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

/**
 * A trained UNet and its noise schedule, rebuilt from a checkpoint.
 *
 * @param file the checkpoint it was read from
 * @param config the run's configuration
 * @param model the UNet in evaluation mode, on the requested device
 * @param schedule the run's noise schedule
 */
record LoadedModel(Path file, TrainConfig config, UNet model, NoiseSchedule schedule) implements AutoCloseable {
  /**
   * Loads a model to sample from, refusing weights that are not all finite.
   *
   * @param checkpoint a file written by {@code ddpm4j train}
   * @param device where to place the model
   * @param ema load the EMA weights (true, what sampling should use) or the raw trained ones
   * @return the model
   * @throws IOException if the checkpoint is missing, corrupt or not a ddpm4j checkpoint, or if a
   *     weight it loads is NaN or infinite (the message names the file and the first such entry)
   */
  static LoadedModel open(Path checkpoint, Device device, boolean ema) throws IOException {
    return open(checkpoint, device, ema, true);
  }

  /**
   * @param checkpoint a file written by {@code ddpm4j train}
   * @param device where to place the model
   * @param ema load the EMA weights or the raw trained ones
   * @param requireFinite refuse weights that are NaN or infinite (false to describe a diverged run)
   * @return the model
   * @throws IOException if the checkpoint is missing, corrupt or not a ddpm4j checkpoint, or (with
   *     {@code requireFinite}) holds a non-finite weight
   */
  static LoadedModel open(Path checkpoint, Device device, boolean ema, boolean requireFinite) throws IOException {
    try (StateDict ck = Checkpoint.open(checkpoint)) {
      TrainConfig config = Checkpoint.config(ck);
      String prefix = ema ? "ema." : "model.";
      if (requireFinite) {
        Checkpoint.WeightStats w = Checkpoint.weightStats(ck, prefix);
        if (!w.allFinite()) {
          throw new IOException(checkpoint + ": non-finite weights: " + w.nonFinite() + " of " + w.values() + " " + prefix
              + "* values are NaN or infinite, the first in " + w.firstNonFinite() + " (the run diverged; an earlier checkpoint may be sound)");
        }
      }
      UNet model = new UNet(config.model());
      try {
        try {
          model.loadStateDict(Checkpoint.weights(ck, prefix), true);
        } catch (StateDictMismatchException e) {
          throw new IOException(checkpoint + ": its " + prefix + "* weights do not fit the UNet its configuration "
              + "describes: " + e.getMessage(), e);
        }
        model.to(device);
        model.eval();
        return new LoadedModel(checkpoint, config, model, config.noiseSchedule(device));
      } catch (RuntimeException | IOException e) {
        model.close();
        throw e;
      }
    }
  }

  /**
   * Checks images this model made before they are written: finite weights can still be large enough
   * (a diverging run, |w| near 1e37) that every forward pass overflows.
   *
   * @param images what a sampler returned
   * @throws IOException naming the checkpoint if a value is NaN or infinite
   */
  void requireFinite(Tensor images) throws IOException {
    try (Scope scope = Scope.open()) {
      long bad = images.numel() - images.isfinite().sum().itemLong();
      if (bad > 0) {
        throw new IOException(file + ": the model made images with NaN or infinite values (" + bad + " of " + images.numel()
            + "); its weights are diverged or too large (see 'ddpm4j info --checkpoint " + file + "'); no image written");
      }
    }
  }

  /** @return a diffusion over this model with the seed's fixed-large variance */
  GaussianDiffusion diffusion() {
    return new GaussianDiffusion(model, schedule);
  }

  /** @return {@code [channels, size, size]} of the images this model makes */
  long[] imageShape() {
    return new long[] {config.model().imageChannels(), config.imageSize(), config.imageSize()};
  }

  @Override
  public void close() {
    model.close();
    schedule.close();
  }
}
