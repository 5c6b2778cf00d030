package io.github.ddpm4j.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs a {@link LocalLauncher} of {@link FakeWorker}s in a JVM of its own, so that a test can send it a
 * signal. Arguments: {@code N GRACE_SECONDS DIR MODE...} (the worker's arguments after N and the grace).
 * Prints the outcome, and exits with its code.
 */
public final class FakeLauncher {
  private FakeLauncher() {}

  public static void main(String[] args) throws Exception {
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), FakeWorker.class.getName()));
    command.addAll(List.of(args).subList(2, args.length));
    LocalLauncher.Plan plan = new LocalLauncher.Plan(Integer.parseInt(args[0]), 1, 0, "127.0.0.1", 29400);
    PrintWriter err = new PrintWriter(System.err, true);
    LocalLauncher.Outcome outcome = new LocalLauncher(command, plan, Duration.ofSeconds(Long.parseLong(args[1])), err).run();
    System.out.println("outcome " + outcome.exitCode() + " " + outcome.message());
    System.exit(outcome.exitCode());
  }
}
