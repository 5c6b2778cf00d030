package io.github.ddpm4j.cli;

import java.util.List;

/** Prints, one per line, the worker command that {@link LocalLauncher#thisJvm} makes of this JVM's, for {@link DistributedOptionsTest}. */
public final class PrintWorkerCommand {
  private PrintWorkerCommand() {}

  public static void main(String[] args) {
    List<String> mine = List.of(args);
    for (String word : LocalLauncher.thisJvm(PrintWorkerCommand.class, mine, DistributedOptions.workerArgs(mine))) System.out.println(word);
  }
}
