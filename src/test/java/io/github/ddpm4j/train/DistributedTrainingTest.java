package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.ChildJvm;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training in separate JVMs on loopback ({@link DistributedTrainMain}, Gloo): two processes at
 * a global batch give the weights of one process at that batch; every rank holds the same weights and EMA;
 * a run resumes bit-identically on the same number of processes and continues on another; a killed worker
 * stops the other within the collective timeout, naming it, and the last checkpoint resumes.
 *
 * <p>The equivalence runs use dropout 0: each rank draws its dropout masks from its own generator, for its
 * own images, so with dropout the masks of two processes cannot be those of one.
 */
class DistributedTrainingTest extends TorchTestBase {
  private static final long STEPS = 6;
  /**
   * The bound on the relative difference (L2, over all weights but the attention key biases) between the
   * weights of one process and of two after {@link #STEPS} steps; 5.5e-8 is measured. The gradients of
   * the two differ by float32 rounding only (other summation orders over the batch), which Adam's
   * per-element normalisation lets grow where a gradient is itself small.
   */
  private static final double TOLERANCE = 1e-6;

  @TempDir static Path shared;
  private static Path data;
  /** One process, 6 steps at batch 8, dropout 0. */
  private static Path single;

  @TempDir Path dir;

  @BeforeAll
  static void trainOneProcess() throws Exception {
    data = TrainFixtures.data(shared.resolve("data"));
    single = shared.resolve("single");
    Run r = run(List.of(args(single, STEPS, 0.0, "new", 3, "single")), 0);
    assertEquals(0, r.codes[0], r.outputs[0]);
  }

  /** The arguments of {@link DistributedTrainMain} over the shared data, with batch 8 and a 60-second timeout. */
  static List<String> args(Path out, long steps, double dropout, String mode, long every, String group) {
    return List.of(data.toString(), out.toString(), Long.toString(steps), "8", Double.toString(dropout), mode, Long.toString(every), group,
        "60");
  }

  /** The exit codes and outputs of the processes of a run. */
  record Run(int[] codes, String[] outputs, Process[] processes) {}

  static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * Starts one JVM per argument list, rank by rank (torchrun's variables, port {@code port} on loopback
   * unless 0 for a single process), and waits for all of them.
   */
  static Run run(List<List<String>> perRank, int port) throws Exception {
    Process[] ps = start(perRank, port, perRank.size(), Map.of());
    return await(ps, 180);
  }

  static Process[] start(List<List<String>> perRank, int port, int worldSize, Map<String, String> extraEnv) throws IOException {
    Process[] ps = new Process[perRank.size()];
    for (int r = 0; r < ps.length; r++) {
      ProcessBuilder pb = new ProcessBuilder(ChildJvm.command(List.of(), List.of("-Xmx512m"), DistributedTrainMain.class,
          perRank.get(r).toArray(String[]::new))).redirectErrorStream(true);
      if (port > 0) {
        pb.environment().putAll(Map.of("MASTER_ADDR", "127.0.0.1", "MASTER_PORT", Integer.toString(port), "RANK", Integer.toString(r),
            "WORLD_SIZE", Integer.toString(worldSize), "LOCAL_RANK", Integer.toString(r), "LOCAL_WORLD_SIZE", Integer.toString(worldSize)));
      }
      pb.environment().putAll(extraEnv);
      ps[r] = pb.start();
    }
    return ps;
  }

  static Run await(Process[] ps, long seconds) throws Exception {
    String[] outputs = new String[ps.length];
    int[] codes = new int[ps.length];
    List<Thread> readers = new ArrayList<>();
    for (int r = 0; r < ps.length; r++) {
      int rank = r;
      readers.add(Thread.ofPlatform().start(() -> {
        try {
          outputs[rank] = new String(ps[rank].getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
          outputs[rank] = e.toString();
        }
      }));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    for (int r = 0; r < ps.length; r++) {
      if (!ps[r].waitFor(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
        for (Process p : ps) p.destroyForcibly();
        throw new AssertionError("rank " + r + " did not finish within " + seconds + " s");
      }
      codes[r] = ps[r].exitValue();
    }
    for (Thread t : readers) t.join();
    return new Run(codes, outputs, ps);
  }

  static Run twoRanks(Path out, long steps, double dropout, String mode) throws Exception {
    int port = freePort();
    Run r = run(List.of(args(out, steps, dropout, mode, 3, "env"), args(out, steps, dropout, mode, 3, "env")), port);
    for (int rank = 0; rank < 2; rank++) assertEquals(0, r.codes[rank], "rank " + rank + ":\n" + r.outputs[rank]);
    return r;
  }

  /**
   * The largest relative L2 difference over the tensors under {@code prefix}, and over all of them together,
   * without the attention blocks' key biases (the middle third of each {@code attn.projection.bias}): softmax
   * is unchanged when the same vector is added to every key, so their gradient is zero in exact arithmetic,
   * and what is computed for it is rounding noise, which Adam (dividing each gradient by its own RMS)
   * turns into steps of up to the learning rate, in one process as in two.
   *
   * @return {worst tensor, all tensors, the key biases' largest absolute difference}
   */
  static double[] relativeDifference(Path expected, Path actual, String prefix) throws IOException {
    try (StateDict a = StateDict.loadPyTorch(expected); StateDict b = StateDict.loadPyTorch(actual); Scope s = Scope.open()) {
      Map<String, Tensor> wa = Checkpoint.weights(a, prefix), wb = Checkpoint.weights(b, prefix);
      assertEquals(wa.keySet(), wb.keySet());
      double worst = 0, diff2 = 0, norm2 = 0, keyBias = 0;
      for (String k : wa.keySet()) {
        Tensor x = wa.get(k).to(DType.FLOAT64), y = wb.get(k).to(DType.FLOAT64);
        if (k.endsWith("attn.projection.bias")) {
          long c = x.size(0) / 3;
          keyBias = Math.max(keyBias, y.slice(0, c, 2 * c).sub(x.slice(0, c, 2 * c)).abs().amax().item());
          x = Torch.cat(List.of(x.slice(0, 0, c), x.slice(0, 2 * c, 3 * c)), 0);
          y = Torch.cat(List.of(y.slice(0, 0, c), y.slice(0, 2 * c, 3 * c)), 0);
        }
        double d = y.sub(x).pow(2).sum().item(), n = x.pow(2).sum().item();
        diff2 += d;
        norm2 += n;
        if (n > 0) worst = Math.max(worst, Math.sqrt(d / n));
      }
      return new double[] {worst, Math.sqrt(diff2 / norm2), keyBias};
    }
  }

  static List<Double> losses(Path run) throws IOException {
    List<Double> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("loss.csv"))) if (!line.startsWith("step")) out.add(Double.parseDouble(line.split(",")[1]));
    return out;
  }

  @Test
  void twoProcessesAtAGlobalBatchGiveTheWeightsOfOneAtThatBatch() throws Exception {
    Path two = dir.resolve("two");
    Run r = twoRanks(two, STEPS, 0.0, "new");
    assertTrue(r.outputs[0].contains("in each of 2 processes (4 images of each batch of 8)"), r.outputs[0]);
    assertTrue(r.outputs[0].contains("averaging"), r.outputs[0]);
    assertEquals("", r.outputs[1].lines().filter(l -> l.startsWith("ddpm4j:")).reduce("", String::concat), "rank 1 logs nothing");
    double[] weights = relativeDifference(single.resolve("checkpoint.pt"), two.resolve("checkpoint.pt"), "model.");
    double[] ema = relativeDifference(single.resolve("checkpoint.pt"), two.resolve("checkpoint.pt"), "ema.");
    List<Double> one = losses(single), both = losses(two);
    double lossDiff = 0;
    for (int i = 0; i < one.size(); i++) lossDiff = Math.max(lossDiff, Math.abs(both.get(i) - one.get(i)));
    System.out.printf(Locale.ROOT, "distributed equivalence after %d steps: weights relative L2 difference %.3g (worst tensor %.3g), EMA %.3g "
        + "(worst %.3g); key biases within %.3g; losses within %.3g%n", STEPS, weights[1], weights[0], ema[1], ema[0], weights[2], lossDiff);
    assertEquals(one.size(), both.size());
    assertTrue(weights[1] <= TOLERANCE, "weights differ by " + weights[1]);
    assertTrue(ema[1] <= TOLERANCE, "EMA weights differ by " + ema[1]);
    assertTrue(weights[0] <= 10 * TOLERANCE, "a tensor's weights differ by " + weights[0]);
    assertTrue(weights[2] <= 2e-3 * STEPS, "key biases move by at most lr a step: " + weights[2]);
    assertTrue(lossDiff <= 1.5e-6, "losses differ by " + lossDiff + " (loss.csv keeps 6 decimals)");
    try (Checkpoint.Contents c = Checkpoint.read(two.resolve("checkpoint.pt"))) {
      assertEquals(2, c.worldSize());
      assertTrue(c.rankTorchRng(1) != null);
    }
  }

  /**
   * Gradient accumulation data-parallel: two micro-batches of 4 images a step, 2 of each on each of two processes, with
   * one gradient all-reduce a step, give the weights of one process accumulating the same micro-batches.
   */
  @Test
  void twoProcessesAccumulatingMicroBatchesGiveTheWeightsOfOne() throws Exception {
    Path one = dir.resolve("one"), two = dir.resolve("two");
    java.util.function.BiFunction<Path, String, List<String>> argsOf = (out, group) -> List.of(data.toString(), out.toString(), "4", "4",
        "0.0", "new", "4", group, "60", "2");
    Run r1 = run(List.of(argsOf.apply(one, "single")), 0);
    assertEquals(0, r1.codes[0], r1.outputs[0]);
    Run r2 = run(List.of(argsOf.apply(two, "env"), argsOf.apply(two, "env")), freePort());
    for (int rank = 0; rank < 2; rank++) assertEquals(0, r2.codes[rank], "rank " + rank + ":\n" + r2.outputs[rank]);
    double[] weights = relativeDifference(one.resolve("checkpoint.pt"), two.resolve("checkpoint.pt"), "model.");
    assertTrue(weights[1] <= TOLERANCE, "weights differ by " + weights[1]);
    try (Checkpoint.Contents c = Checkpoint.read(two.resolve("checkpoint.pt"))) {
      assertEquals(2, c.config().gradAccumulation());
      assertEquals(2, c.worldSize());
    }
  }

  @Test
  void everyRankHoldsTheSameWeightsAndEmaAndAResumeOnTwoIsBitIdentical() throws Exception {
    Path whole = dir.resolve("whole");
    Run r = twoRanks(whole, STEPS, 0.1, "new");
    long ema0 = ChildJvm.value(new ChildJvm.Result(0, r.outputs[0]), "ema");
    assertEquals(ema0, ChildJvm.value(new ChildJvm.Result(0, r.outputs[1]), "ema"), "rank 1's EMA weights are rank 0's");
    assertEquals(ChildJvm.value(new ChildJvm.Result(0, r.outputs[0]), "weights"), ChildJvm.value(new ChildJvm.Result(0, r.outputs[1]), "weights"));
    assertEquals(STEPS, ChildJvm.value(new ChildJvm.Result(0, r.outputs[1]), "fingerprint_step"));
    try (StateDict ck = StateDict.loadPyTorch(whole.resolve("checkpoint.pt"))) {
      assertEquals(ema0, Trainer.fingerprint(Checkpoint.weights(ck, "ema.").values()), "the fingerprint is of the checkpoint's EMA weights");
    }
    Path resumed = dir.resolve("resumed");
    twoRanks(resumed, 3, 0.1, "new");
    Run second = twoRanks(resumed, STEPS, 0.1, "resume");
    assertTrue(second.outputs[0].contains("resuming at step 3 of 6"), second.outputs[0]);
    assertArrayEquals(TrainFixtures.largestEmaWeight(whole.resolve("checkpoint.pt")), TrainFixtures.largestEmaWeight(resumed.resolve("checkpoint.pt")));
    assertEquals(0.0, relativeDifference(whole.resolve("checkpoint.pt"), resumed.resolve("checkpoint.pt"), "model.")[0],
        "with every rank's dropout generator restored, the resumed run is the uninterrupted one, bit for bit");
    assertEquals(losses(whole), losses(resumed));
  }

  @Test
  void aRunOfTwoProcessesContinuesOnOne() throws Exception {
    Path out = dir.resolve("two-then-one");
    twoRanks(out, 3, 0.0, "new");
    Run r = run(List.of(args(out, STEPS, 0.0, "resume", 3, "single")), 0);
    assertEquals(0, r.codes[0], r.outputs[0]);
    assertTrue(r.outputs[0].contains("the checkpoint was written by 2 processes, this run has 1: the batches of 8 images, their order and "
        + "their noise go on unchanged, each process now takes 8 images of each"), r.outputs[0]);
    double[] weights = relativeDifference(single.resolve("checkpoint.pt"), out.resolve("checkpoint.pt"), "model.");
    System.out.printf(Locale.ROOT, "2 processes for 3 steps, then 1 for 3: weights relative L2 difference %.3g (worst tensor %.3g)%n",
        weights[1], weights[0]);
    assertTrue(weights[1] <= TOLERANCE, "weights differ by " + weights[1]);
    try (Checkpoint.Contents c = Checkpoint.read(out.resolve("checkpoint.pt"))) {
      assertEquals(1, c.worldSize());
    }
  }

  @Test
  void aKilledWorkerStopsTheOtherWithinTheTimeoutNamingItAndTheLastCheckpointResumes() throws Exception {
    Path out = dir.resolve("killed");
    int port = freePort();
    List<String> a = new ArrayList<>(args(out, 1_000_000, 0.1, "new", 2, "env"));
    a.set(a.size() - 1, "10");
    Process[] ps = start(List.of(a, a), port, 2, Map.of());
    try {
      for (int i = 0; i < 1200 && !Files.exists(out.resolve("checkpoint.pt")); i++) Thread.sleep(50);
      assertTrue(Files.exists(out.resolve("checkpoint.pt")), "no checkpoint after a minute");
      Thread.sleep(300);
      long t0 = System.nanoTime();
      ps[1].destroyForcibly();
      Run r = await(ps, 40);
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.out.printf(Locale.ROOT, "killed rank 1: rank 0 stopped after %.1f s (timeout 10 s) with: %s%n", seconds,
          r.outputs[0].lines().filter(l -> l.contains("rank 1")).findFirst().orElse("?"));
      assertNotEquals(0, r.codes[0], r.outputs[0]);
      assertTrue(seconds < 10 + 5, "rank 0 took " + seconds + " s to stop");
      assertTrue(r.outputs[0].contains("rank 1"), "rank 0's error names rank 1:\n" + r.outputs[0]);
    } finally {
      for (Process p : ps) p.destroyForcibly();
    }
    long step;
    try (Checkpoint.Contents c = Checkpoint.read(out.resolve("checkpoint.pt"))) {
      step = c.step();
      assertEquals(2, c.worldSize());
    }
    Run resumed = twoRanks(out, step + 2, 0.1, "resume");
    assertTrue(resumed.outputs[0].contains("resuming at step " + step + " of " + (step + 2)), resumed.outputs[0]);
    assertEquals(step + 2, ChildJvm.value(new ChildJvm.Result(0, resumed.outputs[1]), "done"));
  }

  @Test
  void aFrozenWorkerStopsTheOtherAtTheCollectiveTimeout() throws Exception {
    Path out = dir.resolve("frozen");
    List<String> a = new ArrayList<>(args(out, 1_000_000, 0.1, "new", 2, "env"));
    a.set(a.size() - 1, "5");
    Process[] ps = start(List.of(a, a), freePort(), 2, Map.of());
    try {
      for (int i = 0; i < 1200 && !Files.exists(out.resolve("checkpoint.pt")); i++) Thread.sleep(50);
      assertTrue(Files.exists(out.resolve("checkpoint.pt")), "no checkpoint after a minute");
      long t0 = System.nanoTime();
      assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(ps[1].pid())).start().waitFor());
      assertTrue(ps[0].waitFor(40, TimeUnit.SECONDS), "rank 0 still waits 40 s after rank 1 froze");
      double seconds = (System.nanoTime() - t0) / 1e9;
      String out0 = new String(ps[0].getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      String error = out0.lines().filter(l -> l.contains("DistributedException")).findFirst().orElse(out0);
      System.out.printf(Locale.ROOT, "froze rank 1: rank 0 stopped after %.1f s (timeout 5 s) with: %s%n", seconds, error);
      assertNotEquals(0, ps[0].exitValue());
      assertTrue(seconds >= 4 && seconds < 5 + 10, "rank 0 stopped after " + seconds + " s, the timeout is 5 s");
      assertTrue(error.contains("timed out"), error);
    } finally {
      for (Process p : ps) p.destroyForcibly();
    }
    try (Checkpoint.Contents c = Checkpoint.read(out.resolve("checkpoint.pt"))) {
      assertTrue(c.step() >= 2);
    }
  }

  @Test
  void sigtermToOneWorkerStopsBothAfterTheSameStepWithACheckpoint() throws Exception {
    Path out = dir.resolve("sigterm");
    List<String> a = args(out, 1_000_000, 0.1, "new", 1_000_000, "env");
    Process[] ps = start(List.of(a, a), freePort(), 2, Map.of());
    try {
      for (int i = 0; i < 1200 && stepsDone(out) < 3; i++) Thread.sleep(50);
      assertTrue(stepsDone(out) >= 3, "fewer than 3 steps after a minute");
      ps[1].destroy(); // SIGTERM to rank 1 alone
      Run r = await(ps, 60);
      assertEquals(143, r.codes[1], "rank 1 ends as a JVM stopped by SIGTERM:\n" + r.outputs[1]);
      assertEquals(0, r.codes[0], r.outputs[0]);
      long done = ChildJvm.value(new ChildJvm.Result(0, r.outputs[0]), "done");
      assertTrue(r.outputs[0].contains("ddpm4j: interrupted at step " + done + ": wrote checkpoint.pt"), r.outputs[0]);
      try (Checkpoint.Contents c = Checkpoint.read(out.resolve("checkpoint.pt"))) {
        assertEquals(done, c.step(), "rank 0 wrote the checkpoint of the step both stopped after");
        assertEquals(2, c.worldSize());
      }
      assertEquals(done, stepsDone(out));
    } finally {
      for (Process p : ps) p.destroyForcibly();
    }
  }

  /** @return the rows of loss.csv on disk, or 0 */
  private static long stepsDone(Path out) throws IOException {
    Path csv = out.resolve("loss.csv");
    return Files.exists(csv) ? Files.readAllLines(csv).stream().filter(l -> !l.isBlank() && !l.startsWith("step")).count() : 0;
  }

  @Test
  void aStartThatFailsOnOneRankStopsTheOtherAtOnceNamingIt() throws Exception {
    Path out = Files.createDirectories(dir.resolve("taken"));
    Files.writeString(out.resolve("loss.csv"), "step,loss,lr,seconds\n");
    long t0 = System.nanoTime();
    Run r = run(List.of(args(out, 3, 0.0, "new", 3, "env"), args(out, 3, 0.0, "new", 3, "env")), freePort());
    double seconds = (System.nanoTime() - t0) / 1e9;
    assertNotEquals(0, r.codes[0]);
    assertNotEquals(0, r.codes[1]);
    assertTrue(r.outputs[0].contains("ExistingRunException"), r.outputs[0]);
    assertTrue(r.outputs[1].contains("rank 0 of 2 could not prepare the output folder (see its own error); stopping"), r.outputs[1]);
    assertTrue(seconds < 50, "took " + seconds + " s; the timeout is 60 s");
  }
}
