package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.nn.StateDictMismatchException;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.CpuCache;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j info}: the model, its size and the device. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = {"Print the model (from a checkpoint, or the default CPU model), its parameter count, the device and LibTorch's build.",
        "With --checkpoint, also count the NaN or infinite weights and the largest |w| of the trained and the EMA weights,",
        "with a warning when a weight is not finite or |w| > 1e4."})
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
    PrintWriter out = common.out();
    out.println("LibTorch:    " + Torch.build());
    out.println("device:      " + device + (Torch.cudaIsAvailable() ? " (CUDA devices: " + Torch.cudaDeviceCount() + ")" : " (no CUDA)"));
    out.println("threads:     " + Torch.getNumThreads());
    long cacheLimit = CpuCache.limit();
    out.println("CPU cache:   " + (cacheLimit == 0 ? "off" : "up to " + (cacheLimit >> 20) + " MiB of freed blocks kept ("
        + CpuCache.LIMIT_PROPERTY + ")"));
    if (checkpoint != null) {
      try (Checkpoint.Contents ck = Checkpoint.read(checkpoint); UNet model = new UNet(ck.config().model())) {
        try {
          model.loadStateDict(ck.ema(), true);
        } catch (StateDictMismatchException e) {
          throw new IOException(checkpoint + ": its " + Checkpoint.EMA + "* weights do not fit the UNet its configuration describes: "
              + e.getMessage(), e);
        }
        describe(ck.config(), model);
        describeWeights(ck.entries());
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

  /**
   * Prints, for the trained and the averaged weights, how many values there are, how many are NaN or
   * infinite, and the largest finite |w|; and a warning line for each group that has non-finite or
   * extreme values (|w| above {@link Checkpoint.WeightStats#EXTREME}).
   */
  private void describeWeights(StateDict ck) {
    PrintWriter out = common.out();
    List<String> warnings = new ArrayList<>();
    String label = "weights:     ";
    for (String group : List.of("model", "ema")) {
      Checkpoint.WeightStats w = Checkpoint.weightStats(ck, group.equals("model") ? Checkpoint.MODEL : Checkpoint.EMA);
      String name = (group + ":     ").substring(0, 7);
      if (w.allFinite()) {
        out.printf(Locale.ROOT, "%s%s%,d values, 0 non-finite, largest |w| %.2g%n", label, name, w.values(), w.maxAbs());
      } else {
        out.printf(Locale.ROOT, "%s%s%,d values, %,d non-finite (first: %s), largest finite |w| %s%n", label, name, w.values(),
            w.nonFinite(), w.firstNonFinite(), Double.isNaN(w.maxAbs()) ? "-" : String.format(Locale.ROOT, "%.2g", w.maxAbs()));
        warnings.add(String.format(Locale.ROOT, "warning: %s weights are not all finite (%,d NaN or infinite values): the run "
            + "diverged, and sampling from them fails", group, w.nonFinite()));
      }
      if (w.extreme()) {
        warnings.add(String.format(Locale.ROOT, "warning: %s weights reach |w| = %.2g, more than %.0e: the run has probably diverged",
            group, w.maxAbs(), Checkpoint.WeightStats.EXTREME));
      }
      label = "             ";
    }
    warnings.forEach(out::println);
  }

  private void describe(TrainConfig config, UNet model) {
    PrintWriter out = common.out();
    out.println("model:       " + config.model());
    out.printf(Locale.ROOT, "parameters:  %,d%n", model.parameterCount());
    out.println("images:      " + config.model().imageChannels() + "x" + config.imageSize() + "x" + config.imageSize()
        + " from " + config.data());
    out.println("diffusion:   " + config.schedule() + " schedule, T = " + config.timesteps());
    if (verbose) out.println(model);
  }
}
