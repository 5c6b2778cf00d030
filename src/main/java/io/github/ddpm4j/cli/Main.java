package io.github.ddpm4j.cli;

import io.github.ddpm4j.io.FileErrors;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code ddpm4j} command line: train, sample, interpolate, animate, info.
 * Exit codes: 0 success, 1 runtime failure, 2 usage error.
 */
@Command(name = "ddpm4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Denoising Diffusion Probabilistic Models on LibTorch, from Java.",
    subcommands = {TrainCommand.class, SampleCommand.class, InterpolateCommand.class, AnimateCommand.class, InfoCommand.class,
        CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  /** Prints usage when no command is given. */
  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: choose one of train, sample, interpolate, animate, info");
  }

  /**
   * Builds the command line with ddpm4j's error handling.
   *
   * @return the configured picocli command line
   */
  public static CommandLine commandLine() {
    CommandLine cmd = new CommandLine(new Main());
    cmd.setExecutionExceptionHandler((ex, line, parseResult) -> {
      if (ex instanceof IllegalArgumentException && !(ex instanceof NumberFormatException)) {
        line.getErr().println("ddpm4j " + line.getCommandName() + ": " + ex.getMessage());
        line.getErr().println("Try 'ddpm4j " + line.getCommandName() + " --help'.");
        return 2;
      }
      line.getErr().println("ddpm4j " + line.getCommandName() + ": " + describe(ex));
      if (Boolean.getBoolean("ddpm4j.stacktrace")) ex.printStackTrace(line.getErr());
      return 1;
    });
    return cmd;
  }

  /** One line for a failure; failures about a file read {@code "PATH: REASON"} (see {@link FileErrors#message}). */
  private static String describe(Throwable ex) {
    return FileErrors.message(ex);
  }

  /**
   * Runs the command line and exits with its code.
   *
   * @param args the arguments
   */
  public static void main(String[] args) {
    System.setProperty("java.awt.headless", "true");
    try {
      io.github.ddpm4j.torch.NativeLibrary.checkProperties();
    } catch (IllegalArgumentException e) {
      System.err.println("ddpm4j: " + e.getMessage());
      System.exit(2);
    }
    System.exit(commandLine().execute(args));
  }

  /** Reports the ddpm4j and LibTorch versions. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"ddpm4j " + (v == null ? "(development build)" : v),
          "LibTorch " + io.github.ddpm4j.torch.Torch.build()};
    }
  }
}
