package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.nn.StateDictMismatchException;
import io.github.ddpm4j.nn.serialize.StateDict;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainConfig;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A trained UNet and its noise schedule, rebuilt from a checkpoint.
 *
 * @param config the run's configuration
 * @param model the UNet in evaluation mode, on the requested device
 * @param schedule the run's noise schedule
 */
record LoadedModel(TrainConfig config, UNet model, NoiseSchedule schedule) implements AutoCloseable {
  /**
   * @param checkpoint a file written by {@code ddpm4j train}
   * @param device where to place the model
   * @param ema load the EMA weights (true, what sampling should use) or the raw trained ones
   * @return the model
   * @throws IOException if the checkpoint is missing, corrupt or not a ddpm4j checkpoint
   */
  static LoadedModel open(Path checkpoint, Device device, boolean ema) throws IOException {
    try (StateDict ck = Checkpoint.open(checkpoint)) {
      TrainConfig config = Checkpoint.config(ck);
      UNet model = new UNet(config.model());
      try {
        try {
          model.loadStateDict(Checkpoint.weights(ck, ema ? "ema." : "model."), true);
        } catch (StateDictMismatchException e) {
          throw new IOException(checkpoint + ": its " + (ema ? "ema." : "model.") + "* weights do not fit the UNet its configuration "
              + "describes: " + e.getMessage(), e);
        }
        model.to(device);
        model.eval();
        NoiseSchedule schedule = config.schedule().equals("cosine") ? NoiseSchedule.cosine(config.steps(), 0.008, 0.999, device)
            : NoiseSchedule.linear(config.steps(), config.betaStart(), config.betaEnd(), device);
        return new LoadedModel(config, model, schedule);
      } catch (RuntimeException | IOException e) {
        model.close();
        throw e;
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
