package io.github.ddpm4j.cli;

import picocli.CommandLine.Option;

/** The {@code --no-progress} option of the commands that show a progress bar while they work. */
final class ProgressOption {
  @Option(names = "--no-progress", description = "Print no progress bar.")
  boolean noProgress;

  /** @return whether to show a progress bar: true unless {@code --no-progress} is given */
  boolean shown() {
    return !noProgress;
  }
}
