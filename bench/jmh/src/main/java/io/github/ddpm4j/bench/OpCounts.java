package io.github.ddpm4j.bench;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.optim.AdamOptions;
import io.github.ddpm4j.torch.CpuCache;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.Locale;

/**
 * Per-op counts that the machine's speed cannot move, for the workloads of
 * {@link DowncallBenchmark} and {@link UNetBenchmark}: native downcalls per op (the difference
 * of two {@link Torch#nativeCallCount()} readings, so the library must be a build with
 * {@code DDPM4J_COUNT_CALLS=ON}) and Java heap bytes allocated per op by the measuring thread
 * ({@link com.sun.management.ThreadMXBean#getCurrentThreadAllocatedBytes()}), both read around
 * the measured ops after a warm-up that lets the JIT compile the path.
 *
 * <p>Usage: {@code java -Xbatch --enable-native-access=ALL-UNNAMED -Dddpm4j.library=<counting libddpm4j.so>
 * -cp benchmarks.jar io.github.ddpm4j.bench.OpCounts [--threads 2] [--only add16,forward]};
 * prints one JSON line per workload: {@code workload}, {@code ops}, {@code downcalls_per_op}
 * (null when the library does not count), {@code java_bytes_per_op}. bench/run runs it.
 *
 * <p>The bytes depend on what the JIT compiled and inlined (escape analysis removes some
 * allocations). With {@code -Xbatch} it compiles in the foreground, so that its choices do not
 * depend on timing, and the bytes repeat exactly from run to run; without it, two runs of the
 * forward pass settled at 46,487 and 49,751 bytes per call. The counter counts every thread's
 * calls, so OpCounts turns off the CPU cache's idle trimming ({@code -Dddpm4j.cpuCacheMaxIdle=0}
 * unless given), whose thread would otherwise add a call every 2.5 s.
 *
 * <ul>
 *   <li>{@code add16}: {@code c = a.add(b); c.close()} on two 16-element float32 tensors, no scope open
 *   <li>{@code add16 scoped}: the same inside an open {@link Scope}
 *   <li>{@code forward cpu-default b1}: one UNet forward pass at batch 1, evaluation and inference mode
 *   <li>{@code train cpu-default b32}: one training step at batch 32 (forward, MSE, backward, Adam, zero_grad)
 * </ul>
 */
public final class OpCounts {
  private OpCounts() {}

  /** The workloads, in the order they run. */
  static final List<String> WORKLOADS = List.of("add16", "add16 scoped", "forward cpu-default b1", "train cpu-default b32");

  private static long allocatedBytes() {
    return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
  }

  /** The counters' readings at the start of a measurement. */
  private record Start(long calls, long bytes) {
    static Start now() {
      long calls = Torch.nativeCallCount();
      return new Start(calls, allocatedBytes());
    }

    /** Prints the JSON line of {@code ops} ops measured since this start. */
    void report(String workload, long ops) {
      long bytes = allocatedBytes() - this.bytes;
      long calls = Torch.nativeCallCount();
      String downcalls = this.calls < 0 ? "null" : String.format(Locale.ROOT, "%.3f", (double) (calls - this.calls) / ops);
      System.out.printf(Locale.ROOT, "{\"workload\": \"%s\", \"ops\": %d, \"downcalls_per_op\": %s, \"java_bytes_per_op\": %.1f}%n",
          workload, ops, downcalls, (double) bytes / ops);
      System.out.flush();
    }
  }

  /**
   * @param args {@code --threads N} (LibTorch intra-op threads, default 2), {@code --only a,b} (run the workloads
   *     whose names contain one of these)
   */
  public static void main(String[] args) {
    // The counter is process-wide: keep the CPU cache's trimming thread, which calls into the
    // shim every few seconds, from adding calls (read when the library loads, which is below).
    if (System.getProperty(CpuCache.MAX_IDLE_PROPERTY) == null) System.setProperty(CpuCache.MAX_IDLE_PROPERTY, "0");
    int threads = 2;
    String only = "";
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--threads" -> threads = Integer.parseInt(args[i + 1]);
        case "--only" -> only = args[i + 1];
        default -> throw new IllegalArgumentException("unknown argument " + args[i] + " (--threads N, --only a,b)");
      }
    }
    if (Torch.nativeCallCount() < 0) {
      System.err.println("OpCounts: the native library does not count its calls (build it with -DDDPM4J_COUNT_CALLS=ON and "
          + "pass it with -Dddpm4j.library=...): downcalls are null");
    }
    for (String w : WORKLOADS) {
      if (!selected(w, only)) continue;
      switch (w) {
        case "add16" -> add16(threads, false);
        case "add16 scoped" -> add16(threads, true);
        case "forward cpu-default b1" -> forward(threads);
        case "train cpu-default b32" -> train(threads);
        default -> throw new AssertionError(w);
      }
    }
  }

  private static boolean selected(String workload, String only) {
    if (only.isEmpty()) return true;
    for (String s : only.split(",")) {
      if (!s.isEmpty() && workload.contains(s)) return true;
    }
    return false;
  }

  /** {@link DowncallBenchmark#add16()} and {@link DowncallBenchmark#add16Scoped}. */
  private static void add16(int threads, boolean scoped) {
    final int warmup = 200_000, ops = 200_000;
    Torch.setNumThreads(threads);
    Torch.manualSeed(0);
    try (Tensor a = Torch.randn(16); Tensor b = Torch.randn(16); Scope s = scoped ? Scope.open() : null) {
      boolean closed = true;
      for (int i = 0; i < warmup; i++) closed &= add16(a, b);
      Start start = Start.now();
      for (int i = 0; i < ops; i++) closed &= add16(a, b);
      start.report(scoped ? "add16 scoped" : "add16", ops);
      if (!closed) throw new AssertionError("a result stayed open");
    }
  }

  private static boolean add16(Tensor a, Tensor b) {
    Tensor c = a.add(b);
    c.close();
    return c.isClosed();
  }

  /** {@link UNetBenchmark#forward()} for cpu-default at batch 1. */
  private static void forward(int threads) {
    final int warmup = 300, ops = 50;
    try (UNet model = BenchModels.model("cpu-default", Device.CPU, threads);
         Tensor x = Torch.randn(new long[] {1, 1, BenchModels.IMAGE_SIZE, BenchModels.IMAGE_SIZE}, DType.FLOAT32, Device.CPU, null);
         Tensor t = Torch.randint(0, 1000, new long[] {1}, Device.CPU, null)) {
      for (int i = 0; i < warmup; i++) forward(model, x, t);
      Start start = Start.now();
      for (int i = 0; i < ops; i++) forward(model, x, t);
      start.report("forward cpu-default b1", ops);
    }
  }

  private static void forward(UNet model, Tensor x, Tensor t) {
    model.eval();
    try (GradMode g = GradMode.inferenceMode(); Tensor eps = model.forward(x, t)) {
      if (eps.isClosed()) throw new AssertionError();
    }
  }

  /**
   * {@link UNetBenchmark#trainStep()} for cpu-default at batch 32, fp32. The JIT warms up on
   * steps at batch 1, as UNetBenchmark's setup does: the Java path is the same for every batch.
   */
  private static void train(int threads) {
    final int warmup = 100, ops = 3;
    final long batch = 32;
    try (UNet model = BenchModels.model("cpu-default", Device.CPU, threads);
         Adam adam = new Adam(model.parameters(), AdamOptions.adam(2e-5));
         Tensor x1 = Torch.randn(new long[] {1, 1, BenchModels.IMAGE_SIZE, BenchModels.IMAGE_SIZE}, DType.FLOAT32, Device.CPU, null);
         Tensor t1 = Torch.randint(0, 1000, new long[] {1}, Device.CPU, null);
         Tensor x = Torch.randn(new long[] {batch, 1, BenchModels.IMAGE_SIZE, BenchModels.IMAGE_SIZE}, DType.FLOAT32, Device.CPU, null);
         Tensor t = Torch.randint(0, 1000, new long[] {batch}, Device.CPU, null);
         Tensor noise = Torch.randnLike(x, null)) {
      for (int i = 0; i < warmup; i++) trainStep(model, adam, x1, t1, x1);
      trainStep(model, adam, x, t, noise);
      Start start = Start.now();
      for (int i = 0; i < ops; i++) trainStep(model, adam, x, t, noise);
      start.report("train cpu-default b32", ops);
    }
  }

  private static void trainStep(UNet model, Adam adam, Tensor x, Tensor t, Tensor noise) {
    model.train(true);
    try (Scope s = Scope.open()) {
      Functional.mseLoss(model.forward(x, t), noise, Functional.Reduction.MEAN).backward();
      adam.step();
      adam.zeroGrad();
    }
  }
}
