package io.github.ddpm4j.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A stand-in for a training worker, for {@link LocalLauncherTest}: writes its environment and pid to
 * {@code DIR/rank-R.env}, then does what its mode says; a shutdown hook writes {@code DIR/rank-R.stopped}.
 *
 * <p>Arguments: {@code DIR MODE [FAILING_RANK EXIT_CODE]}, MODE one of {@code ok} (exit 0), {@code fail}
 * (the failing rank exits with the code after 300 ms, the others wait for a signal), {@code wait} (wait
 * for a signal) and {@code stubborn} (as {@code fail}, but the others' shutdown hooks never return, so
 * only SIGKILL ends them).
 */
public final class FakeWorker {
  private FakeWorker() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    String mode = args[1];
    int rank = Integer.parseInt(System.getenv("RANK"));
    StringBuilder env = new StringBuilder("pid=" + ProcessHandle.current().pid() + "\n");
    for (String k : new String[] {"MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK"}) {
      env.append(k).append('=').append(System.getenv(k)).append('\n');
    }
    Files.writeString(dir.resolve("rank-" + rank + ".tmp"), env);
    Files.move(dir.resolve("rank-" + rank + ".tmp"), dir.resolve("rank-" + rank + ".env"));
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        Files.writeString(dir.resolve("rank-" + rank + ".stopped"), "stopped\n");
        if (mode.equals("stubborn")) Thread.sleep(Long.MAX_VALUE);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }));
    switch (mode) {
      case "ok" -> System.exit(0);
      case "fail", "stubborn" -> {
        if (rank == Integer.parseInt(args[2])) {
          Thread.sleep(300);
          Runtime.getRuntime().halt(Integer.parseInt(args[3]));
        }
        Thread.sleep(120_000);
      }
      default -> Thread.sleep(120_000);
    }
  }
}
