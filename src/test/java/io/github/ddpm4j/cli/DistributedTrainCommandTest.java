package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ddpm4j train} on several processes, as a user runs it: {@code --nproc-per-node 2} (the launcher),
 * torchrun's variables set by hand and by torchrun itself, a worker killed under the launcher, and a
 * group that cannot form (a wrong {@code MASTER_PORT}, a world size that never assembles), each failing
 * within the collective timeout with a message that says why. bin/ddpm4j runs the classes under test
 * ({@code DDPM4J_CLASSPATH}).
 */
@ExtendWith(CliRunner.Threads.class)
class DistributedTrainCommandTest {
  @TempDir static Path shared;
  private static Path data;

  @TempDir Path dir;

  @BeforeAll
  static void makeData() throws IOException {
    TorchTestBase.useTestThreads();
    data = TrainFixtures.data(shared.resolve("data"));
  }

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /** A started bin/ddpm4j, its output going to files. */
  record Started(Process process, Path stdout, Path stderr) {
    String out() throws IOException {
      return Files.readString(stdout);
    }

    String err() throws IOException {
      return Files.readString(stderr);
    }

    int await(long seconds) throws Exception {
      if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new AssertionError("still running after " + seconds + " s:\n" + out() + err());
      }
      return process.exitValue();
    }
  }

  /** Starts bin/ddpm4j (or {@code prefix} before it, such as torchrun) with the classes under test and {@code env}. */
  Started start(String name, List<String> prefix, Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>(prefix);
    command.add(Path.of("bin", "ddpm4j").toAbsolutePath().toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command);
    pb.environment().put("DDPM4J_CLASSPATH", System.getProperty("java.class.path"));
    for (String k : List.of("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "LOCAL_RANK", "LOCAL_WORLD_SIZE")) pb.environment().remove(k);
    pb.environment().putAll(env);
    Path out = dir.resolve(name + ".out"), err = dir.resolve(name + ".err");
    return new Started(pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start(), out, err);
  }

  static Map<String, String> worker(int port, int rank, int worldSize) {
    return Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port), "RANK", Integer.toString(rank), "WORLD_SIZE",
        Integer.toString(worldSize));
  }

  /** @return train's arguments for the fixture data, with {@code more} added or, for an option already there, its value replaced */
  static String[] train(Path out, int steps, String... more) {
    List<String> args = new ArrayList<>(List.of(TrainOutputFolderTest.train(data, out, steps)));
    for (int i = 0; i < more.length; i++) {
      int at = args.indexOf(more[i]);
      boolean valued = i + 1 < more.length && !more[i + 1].startsWith("--");
      if (at >= 0 && valued) {
        args.set(at + 1, more[++i]);
      } else {
        args.add(more[i]);
        if (valued) args.add(more[++i]);
      }
    }
    return args.toArray(String[]::new);
  }

  static void assertTrainedByTwo(Path out, int steps, String stdout) throws IOException {
    assertTrue(stdout.contains("in each of 2 processes (4 images of each batch of 8)"), stdout);
    assertEquals(1, stdout.lines().filter(l -> l.startsWith("ddpm4j: wrote checkpoint.pt")).count(), "one final report:\n" + stdout);
    assertEquals(steps + 1, Files.readAllLines(out.resolve("loss.csv")).size());
    assertTrue(Files.exists(out.resolve("samples.png")));
    try (Checkpoint.Contents c = Checkpoint.read(out.resolve("checkpoint.pt"))) {
      assertEquals(2, c.worldSize());
      assertEquals(steps, c.step());
    }
  }

  @Test
  void nprocPerNodeTwoTrainsWithTwoWorkersAndRankZeroAloneWrites() throws Exception {
    Path out = dir.resolve("run");
    Started s = start("launch", List.of(), Map.of(), train(out, 4, "--nproc-per-node", "2", "--master-port", Integer.toString(freePort())));
    assertEquals(0, s.await(240), () -> "stderr: " + errOf(s));
    assertTrainedByTwo(out, 4, s.out());
  }

  private static String errOf(Started s) {
    try {
      return s.err() + "\nstdout: " + s.out();
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Test
  void twoProcessesStartedWithTorchrunsVariablesTrainTogether() throws Exception {
    Path out = dir.resolve("by-hand");
    int port = freePort();
    Started r0 = start("rank0", List.of(), worker(port, 0, 2), train(out, 3));
    Started r1 = start("rank1", List.of(), worker(port, 1, 2), train(out, 3));
    assertEquals(0, r0.await(240), () -> errOf(r0));
    assertEquals(0, r1.await(60), () -> errOf(r1));
    assertEquals("", r1.out(), "rank 1 prints nothing");
    assertTrainedByTwo(out, 3, r0.out());
  }

  /**
   * torchrun itself ({@code python -m torch.distributed.run}, what the {@code torchrun} script runs): its static
   * rendezvous, the agent's store ({@code TORCHELASTIC_USE_AGENT_STORE}) and its variables. The torch must be
   * the LibTorch's own version, since the keys of the agent's store differ between versions: Debian's
   * python3-torch under {@code DDPM4J_LIBTORCH=debian}, the venv of {@code bench/python-venv 2.13.0} under 2.13.0
   * ({@code ddpm4j.test.libtorch}); skipped where that Python is missing.
   */
  @Test
  void torchrunStartsTheWorkers() throws Exception {
    Path python = switch (System.getProperty("ddpm4j.test.libtorch", "any")) {
      case "debian" -> Path.of("/usr/bin/python3");
      case "2.13.0" -> Path.of(System.getProperty("user.home"), ".cache", "ddpm4j", "venv", "torch-2.13.0", "bin", "python");
      default -> null;
    };
    assumeTrue(python != null, "no Python known for this LibTorch (ddpm4j.test.libtorch is debian or 2.13.0 under bin/test)");
    assumeTrue(Files.isExecutable(python), python + " is missing (for 2.13.0: bench/python-venv 2.13.0 makes it)");
    Process probe = new ProcessBuilder(python.toString(), "-c", "import torch, torch.distributed.run; print(torch.__version__)")
        .redirectErrorStream(true).start();
    String version = new String(probe.getInputStream().readAllBytes()).strip();
    assumeTrue(probe.waitFor() == 0, python + " has no torch.distributed.run: " + version);
    String torch = io.github.ddpm4j.torch.Torch.version();
    assumeTrue(version.lines().reduce((a, b) -> b).orElse("").startsWith(torch), python + " has torch " + version + ", not " + torch);
    // torch 1.13's torchrun fails on Python 3.11 before it starts a worker: Std.from_str("0") is None there,
    // since Python 3.11's Flag iteration leaves out the zero member (fixed in torch 2.0)
    Process std = new ProcessBuilder(python.toString(), "-c",
        "from torch.distributed.elastic.multiprocessing.api import Std; assert Std.from_str('0') is not None").redirectErrorStream(true).start();
    std.getInputStream().readAllBytes();
    assumeTrue(std.waitFor() == 0, "this torch's torchrun cannot start workers on this Python (torch " + version
        + ": elastic's Std.from_str('0') is None on Python 3.11 and later)");
    Path out = dir.resolve("torchrun");
    Started s = start("torchrun", List.of(python.toString(), "-m", "torch.distributed.run", "--no_python", "--nproc_per_node", "2",
        "--master_port", Integer.toString(freePort())), Map.of(), train(out, 3)); // the spelling of 1.13 and 2.x alike
    assertEquals(0, s.await(240), () -> errOf(s));
    assertTrainedByTwo(out, 3, s.out());
  }

  @Test
  void aBatchThatDoesNotDivideAmongTheWorkersIsAUsageErrorNamingTheOption() {
    CliRunner.Result r = CliRunner.run(train(dir.resolve("odd"), 3, "--batch-size", "7", "--nproc-per-node", "2"));
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().contains("ddpm4j train: --batch-size=7 must be divisible by the number of workers (2 = --nnodes 1 x --nproc-per-node 2)"),
        r.err());
    assertFalse(Files.exists(dir.resolve("odd")), "nothing written");
  }

  @Test
  void aWorkerKilledUnderTheLauncherStopsTheRunNamingItAndLeavesNoProcess() throws Exception {
    Path out = dir.resolve("killed");
    Started s = start("launch", List.of(), Map.of(), train(out, 1_000_000, "--nproc-per-node", "2", "--master-port",
        Integer.toString(freePort()), "--sample-every", "0", "--dist-timeout", "20"));
    List<ProcessHandle> workers = new ArrayList<>();
    try {
      for (int i = 0; i < 2400 && !Files.exists(out.resolve("checkpoint.pt")); i++) Thread.sleep(50);
      assertTrue(Files.exists(out.resolve("checkpoint.pt")), () -> "no checkpoint after 2 minutes: " + errOf(s));
      workers.addAll(s.process().descendants().toList());
      ProcessHandle rank1 = null;
      for (ProcessHandle w : workers) if (environment(w.pid()).contains("RANK=1")) rank1 = w;
      assertTrue(rank1 != null, "no worker of rank 1 among " + workers);
      long t0 = System.nanoTime();
      rank1.destroyForcibly();
      int code = s.await(60);
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "a worker killed under the launcher: the run stopped after %.1f s: %s%n", seconds,
          s.err().lines().filter(l -> l.contains("worker 1")).findFirst().orElse("?"));
      assertEquals(1, code, () -> errOf(s));
      assertTrue(s.err().contains("ddpm4j train: worker 1 (pid " + rank1.pid() + ") was killed by SIGKILL (exit code 137); stopping the others"),
          s.err());
      assertTrue(s.err().contains("ddpm4j train: worker 1 of 2 was killed by SIGKILL"), s.err());
      for (ProcessHandle w : workers) {
        for (int i = 0; i < 100 && w.isAlive(); i++) Thread.sleep(50);
        assertFalse(w.isAlive(), "worker " + w.pid() + " outlived the launcher");
      }
    } finally {
      workers.forEach(ProcessHandle::destroyForcibly);
      s.process().destroyForcibly();
    }
  }

  /** @return the environment of process {@code pid}, one variable a line */
  static String environment(long pid) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"))).replace('\0', '\n');
    } catch (IOException e) {
      return "";
    }
  }

  @Test
  void aWrongMasterPortFailsWithinTheTimeoutSayingWhy() throws Exception {
    int port = freePort(), wrong = freePort();
    long t0 = System.nanoTime();
    Started r0 = start("rank0", List.of(), worker(port, 0, 2), train(dir.resolve("a"), 3, "--dist-timeout", "5"));
    Started r1 = start("rank1", List.of(), worker(wrong, 1, 2), train(dir.resolve("a"), 3, "--dist-timeout", "5"));
    assertEquals(1, r1.await(60), () -> errOf(r1));
    assertEquals(1, r0.await(60), () -> errOf(r0));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "a wrong MASTER_PORT: both ranks failed within %.1f s (timeout 5 s):%n  %s%n  %s%n", seconds,
        r0.err().strip(), r1.err().strip());
    assertTrue(r1.err().startsWith("ddpm4j train: rank 1 of 2: "), r1.err());
    assertTrue(r1.err().contains("127.0.0.1:" + wrong), r1.err());
    assertTrue(r0.err().startsWith("ddpm4j train: rank 0 of 2: "), r0.err());
    assertTrue(seconds < 5 + 25, "took " + seconds + " s");
  }

  @Test
  void aWorldSizeThatNeverAssemblesFailsWithinTheTimeoutSayingWhy() throws Exception {
    int port = freePort();
    long t0 = System.nanoTime();
    Started r0 = start("rank0", List.of(), worker(port, 0, 3), train(dir.resolve("b"), 3, "--dist-timeout", "5", "--batch-size", "9"));
    Started r1 = start("rank1", List.of(), worker(port, 1, 3), train(dir.resolve("b"), 3, "--dist-timeout", "5", "--batch-size", "9"));
    assertEquals(1, r0.await(60), () -> errOf(r0));
    assertEquals(1, r1.await(60), () -> errOf(r1));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "a world of 3 with 2 ranks: both failed within %.1f s (timeout 5 s):%n  %s%n  %s%n", seconds,
        r0.err().strip(), r1.err().strip());
    for (Started r : List.of(r0, r1)) assertTrue(r.err().contains("3"), r.err());
    assertTrue(seconds < 5 + 25, "took " + seconds + " s");
  }
}
