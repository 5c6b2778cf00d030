package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.torch.CpuCache;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.train.TrainConfig;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

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

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    Device device = common.apply();
    PrintWriter out = spec.commandLine().getOut();
    out.println("LibTorch:    " + Torch.version());
    out.println("device:      " + device + (Torch.cudaIsAvailable() ? " (CUDA devices: " + Torch.cudaDeviceCount() + ")" : " (no CUDA)"));
    out.println("threads:     " + Torch.getNumThreads());
    long cacheLimit = CpuCache.limit();
    out.println("CPU cache:   " + (cacheLimit == 0 ? "off" : "up to " + (cacheLimit >> 20) + " MiB of freed blocks kept ("
        + CpuCache.LIMIT_PROPERTY + ")"));
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
    if (verbose) out.println(Torch.configInfo());
    out.flush();
    return 0;
  }

  private void describe(TrainConfig config, UNet model) {
    PrintWriter out = spec.commandLine().getOut();
    out.println("model:       " + config.model());
    out.printf(Locale.ROOT, "parameters:  %,d%n", model.parameterCount());
    out.println("images:      " + config.model().imageChannels() + "x" + config.imageSize() + "x" + config.imageSize()
        + " from " + config.data());
    out.println("diffusion:   " + config.schedule() + " schedule, T = " + config.steps());
    if (verbose) out.println(model);
  }
}
