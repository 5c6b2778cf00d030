package io.github.ddpm4j.distributed;

import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.NativeProcessGroup;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ProcessGroup}: the collectives between two child JVMs on loopback (a TCP store hosted by
 * rank 0, and a file store), with results derived by hand; and, in this JVM, a group of one, the
 * argument checks, torchrun's environment and the lifecycle.
 */
class ProcessGroupTest extends TorchTestBase {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final Duration DEADLINE = Duration.ofSeconds(150);

  @TempDir Path dir;

  // ------------------------------------------------------------------ two ranks

  @Test
  void twoRanksOverTcp() throws Exception {
    checkCollectives(Ranks.group(DEADLINE, "collectives", 2, "tcp:" + Ranks.freePort(), TIMEOUT.toMillis()));
  }

  @Test
  void twoRanksOverAFileStore() throws Exception {
    checkCollectives(Ranks.group(DEADLINE, "collectives", 2, "file:" + dir.resolve("store"), TIMEOUT.toMillis()));
  }

  private static void checkCollectives(List<Ranks.Outcome> ranks) {
    for (Ranks.Outcome r : ranks) {
      assertEquals(0, r.code(), r::describe);
      // rank 0 holds [1, 2, 3, 4], rank 1 [10, 20, 30, 40]
      assertEquals("11.0,22.0,33.0,44.0", r.value("sum"), r::describe);
      assertEquals("5.5,11.0,16.5,22.0", r.value("avg"), r::describe);
      // rank 0 holds [1, 50, 3, -4], rank 1 [10, 2, 30, -40]
      assertEquals("10.0,50.0,30.0,-4.0", r.value("max"), r::describe);
      assertEquals("1.0,2.0,3.0,-40.0", r.value("min"), r::describe);
      assertEquals("[101, 202]", r.value("sum.int64"), r::describe);
      // [[1, 2, 3], [4, 5, 6]] times (rank + 1), transposed: 3 times the transpose
      assertEquals("3.0,12.0,6.0,15.0,9.0,18.0", r.value("sum.transposed"), r::describe);
      assertTrue(r.value("bucketed").startsWith("ok 300 tensors"), r::describe);
      assertEquals("7.0,8.0,9.0", r.value("broadcast"), r::describe);
      assertEquals("0.25,-1.0;5.0,6.0,7.0;1.0,2.0,3.0,4.0", r.value("broadcast.list"), r::describe);
      assertEquals("[0.5, 10.5]", r.value("gather"), r::describe);
      assertEquals("0", r.value("live.groups"), r::describe);
    }
    // rank 1 reaches the barrier 1.5 s after rank 0, which waits there for it
    long waited = Long.parseLong(ranks.get(0).value("barrier.millis"));
    assertTrue(waited >= 1000, "rank 0 left the barrier after " + waited + " ms, before rank 1 arrived");
  }

  // ------------------------------------------------------------------ a group of one, in this JVM

  private ProcessGroup alone() {
    return ProcessGroup.initProcessGroup("gloo", dir.resolve("alone"), 0, 1, Duration.ofSeconds(20));
  }

  @Test
  void aGroupOfOneKeepsItsValues() {
    long before = Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP);
    try (ProcessGroup g = alone()) {
      assertEquals(before + 1, Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP));
      assertEquals(0, g.rank());
      assertEquals(1, g.worldSize());
      assertEquals("gloo", g.backend());
      assertEquals(Duration.ofSeconds(20), g.timeout());
      Tensor t = Torch.tensor(new float[] {1, 2, 3}, 3);
      for (ReduceOp op : ReduceOp.values()) {
        g.allReduce(t, op);
        assertArrayEquals(new float[] {1, 2, 3}, t.toFloatArray(), op.name());
      }
      g.allReduce(List.of(), ReduceOp.SUM);
      g.broadcast(List.of(t, Torch.ones(2)), 0);
      g.barrier();
      assertArrayEquals(new double[] {2.5}, g.allGather(2.5));
      assertTrue(g.toString().contains("rank 0 of 1"), g.toString());
    }
    assertEquals(before, Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP), "closing frees the native group");
  }

  @Test
  void aGroupOfOneOverTcp() throws Exception {
    try (ProcessGroup g = ProcessGroup.initProcessGroup("GLOO", "127.0.0.1", Ranks.freePort(), 0, 1, Duration.ofSeconds(20))) {
      Tensor t = Torch.tensor(new double[] {4, 5}, 2);
      g.allReduce(t, ReduceOp.AVG);
      assertArrayEquals(new double[] {4, 5}, t.toDoubleArray());
      assertEquals("gloo", g.backend());
    }
  }

  @Test
  void callsFromSeveralThreadsTakeTurns() throws Exception {
    ProcessGroup g = alone();
    List<Thread> threads = new java.util.ArrayList<>();
    java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
    for (int i = 0; i < 4; i++) {
      Thread t = Thread.ofPlatform().start(() -> {
        try (io.github.ddpm4j.torch.Scope s = io.github.ddpm4j.torch.Scope.open()) {
          Tensor x = Torch.ones(16);
          for (int k = 0; k < 50; k++) {
            g.allReduce(x, ReduceOp.SUM);
            g.barrier();
            assertEquals(1.0, g.allGather(1.0)[0]);
          }
          assertArrayEquals(Torch.ones(16).toFloatArray(), x.toFloatArray());
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
      });
      threads.add(t);
    }
    for (Thread t : threads) t.join(60_000);
    g.close();
    assertNull(failure.get(), () -> "a thread failed: " + failure.get());
  }

  @Test
  void closingTwiceDoesNothingAndAClosedGroupRefuses() {
    ProcessGroup g = alone();
    g.close();
    g.close();
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> g.allReduce(Torch.ones(1), ReduceOp.SUM));
    assertTrue(e.getMessage().contains("closed"), e.getMessage());
    assertThrows(IllegalStateException.class, g::barrier);
    assertThrows(IllegalStateException.class, () -> g.allGather(1));
    assertTrue(g.toString().contains("closed"));
  }

  @Test
  void aClosedTensorIsRefused() {
    try (ProcessGroup g = alone()) {
      Tensor t = Torch.ones(2);
      t.close();
      assertThrows(IllegalStateException.class, () -> g.allReduce(t, ReduceOp.SUM));
      g.barrier(); // the group is still usable
    }
  }

  @Test
  void argumentsAreChecked() {
    Path f = dir.resolve("args");
    Duration t = Duration.ofSeconds(5);
    assertMessage(IllegalArgumentException.class, "unknown backend 'mpi'", () -> ProcessGroup.initProcessGroup("mpi", f, 0, 1, t));
    assertMessage(IllegalArgumentException.class, "rank must be in [0, 2), got 2", () -> ProcessGroup.initProcessGroup("gloo", f, 2, 2, t));
    assertMessage(IllegalArgumentException.class, "rank must be in [0, 1), got -1", () -> ProcessGroup.initProcessGroup("gloo", f, -1, 1, t));
    assertMessage(IllegalArgumentException.class, "worldSize must be >= 1, got 0", () -> ProcessGroup.initProcessGroup("gloo", f, 0, 0, t));
    assertMessage(IllegalArgumentException.class, "timeout must be from 1 ms", () -> ProcessGroup.initProcessGroup("gloo", f, 0, 1, Duration.ZERO));
    assertMessage(IllegalArgumentException.class, "timeout must be from 1 ms",
        () -> ProcessGroup.initProcessGroup("gloo", f, 0, 1, Duration.ofDays(30)));
    assertMessage(IllegalArgumentException.class, "masterPort must be in [1, 65535], got 0",
        () -> ProcessGroup.initProcessGroup("gloo", "127.0.0.1", 0, 0, 1, t));
    assertMessage(IllegalArgumentException.class, "masterAddr is empty", () -> ProcessGroup.initProcessGroup("gloo", " ", 29500, 0, 1, t));
    assertThrows(NullPointerException.class, () -> ProcessGroup.initProcessGroup("gloo", (Path) null, 0, 1, t));
    assertFalse(Files.exists(f), "no store file is made for refused arguments");
    try (ProcessGroup g = alone()) {
      assertMessage(IllegalArgumentException.class, "src must be a rank in [0, 1), got 1", () -> g.broadcast(Torch.ones(1), 1));
      assertMessage(IllegalArgumentException.class, "AVG needs floating-point tensors, got INT64",
          () -> g.allReduce(Torch.tensor(new long[] {1}, 1), ReduceOp.AVG));
      assertThrows(NullPointerException.class, () -> g.allReduce((Tensor) null, ReduceOp.SUM));
      g.barrier();
    }
  }

  @Test
  void ncclNeedsACudaBuild() {
    String reason = NativeProcessGroup.unavailableReason(NativeProcessGroup.Backend.NCCL);
    org.junit.jupiter.api.Assumptions.assumeTrue(reason != null, "this LibTorch can run NCCL");
    DistributedException e = assertThrows(DistributedException.class,
        () -> ProcessGroup.initProcessGroup("nccl", dir.resolve("nccl"), 0, 1, Duration.ofSeconds(5)));
    assertEquals(DistributedException.Reason.UNAVAILABLE, e.reason());
    assertEquals("initProcessGroup", e.operation());
    assertTrue(e.getMessage().contains("NCCL"), e.getMessage());
    assertNull(NativeProcessGroup.unavailableReason(NativeProcessGroup.Backend.GLOO), "Gloo is available in this build");
  }

  // ------------------------------------------------------------------ torchrun's environment

  @Test
  void theEnvironmentNamesTheGroup() throws Exception {
    int port = Ranks.freePort();
    Map<String, String> env = Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port), "RANK", "0",
        "WORLD_SIZE", "1", "LOCAL_RANK", "3");
    try (ProcessGroup g = ProcessGroup.fromEnvironment("gloo", Duration.ofSeconds(20), env)) {
      assertEquals(0, g.rank());
      assertEquals(1, g.worldSize());
      assertEquals(3, g.localRank());
      assertTrue(g.toString().contains("tcp://127.0.0.1:" + port), g.toString());
      g.barrier();
    }
  }

  @Test
  void aMissingOrMalformedVariableIsNamed() {
    Duration t = Duration.ofSeconds(5);
    Map<String, String> full = Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", "29500", "RANK", "0", "WORLD_SIZE", "1");
    for (String name : full.keySet()) {
      Map<String, String> env = new java.util.HashMap<>(full);
      env.remove(name);
      assertMessage(IllegalStateException.class, "environment variable " + name + " expected, but not set",
          () -> ProcessGroup.fromEnvironment("gloo", t, env));
    }
    Map<String, String> bad = new java.util.HashMap<>(full);
    bad.put("RANK", "one");
    assertMessage(IllegalArgumentException.class, "RANK=one is not an integer", () -> ProcessGroup.fromEnvironment("gloo", t, bad));
    bad.put("RANK", "0");
    bad.put("LOCAL_RANK", "-2");
    assertMessage(IllegalArgumentException.class, "LOCAL_RANK must be >= 0", () -> ProcessGroup.fromEnvironment("gloo", t, bad));
  }

  @Test
  void withoutLocalRankItIsTheRank() {
    try (ProcessGroup g = alone()) {
      assertEquals(System.getenv("LOCAL_RANK") == null ? 0 : Integer.parseInt(System.getenv("LOCAL_RANK")), g.localRank());
    }
  }

  @Test
  void durationsReadAsPeopleWriteThem() {
    assertEquals("250 ms", ProcessGroup.human(Duration.ofMillis(250)));
    assertEquals("5 s", ProcessGroup.human(Duration.ofSeconds(5)));
    assertEquals("1.5 s", ProcessGroup.human(Duration.ofMillis(1500)));
    assertEquals("30 min", ProcessGroup.human(Duration.ofMinutes(30)));
  }

  static <T extends Throwable> void assertMessage(Class<T> type, String part, org.junit.jupiter.api.function.Executable call) {
    T e = assertThrows(type, call);
    assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
  }

  @Test
  void dtypesOfTheBucketsMayMix() {
    try (ProcessGroup g = alone()) {
      List<Tensor> mixed = List.of(Torch.ones(3), Torch.ones(new long[] {2}, DType.FLOAT64, io.github.ddpm4j.torch.Device.CPU),
          Torch.ones(4), Torch.tensor(new long[] {7}, 1));
      g.allReduce(mixed, ReduceOp.SUM);
      assertArrayEquals(new float[] {1, 1, 1}, mixed.get(0).toFloatArray());
      assertArrayEquals(new long[] {7}, mixed.get(3).toLongArray());
    }
  }
}
