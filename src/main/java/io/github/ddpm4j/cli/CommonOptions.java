package io.github.ddpm4j.cli;

import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import java.io.PrintWriter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** Options every command takes (device, threads and seed), and the command's standard output. */
final class CommonOptions {
  @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
      description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
      description = "LibTorch intra-op threads, at most " + Torch.MAX_THREADS_PER_CORE
          + " per available core; 0 uses one per available core (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  /** The command this mixin is part of. */
  @Spec(Spec.Target.MIXEE)
  CommandSpec command;

  /**
   * Applies the thread count and parses the device.
   *
   * @return the device
   * @throws IllegalArgumentException if the device string or thread count is invalid
   */
  Device apply() {
    int max = Torch.maxNumThreads();
    if (threads < 0 || threads > max) {
      throw new IllegalArgumentException("--threads must be in 0.." + max + " (0: one per available core; at most "
          + Torch.MAX_THREADS_PER_CORE + " per core), got " + threads);
    }
    Device d;
    try {
      d = Device.parse(device);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--device " + device + ": " + e.getMessage(), e);
    }
    if (d.isCuda() && !Torch.cudaIsAvailable()) {
      throw new IllegalArgumentException("--device " + device + ": CUDA is not available (this LibTorch build has no CUDA, or no GPU is visible)");
    }
    Torch.setNumThreads(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
    return d;
  }

  /** @return the command's standard output (picocli's, so that a caller of {@link Main#commandLine} can capture it) */
  PrintWriter out() {
    return command.commandLine().getOut();
  }

  /**
   * Prints the line a command ends with, {@code "ddpm4j: " + message}, and flushes it.
   *
   * @param message what the command wrote, e.g. {@code "wrote samples.png"}
   */
  void report(String message) {
    PrintWriter out = out();
    out.println("ddpm4j: " + message);
    out.flush();
  }
}
