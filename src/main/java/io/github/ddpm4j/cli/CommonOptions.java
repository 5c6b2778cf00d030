package io.github.ddpm4j.cli;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import java.io.PrintWriter;
import java.io.Writer;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The options every command takes, so that a script may pass them to any command: where and how
 * LibTorch runs ({@code --device}, {@code --threads}), the seed, and how much the command prints
 * ({@code --no-progress}, {@code --quiet}). Also the command's standard output: results and status
 * lines go there, progress and errors to standard error.
 */
final class CommonOptions {
  @Option(names = "--device", paramLabel = "DEVICE", defaultValue = "cpu",
      description = "cpu, cuda or cuda:N (default: ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
      description = "LibTorch intra-op threads, at most " + Torch.MAX_THREADS_PER_CORE
          + " per available core; 0 uses one per available core, shared among train's workers on this machine"
          + " (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--no-progress", description = "Show no progress bar (status lines and results still print).")
  boolean noProgress;

  @Option(names = {"-q", "--quiet"}, description = "Print only results and errors: no progress bar, no status lines.")
  boolean quiet;

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
    return apply(1);
  }

  /**
   * Applies the thread count and parses the device, for one of {@code workersPerMachine} processes that
   * share this machine's cores: without {@code --threads}, each takes the cores / workers (at least one).
   *
   * @param workersPerMachine the processes of a data-parallel run on this machine, &gt;= 1
   * @return the device
   * @throws IllegalArgumentException if the device string or thread count is invalid
   */
  Device apply(int workersPerMachine) {
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
    Torch.setNumThreads(threads > 0 ? threads : Math.max(1, Runtime.getRuntime().availableProcessors() / workersPerMachine));
    return d;
  }

  /** @return whether to show progress: neither {@code --no-progress} nor {@code --quiet} was given */
  boolean progressShown() {
    return !noProgress && !quiet;
  }

  /**
   * @param task the bar's name, e.g. {@code "sample"}
   * @param max the number of steps, or -1 until the work reports it
   * @return the command's progress bar (on picocli's standard error where that is not a terminal), or one
   *     that shows nothing ({@link #progressShown()})
   */
  ConsoleProgress progress(String task, long max) {
    return ConsoleProgress.open(task, max, 0, progressShown(), err());
  }

  /** @return the command's standard error (picocli's): errors, and progress where it is not a terminal */
  PrintWriter err() {
    return command.commandLine().getErr();
  }

  /** @return the command's standard output (picocli's, so that a caller of {@link Main#commandLine} can capture it) */
  PrintWriter out() {
    return command.commandLine().getOut();
  }

  /** @return where status lines go: {@link #out()}, or nowhere with {@code --quiet} */
  PrintWriter log() {
    return quiet ? new PrintWriter(Writer.nullWriter()) : out();
  }

  /**
   * Prints the status line a command ends with, {@code "ddpm4j: " + message}, unless {@code --quiet}.
   *
   * @param message what the command wrote and where, e.g. {@code "wrote samples.png"}
   */
  void report(String message) {
    PrintWriter out = log();
    out.println("ddpm4j: " + message);
    out.flush();
  }
}
