package io.github.ddpm4j.torch;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a main class of the test class path in a new JVM, optionally inside a memory cgroup. */
public final class ChildJvm {
  private ChildJvm() {}

  /** The child's exit code and its merged output. */
  public record Result(int code, String output) {}

  public static String java() {
    return ProcessHandle.current().info().command().orElse(System.getProperty("java.home") + "/bin/java");
  }

  /**
   * @param prefix words put before the java command (e.g. a shell that joins a cgroup), may be empty
   * @param jvmArgs options for the JVM
   * @param main the main class
   * @param args its arguments
   */
  public static Result run(List<String> prefix, List<String> jvmArgs, Class<?> main, String... args) throws IOException, InterruptedException {
    List<String> cmd = command(prefix, jvmArgs, main, args);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("child JVM did not finish: " + cmd);
    }
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  /**
   * @param prefix words put before the java command, may be empty
   * @param jvmArgs options for the JVM
   * @param main the main class, on this JVM's class path
   * @param args its arguments
   * @return the command line that runs {@code main} in a new JVM with this JVM's class path and native access
   */
  public static List<String> command(List<String> prefix, List<String> jvmArgs, Class<?> main, String... args) {
    List<String> cmd = new ArrayList<>(prefix);
    cmd.add(java());
    cmd.add("--enable-native-access=ALL-UNNAMED");
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.addAll(jvmArgs);
    cmd.add(main.getName());
    cmd.addAll(List.of(args));
    return cmd;
  }

  /** @return the value of {@code key=VALUE} in the output, as a long */
  public static long value(Result r, String key) {
    for (String line : r.output().split("\n")) {
      if (line.startsWith(key + "=")) return Long.parseLong(line.substring(key.length() + 1).strip());
    }
    throw new AssertionError("no " + key + " in the child's output:\n" + r.output());
  }
}
