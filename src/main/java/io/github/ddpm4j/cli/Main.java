package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.DpmSolverSampler;
import io.github.ddpm4j.diffusion.LossWeighting;
import io.github.ddpm4j.diffusion.PredictionType;
import io.github.ddpm4j.diffusion.SamplerType;
import io.github.ddpm4j.diffusion.ScheduleType;
import io.github.ddpm4j.train.LrSchedule;
import io.github.ddpm4j.io.FileErrors;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Precision;
import java.lang.reflect.Field;
import java.util.Arrays;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The {@code ddpm4j} command line: train, sample, interpolate, animate, serve, info, completion.
 * Exit codes: 0 success, 1 runtime failure, 2 usage error.
 */
@Command(name = "ddpm4j", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
    description = "Denoising Diffusion Probabilistic Models on LibTorch, from Java.",
    subcommands = {TrainCommand.class, SampleCommand.class, InterpolateCommand.class, AnimateCommand.class, ServeCommand.class, InfoCommand.class,
        EvaluateCommand.class, TrainClassifierCommand.class,
        CompletionCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec
  CommandSpec spec;

  /** Prints usage when no command is given. */
  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing command: choose one of train, sample, interpolate, animate, serve, info, evaluate, train-classifier, completion");
  }

  /**
   * Builds the command line with ddpm4j's error handling.
   *
   * @return the configured picocli command line
   */
  public static CommandLine commandLine() {
    CommandLine cmd = new CommandLine(new Main());
    cmd.registerConverter(ScheduleType.class, text -> parse(ScheduleType::parse, text));
    cmd.registerConverter(PredictionType.class, text -> parse(PredictionType::parse, text));
    cmd.registerConverter(LossWeighting.class, text -> parse(LossWeighting::parse, text));
    cmd.registerConverter(LrSchedule.class, text -> parse(LrSchedule::parse, text));
    cmd.registerConverter(SamplerType.class, text -> parse(SamplerType::parse, text));
    cmd.registerConverter(DpmSolverSampler.TimestepSpacing.class, text -> parse(DpmSolverSampler.TimestepSpacing::parse, text));
    cmd.registerConverter(Precision.class, text -> parse(Precision::parse, text));
    cmd.setExecutionExceptionHandler((ex, line, parseResult) -> {
      if (ex instanceof IllegalArgumentException && !(ex instanceof NumberFormatException)) {
        String message = ex instanceof InvalidSettingException bad
            ? bad.message(setting -> optionName(line.getCommandSpec(), setting), "=") : ex.getMessage();
        line.getErr().println("ddpm4j " + line.getCommandName() + ": " + who(line) + message);
        line.getErr().println("Try 'ddpm4j " + line.getCommandName() + " --help'.");
        return 2;
      }
      line.getErr().println("ddpm4j " + line.getCommandName() + ": " + who(line) + describe(ex));
      if (Boolean.getBoolean("ddpm4j.stacktrace")) ex.printStackTrace(line.getErr());
      return 1;
    });
    return cmd;
  }

  /** @return {@code "rank R of W: "} for a worker of a data-parallel {@code train}, else the empty string */
  private static String who(CommandLine line) {
    return line.getCommand() instanceof TrainCommand train ? train.errorPrefix() : "";
  }

  /** An option's value by a parser that throws {@link IllegalArgumentException}, as picocli's usage error. */
  private static <T> T parse(Function<String, T> parser, String text) {
    try {
      return parser.apply(text);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.TypeConversionException(e.getMessage());
    }
  }

  /**
   * The option that sets a setting of a library type: the option whose field has the setting's name
   * ({@code nChannels} is {@code --base-channels}), else the option named as the setting
   * ({@code batchSize} is {@code --batch-size}), else the setting's own name.
   *
   * @param command the command that ran
   * @param setting a setting's name, as an {@link InvalidSettingException} names it
   * @return the option's longest name, or {@code setting}
   */
  static String optionName(CommandSpec command, String setting) {
    for (OptionSpec o : command.options()) {
      if (o.userObject() instanceof Field f && f.getName().equals(setting)) return o.longestName();
    }
    StringBuilder kebab = new StringBuilder("--");
    for (char c : setting.toCharArray()) {
      if (Character.isUpperCase(c)) kebab.append('-');
      kebab.append(Character.toLowerCase(c));
    }
    for (OptionSpec o : command.options()) {
      if (Arrays.asList(o.names()).contains(kebab.toString())) return o.longestName();
    }
    return setting;
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
    int code;
    try {
      code = commandLine().execute(args);
    } catch (UnsatisfiedLinkError e) {
      // the shim or LibTorch cannot be loaded; the message says which, and what to install
      System.err.println("ddpm4j: " + e.getMessage());
      if (Boolean.getBoolean("ddpm4j.stacktrace")) e.printStackTrace();
      code = 1;
    }
    System.exit(code);
  }

  /** Reports the versions of ddpm4j, of the LibTorch it runs on (and its build) and of the JDK. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"ddpm4j " + (v == null ? "(development build)" : v),
          "LibTorch " + io.github.ddpm4j.torch.Torch.build(),
          "JDK " + Runtime.version() + " (" + System.getProperty("java.vendor") + ") at " + System.getProperty("java.home")};
    }
  }
}
