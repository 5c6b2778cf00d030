package io.github.ddpm4j.distributed;

import io.github.ddpm4j.nn.Linear;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * One rank of a test group, run in a child JVM by {@link Ranks}:
 * {@code RankMain SCENARIO RANK WORLD_SIZE RENDEZVOUS TIMEOUT_MS}, where RENDEZVOUS is
 * {@code tcp:PORT} (loopback) or {@code file:PATH}. It prints its results as {@code key=value}
 * lines for the test to check, and a {@link DistributedException} as {@code error.*} lines with
 * exit code 3; anything else unexpected exits with 1.
 */
public final class RankMain {
  private RankMain() {}

  private static int rank;
  private static int worldSize;

  public static void main(String[] args) throws Exception {
    String scenario = args[0];
    rank = Integer.parseInt(args[1]);
    worldSize = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    String rendezvous = args.length > 3 ? args[3] : "";
    Duration timeout = args.length > 4 ? Duration.ofMillis(Long.parseLong(args[4])) : Duration.ofSeconds(30);
    Torch.setNumThreads(1);
    try {
      switch (scenario) {
        case "collectives" -> collectives(join(rendezvous, timeout));
        case "python" -> python(join(rendezvous, timeout));
        case "ddp" -> ddp(join(rendezvous, timeout));
        case "ddp-mismatch" -> ddpMismatch(join(rendezvous, timeout));
        case "die" -> die(join(rendezvous, timeout), Integer.parseInt(args[5]));
        case "hang" -> hang(join(rendezvous, timeout), Integer.parseInt(args[5]));
        case "rendezvous-faults" -> rendezvousFaults(Integer.parseInt(args[5]), timeout);
        default -> throw new IllegalArgumentException("unknown scenario " + scenario);
      }
    } catch (DistributedException e) {
      printError(e);
      System.out.flush();
      System.exit(3);
    }
    System.out.println("done=1");
    System.out.flush();
    System.exit(0);
  }

  private static ProcessGroup join(String rendezvous, Duration timeout) {
    if (rendezvous.startsWith("tcp:")) {
      return ProcessGroup.initProcessGroup("gloo", "127.0.0.1", Integer.parseInt(rendezvous.substring(4)), rank, worldSize, timeout);
    }
    return ProcessGroup.initProcessGroup("gloo", Path.of(rendezvous.substring(5)), rank, worldSize, timeout);
  }

  private static void printError(DistributedException e) {
    System.out.println("error.operation=" + e.operation());
    System.out.println("error.rank=" + e.rank());
    System.out.println("error.reason=" + e.reason());
    System.out.println("error.lost=" + e.lostRank().orElse(-1));
    System.out.println("error.message=" + e.getMessage().replace('\n', ' '));
  }

  static String floats(Tensor t) {
    float[] v = t.contiguous().to(DType.FLOAT32).toFloatArray();
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < v.length; i++) b.append(i == 0 ? "" : ",").append(v[i]);
    return b.toString();
  }

  // ------------------------------------------------------------------ collectives

  private static Tensor pick(float[] rank0, float[] rank1) {
    return Torch.tensor(rank == 0 ? rank0 : rank1, rank0.length);
  }

  private static void collectives(ProcessGroup group) throws InterruptedException {
    try (group; Scope s = Scope.open()) {
      System.out.println("backend=" + group.backend() + " rank=" + group.rank() + " world=" + group.worldSize());
      for (ReduceOp op : ReduceOp.values()) {
        Tensor t = op == ReduceOp.MAX || op == ReduceOp.MIN
            ? pick(new float[] {1, 50, 3, -4}, new float[] {10, 2, 30, -40})
            : pick(new float[] {1, 2, 3, 4}, new float[] {10, 20, 30, 40});
        group.allReduce(t, op);
        System.out.println(op.name().toLowerCase() + "=" + floats(t));
      }
      Tensor longs = Torch.tensor(rank == 0 ? new long[] {1, 2} : new long[] {100, 200}, 2);
      group.allReduce(longs, ReduceOp.SUM);
      System.out.println("sum.int64=" + Arrays.toString(longs.toLongArray()));
      Tensor strided = Torch.tensor(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).mul(rank + 1).transpose(0, 1);
      group.allReduce(strided, ReduceOp.SUM);
      System.out.println("sum.transposed=" + floats(strided));

      bucketed(group);

      Tensor b = rank == 1 ? Torch.tensor(new float[] {7, 8, 9}, 3) : Torch.zeros(3);
      group.broadcast(b, 1);
      System.out.println("broadcast=" + floats(b));
      List<Tensor> list = List.of(rank == 0 ? Torch.tensor(new double[] {0.25, -1}, 2) : Torch.zeros(new long[] {2}, DType.FLOAT64, Device.CPU),
          rank == 0 ? Torch.tensor(new long[] {5, 6, 7}, 3) : Torch.zeros(new long[] {3}, DType.INT64, Device.CPU),
          rank == 0 ? Torch.tensor(new float[] {1, 2, 3, 4}, 2, 2) : Torch.zeros(2, 2));
      group.broadcast(list, 0);
      System.out.println("broadcast.list=" + list.stream().map(RankMain::floats).collect(Collectors.joining(";")));

      if (rank == 1) Thread.sleep(1500);
      long t0 = System.nanoTime();
      group.barrier();
      System.out.println("barrier.millis=" + (System.nanoTime() - t0) / 1_000_000);

      System.out.println("gather=" + Arrays.toString(group.allGather(rank * 10 + 0.5)));
    }
    System.out.println("live.groups=" + Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP));
  }

  /**
   * Many tensors of mixed sizes and dtypes, one larger than a bucket, one not contiguous: tensor i holds
   * {@code (rank + 1) * (i + 1) + (j % 7)} at element j, so that the sum over two ranks is
   * {@code 3 * (i + 1) + 2 * (j % 7)}.
   */
  private static void bucketed(ProcessGroup group) {
    List<Tensor> tensors = new ArrayList<>();
    long bytes = 0;
    for (int i = 0; i < 300; i++) {
      long n = i == 150 ? 7_000_000 : 1 + (i * 7919L) % 40_000; // one of 28 MB: a bucket of its own
      DType dtype = i % 5 == 4 ? DType.FLOAT64 : DType.FLOAT32;
      Tensor t = Torch.arange(0, n, 1, DType.INT64, Device.CPU).remainder(7).add((rank + 1) * (i + 1.0)).to(dtype);
      if (i == 7) t = t.view(n, 1).expand(n, 2).contiguous().transpose(0, 1); // not contiguous
      tensors.add(t);
      bytes += t.nbytes();
    }
    long t0 = System.nanoTime();
    group.allReduce(tensors, ReduceOp.SUM);
    long millis = (System.nanoTime() - t0) / 1_000_000;
    for (int i = 0; i < tensors.size(); i++) {
      Tensor t = tensors.get(i);
      long n = i == 7 ? t.size(1) : t.numel();
      Tensor expected = Torch.arange(0, n, 1, DType.INT64, Device.CPU).remainder(7).mul(2).add(3 * (i + 1.0)).to(t.dtype());
      if (i == 7) expected = expected.view(n, 1).expand(n, 2).transpose(0, 1);
      if (!t.equal(expected)) {
        System.out.println("bucketed=wrong tensor " + i + " of " + t.numel() + " elements: " + floats(t.flatten().slice(0, 0, 8)));
        return;
      }
    }
    System.out.println("bucketed=ok " + tensors.size() + " tensors, " + bytes + " bytes, " + millis + " ms");
  }

  // ------------------------------------------------------------------ with a Python rank

  /** The same collectives, in the same order, as rank.py runs. */
  private static void python(ProcessGroup group) {
    try (group; Scope s = Scope.open()) {
      Tensor t = Torch.tensor(new float[] {1, 2, 3, 4}, 4).mul(rank == 0 ? 1 : 10);
      group.allReduce(t, ReduceOp.SUM);
      System.out.println("sum=" + floats(t));
      Tensor m = Torch.tensor(rank == 0 ? new double[] {1, -5} : new double[] {-1, 5}, 2);
      group.allReduce(m, ReduceOp.MAX);
      System.out.println("max=" + floats(m));
      Tensor b0 = rank == 0 ? Torch.tensor(new float[] {5, 6, 7}, 3) : Torch.zeros(3);
      group.broadcast(b0, 0);
      System.out.println("broadcast0=" + floats(b0));
      Tensor b1 = rank == 1 ? Torch.tensor(new float[] {-1.5f, 2.5f}, 2) : Torch.zeros(2);
      group.broadcast(b1, 1);
      System.out.println("broadcast1=" + floats(b1));
      System.out.println("gather=" + Arrays.toString(group.allGather(rank * 10 + 0.5)));
      group.barrier();
    }
  }

  // ------------------------------------------------------------------ DistributedDataParallel

  /** Two layers and a buffer; {@code extra} is used in rank 0's forward pass only. */
  static final class Net extends Module {
    final Linear a = registerModule("a", new Linear(3, 4));
    final Linear b = registerModule("b", new Linear(4, 2));
    final Linear extra = registerModule("extra", new Linear(3, 1));
    final Tensor scale = registerBuffer("scale", Torch.full(new long[] {1}, rank + 1.0));

    Tensor loss(Tensor x) {
      Tensor y = b.forward(a.forward(x).tanh()).pow(2).sum().mul(scale);
      return rank == 0 ? y.add(extra.forward(x).sum()) : y;
    }
  }

  private static void ddp(ProcessGroup group) {
    Torch.manualSeed(100 + rank); // each rank initialises its own, different weights
    try (group; Net net = new Net(); Scope s = Scope.open()) {
      print("init.", net.stateDict());
      DistributedDataParallel ddp = new DistributedDataParallel(net, group);
      print("synced.", net.stateDict());
      Tensor x = Torch.tensor(new float[] {1, -2, 0.5f, 0.25f * (rank + 1), 3, -1}, 2, 3);
      net.loss(x).backward();
      for (var e : net.namedParameters().entrySet()) {
        Tensor g = e.getValue().grad();
        System.out.println("local." + e.getKey() + "=" + (g == null ? "none" : floats(g)));
      }
      ddp.averageGradients();
      for (var e : net.namedParameters().entrySet()) {
        System.out.println("avg." + e.getKey() + "=" + floats(e.getValue().grad()));
      }
    }
  }

  /** Rank 0 wraps a Linear(3, 2), rank 1 a Linear(3, 3). */
  private static void ddpMismatch(ProcessGroup group) {
    try (group; Linear layer = new Linear(3, rank == 0 ? 2 : 3)) {
      new DistributedDataParallel(layer, group);
    }
  }

  private static void print(String prefix, Map<String, Tensor> tensors) {
    tensors.forEach((k, v) -> System.out.println(prefix + k + "=" + floats(v)));
  }

  // ------------------------------------------------------------------ faults

  /** One collective together, then rank {@code victim} halts while the others are in the next one. */
  private static void die(ProcessGroup group, int victim) throws InterruptedException {
    try (Scope s = Scope.open()) {
      Tensor t = together(group);
      if (rank == victim) {
        Thread.sleep(500);
        Runtime.getRuntime().halt(7);
      }
      failing(group, () -> group.allReduce(t, ReduceOp.SUM));
    }
  }

  /** One collective together, then rank {@code sleeper} stays alive without taking part in the next one. */
  private static void hang(ProcessGroup group, int sleeper) throws InterruptedException {
    try (Scope s = Scope.open()) {
      together(group);
      if (rank == sleeper) {
        Thread.sleep(group.timeout().toMillis() + 3_000); // past the others' timeout, then gone
        Runtime.getRuntime().halt(0);
      }
      failing(group, group::barrier);
    }
  }

  /** @return the tensor of a first allReduce that every rank takes part in */
  private static Tensor together(ProcessGroup group) {
    Tensor t = Torch.ones(1000);
    group.allReduce(t, ReduceOp.SUM);
    System.out.println("first=" + t.toFloatArray()[0]);
    System.out.flush();
    return t;
  }

  /** Runs a collective that is to fail, prints how, then checks the group afterwards. */
  private static void failing(ProcessGroup group, Runnable collective) {
    long t0 = System.nanoTime();
    try {
      collective.run();
      System.out.println("second=passed");
    } catch (DistributedException e) {
      System.out.println("failed.millis=" + (System.nanoTime() - t0) / 1_000_000);
      printError(e);
    }
    afterFailure(group);
  }

  /** A failed group refuses the next collective at once, and closes promptly. */
  private static void afterFailure(ProcessGroup group) {
    long t0 = System.nanoTime();
    try {
      group.barrier();
      System.out.println("after=passed");
    } catch (DistributedException e) {
      System.out.println("after=" + (e.getMessage().contains("failed earlier") ? "refused" : e.getMessage()));
      System.out.println("after.millis=" + (System.nanoTime() - t0) / 1_000_000);
    }
    t0 = System.nanoTime();
    group.close();
    System.out.println("close.millis=" + (System.nanoTime() - t0) / 1_000_000);
  }

  /**
   * Rendezvous that cannot succeed, one after another in this JVM: rank 0 of 2 alone on a TCP store,
   * rank 1 of 2 at a port where nothing listens, rank 0 of 2 alone on a file store.
   */
  private static void rendezvousFaults(int unusedPort, Duration timeout) throws Exception {
    Path dir = java.nio.file.Files.createTempDirectory("ddpm4j-rendezvous");
    Map<String, Runnable> cases = new java.util.LinkedHashMap<>();
    cases.put("alone", () -> ProcessGroup.initProcessGroup("gloo", "127.0.0.1", unusedPort, 0, 2, timeout).close());
    cases.put("wrongport", () -> ProcessGroup.initProcessGroup("gloo", "127.0.0.1", unusedPort, 1, 2, timeout).close());
    cases.put("file", () -> ProcessGroup.initProcessGroup("gloo", dir.resolve("store"), 0, 2, timeout).close());
    for (var c : cases.entrySet()) {
      long t0 = System.nanoTime();
      try {
        c.getValue().run();
        System.out.println(c.getKey() + ".outcome=joined");
      } catch (DistributedException e) {
        System.out.println(c.getKey() + ".millis=" + (System.nanoTime() - t0) / 1_000_000);
        System.out.println(c.getKey() + ".reason=" + e.reason());
        System.out.println(c.getKey() + ".message=" + e.getMessage().replace('\n', ' '));
      }
    }
    System.out.println("live.groups=" + Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP));
  }
}
