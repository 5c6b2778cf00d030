package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.ChildJvm;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link LocalLauncher} with {@link FakeWorker}s: torchrun's environment for every worker, a failed worker
 * stopping the others and named in the outcome, SIGKILL after the grace period, and SIGTERM to the
 * launcher reaching every worker, with none left running.
 */
class LocalLauncherTest {
  @TempDir Path dir;

  private List<String> worker(String... args) {
    List<String> command = new ArrayList<>(List.of(ChildJvm.java(), "-cp", System.getProperty("java.class.path"), FakeWorker.class.getName(),
        dir.toString()));
    command.addAll(List.of(args));
    return command;
  }

  private Map<String, String> env(int rank) throws IOException {
    Map<String, String> out = new HashMap<>();
    for (String line : Files.readAllLines(dir.resolve("rank-" + rank + ".env"))) {
      int eq = line.indexOf('=');
      out.put(line.substring(0, eq), line.substring(eq + 1));
    }
    return out;
  }

  private static void assertGone(long pid) throws InterruptedException {
    for (int i = 0; i < 100 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false); i++) Thread.sleep(50);
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "worker " + pid + " is still running");
  }

  @Test
  void everyWorkerGetsTorchrunsEnvironment() throws Exception {
    StringWriter err = new StringWriter();
    LocalLauncher.Plan plan = new LocalLauncher.Plan(3, 2, 1, "10.0.0.1", 29999);
    LocalLauncher.Outcome outcome = new LocalLauncher(worker("ok"), plan, Duration.ofSeconds(5), new PrintWriter(err)).run();
    assertEquals(0, outcome.exitCode(), outcome.message());
    assertNull(outcome.message());
    for (int local = 0; local < 3; local++) {
      Map<String, String> env = env(3 + local);
      assertEquals(Map.of("MASTER_ADDR", "10.0.0.1", "MASTER_PORT", "29999", "RANK", "" + (3 + local), "WORLD_SIZE", "6", "LOCAL_RANK",
          "" + local, "LOCAL_WORLD_SIZE", "3", "GROUP_RANK", "1"), withoutPid(env));
    }
    assertEquals("", err.toString());
  }

  private static Map<String, String> withoutPid(Map<String, String> env) {
    Map<String, String> out = new HashMap<>(env);
    out.remove("pid");
    return out;
  }

  @Test
  void aFailedWorkerStopsTheOthersAndIsNamed() throws Exception {
    StringWriter err = new StringWriter();
    long t0 = System.nanoTime();
    LocalLauncher.Outcome outcome = new LocalLauncher(worker("fail", "1", "3"), new LocalLauncher.Plan(3, 1, 0, "127.0.0.1", 29500),
        Duration.ofSeconds(30), new PrintWriter(err)).run();
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals(1, outcome.exitCode());
    assertEquals("worker 1 of 3 failed with exit code 3", outcome.message());
    assertTrue(err.toString().startsWith("ddpm4j train: worker 1 (pid "), err.toString());
    assertTrue(err.toString().contains("failed with exit code 3; stopping the others"), err.toString());
    assertTrue(seconds < 20, "took " + seconds + " s");
    for (int rank : new int[] {0, 2}) {
      assertTrue(Files.exists(dir.resolve("rank-" + rank + ".stopped")), "rank " + rank + " got SIGTERM");
      assertGone(Long.parseLong(env(rank).get("pid")));
    }
  }

  @Test
  void aWorkerThatIgnoresSigtermIsKilledAfterTheGracePeriod() throws Exception {
    // rank 0 fails after 300 ms; ranks 1 and 2 block in their shutdown hooks
    long t0 = System.nanoTime();
    LocalLauncher.Outcome outcome = new LocalLauncher(worker("stubborn", "0", "5"), new LocalLauncher.Plan(3, 1, 0, "127.0.0.1", 29500),
        Duration.ofSeconds(2), new PrintWriter(new StringWriter())).run();
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertEquals("worker 0 of 3 failed with exit code 5", outcome.message());
    for (int rank : new int[] {1, 2}) {
      assertTrue(Files.exists(dir.resolve("rank-" + rank + ".stopped")), "rank " + rank + " got SIGTERM");
      assertGone(Long.parseLong(env(rank).get("pid")));
    }
    assertTrue(seconds < 30, "took " + seconds + " s");
  }

  @Test
  void sigtermToTheLauncherReachesEveryWorkerAndNoneOutlivesIt() throws Exception {
    List<String> cmd = new ArrayList<>(List.of(ChildJvm.java(), "-cp", System.getProperty("java.class.path"), FakeLauncher.class.getName(),
        "2", "20", dir.toString(), "wait"));
    Path log = dir.resolve("launcher.log");
    Process launcher = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      for (int i = 0; i < 400 && !(Files.exists(dir.resolve("rank-0.env")) && Files.exists(dir.resolve("rank-1.env"))); i++) Thread.sleep(50);
      assertTrue(Files.exists(dir.resolve("rank-1.env")), "the workers did not start");
      launcher.destroy(); // SIGTERM
      assertTrue(launcher.waitFor(30, TimeUnit.SECONDS), "the launcher did not exit");
      String out = Files.readString(log);
      assertEquals(143, launcher.exitValue(), out);
      for (int rank : new int[] {0, 1}) {
        assertTrue(Files.exists(dir.resolve("rank-" + rank + ".stopped")), "rank " + rank + " got SIGTERM");
        assertGone(Long.parseLong(env(rank).get("pid")));
      }
    } finally {
      launcher.destroyForcibly();
    }
  }

  @Test
  void aWorkerThatCannotStartIsNamed() {
    IOException e = assertThrows(IOException.class, () -> new LocalLauncher(List.of(dir.resolve("no-such-java").toString()),
        new LocalLauncher.Plan(2, 1, 0, "127.0.0.1", 29500), Duration.ofSeconds(1), new PrintWriter(new StringWriter())).run());
    assertTrue(e.getMessage().startsWith("cannot start worker 0 (" + dir.resolve("no-such-java")), e.getMessage());
  }

  @Test
  void exitCodesAreDescribed() {
    assertEquals("failed with exit code 1", LocalLauncher.how(1));
    assertEquals("was killed by SIGKILL (exit code 137)", LocalLauncher.how(137));
    assertEquals("was killed by SIGSEGV (exit code 139)", LocalLauncher.how(139));
    assertEquals("was killed by signal 10 (exit code 138)", LocalLauncher.how(138));
  }

  @Test
  void thePlanPlacesTheWorkersAndRefusesWhatIsOutOfRange() {
    LocalLauncher.Plan plan = new LocalLauncher.Plan(4, 3, 2, "h", 1);
    assertEquals(12, plan.worldSize());
    assertEquals(9, plan.rank(1));
    assertEquals("--nproc-per-node must be >= 1, got 0",
        assertThrows(IllegalArgumentException.class, () -> new LocalLauncher.Plan(0, 1, 0, "h", 1)).getMessage());
    assertEquals("--node-rank must be in 0..1 (--nnodes 2), got 2",
        assertThrows(IllegalArgumentException.class, () -> new LocalLauncher.Plan(1, 2, 2, "h", 1)).getMessage());
    assertEquals("--master-port must be in 1..65535, got 70000",
        assertThrows(IllegalArgumentException.class, () -> new LocalLauncher.Plan(1, 1, 0, "h", 70000)).getMessage());
  }
}
