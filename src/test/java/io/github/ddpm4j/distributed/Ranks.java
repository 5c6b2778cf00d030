package io.github.ddpm4j.distributed;

import io.github.ddpm4j.torch.ChildJvm;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the ranks of a group as processes of their own (child JVMs running {@link RankMain}, or
 * Python), all at once, each with a hard deadline: a process still running at the deadline is
 * killed with its descendants, so no test can hang on a rank.
 */
final class Ranks {
  private Ranks() {}

  /** How one process ended: its exit code (-1 when killed at the deadline) and its output. */
  record Outcome(String name, int code, boolean killed, String output) {
    /** @return the {@code key=value} lines of the output, by key (the last one wins) */
    Map<String, String> values() {
      Map<String, String> out = new LinkedHashMap<>();
      for (String line : output.split("\n")) {
        int eq = line.indexOf('=');
        if (eq > 0 && line.substring(0, eq).matches("[a-z0-9.]+")) out.put(line.substring(0, eq), line.substring(eq + 1).strip());
      }
      return out;
    }

    /** @return the value of {@code key}, failing the test with the whole output when absent */
    String value(String key) {
      String v = values().get(key);
      if (v == null) throw new AssertionError(name + " printed no " + key + "=:\n" + output);
      return v;
    }

    /** @return a description for assertion messages */
    String describe() {
      return name + (killed ? " (killed at the deadline)" : " (exit code " + code + ")") + ":\n" + output;
    }
  }

  /**
   * @param rank the rank a {@link RankMain} child runs
   * @param scenario {@link RankMain}'s scenario
   * @param args its other arguments (world size, rendezvous, timeout in ms)
   * @return the command of a child JVM for that rank
   */
  static List<String> java(String scenario, int rank, String... args) {
    List<String> all = new ArrayList<>(List.of(scenario, Integer.toString(rank)));
    all.addAll(List.of(args));
    List<String> jvm = new ArrayList<>(List.of("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
    String library = System.getProperty("ddpm4j.library");
    if (library != null) jvm.add("-Dddpm4j.library=" + library); // the shim this JVM runs on (scripts/build-cuda)
    return ChildJvm.command(List.of(), jvm, RankMain.class, all.toArray(String[]::new));
  }

  /**
   * Runs every rank of a group of {@link RankMain} children, each with the same arguments.
   *
   * @param deadline how long all of them together may take
   * @param scenario {@link RankMain}'s scenario
   * @param worldSize the number of ranks
   * @param rendezvous {@code tcp:PORT} or {@code file:PATH}
   * @param timeoutMillis the group's timeout
   * @param extra the scenario's further arguments
   * @return the outcomes, by rank
   */
  static List<Outcome> group(Duration deadline, String scenario, int worldSize, String rendezvous, long timeoutMillis,
      String... extra) throws IOException, InterruptedException {
    List<List<String>> commands = new ArrayList<>();
    for (int rank = 0; rank < worldSize; rank++) {
      List<String> args = new ArrayList<>(List.of(Integer.toString(worldSize), rendezvous, Long.toString(timeoutMillis)));
      args.addAll(List.of(extra));
      commands.add(java(scenario, rank, args.toArray(String[]::new)));
    }
    return run(deadline, Map.of(), commands);
  }

  /**
   * Starts every command at once and waits for all of them until {@code deadline}; kills what is still
   * running then.
   *
   * @param deadline how long all of them together may take
   * @param env variables added to each process's environment
   * @param commands one command per process
   * @return the outcomes, in the order of {@code commands}
   */
  static List<Outcome> run(Duration deadline, Map<String, String> env, List<List<String>> commands)
      throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("ddpm4j-ranks");
    List<Process> processes = new ArrayList<>();
    List<Path> logs = new ArrayList<>();
    try {
      for (int i = 0; i < commands.size(); i++) {
        Path log = dir.resolve("process-" + i + ".log");
        ProcessBuilder pb = new ProcessBuilder(commands.get(i)).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().putAll(env);
        logs.add(log);
        processes.add(pb.start());
      }
      long end = System.nanoTime() + deadline.toNanos();
      List<Outcome> out = new ArrayList<>();
      for (int i = 0; i < processes.size(); i++) {
        Process p = processes.get(i);
        boolean done = p.waitFor(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (!done) kill(p);
        String name = "process " + i + " (" + String.join(" ", commands.get(i).subList(Math.max(0, commands.get(i).size() - 5),
            commands.get(i).size())) + ")";
        out.add(new Outcome(name, done ? p.exitValue() : -1, !done, Files.readString(logs.get(i), StandardCharsets.UTF_8)));
      }
      return out;
    } finally {
      for (Process p : processes) {
        if (p.isAlive()) kill(p);
      }
      for (Path log : logs) Files.deleteIfExists(log);
      Files.deleteIfExists(dir);
    }
  }

  private static void kill(Process p) throws InterruptedException {
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    p.waitFor(10, TimeUnit.SECONDS);
  }

  /** @return a TCP port on the loopback interface that nothing listens on now */
  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
