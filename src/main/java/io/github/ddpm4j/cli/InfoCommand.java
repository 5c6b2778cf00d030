package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.train.TrainConfig;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j info}: the model, its size and the device. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Print the model (from a checkpoint, or the default CPU model), its parameter count, the device and LibTorch's build.")
final class InfoCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", paramLabel = "FILE", description = "A checkpoint to describe (default: the default CPU model).")
  Path checkpoint;

  @Option(names = "--verbose", description = "Also print the module tree and LibTorch's build configuration.")
  boolean verbose;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    Device device = common.apply();
    System.out.println("LibTorch:    " + Torch.version());
    System.out.println("device:      " + device + (Torch.cudaIsAvailable() ? " (CUDA devices: " + Torch.cudaDeviceCount() + ")" : " (no CUDA)"));
    System.out.println("threads:     " + Torch.getNumThreads());
    if (checkpoint != null) {
      try (LoadedModel m = LoadedModel.open(checkpoint, device, true)) {
        describe(m.config(), m.model());
      }
    } else {
      TrainConfig config = TrainConfig.defaults();
      try (UNet model = new UNet(config.model())) {
        describe(config, model);
      }
    }
    if (verbose) System.out.println(Torch.configInfo());
    return 0;
  }

  private void describe(TrainConfig config, UNet model) {
    System.out.println("model:       " + config.model());
    System.out.printf(Locale.ROOT, "parameters:  %,d%n", model.parameterCount());
    System.out.println("images:      " + config.model().imageChannels() + "x" + config.imageSize() + "x" + config.imageSize()
        + " from " + config.data());
    System.out.println("diffusion:   " + config.schedule() + " schedule, T = " + config.steps());
    if (verbose) System.out.println(model);
  }
}
