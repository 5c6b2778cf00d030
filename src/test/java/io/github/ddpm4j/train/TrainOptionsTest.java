package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The training options of {@link Trainer}: the cosine learning rate, gradient accumulation, kept checkpoints and
 * evaluation during training, on the tiny model of {@link TrainFixtures}.
 */
class TrainOptionsTest extends TorchTestBase {
  @TempDir static Path shared;
  private static Path data;

  @TempDir Path dir;

  @BeforeAll
  static void makeData() throws IOException {
    useTestThreads();
    data = TrainFixtures.data(shared.resolve("data"));
  }

  /** The fixture run with another batch size, accumulation, learning-rate schedule, dropout and image limit. */
  static TrainConfig config(long steps, int batch, int accumulation, LrSchedule schedule, double dropout, long limit) {
    TrainConfig c = TrainFixtures.config(data, steps);
    UNetConfig m = TrainFixtures.TINY;
    UNetConfig model = new UNetConfig(m.imageChannels(), m.nChannels(), m.chMults(), m.isAttn(), m.nBlocks(), dropout, m.nGroups(),
        m.finalGroups());
    return new TrainConfig(c.data(), c.imageSize(), limit, c.flip(), model, c.schedule(), c.timesteps(), c.betaStart(), c.betaEnd(), batch,
        steps, c.lr(), c.warmupSteps(), c.gradClip(), c.emaDecay(), c.emaWarmup(), c.seed(), c.precision(), c.prediction(),
        c.lossWeighting(), c.snrGamma(), schedule, accumulation, c.pUncond());
  }

  private static Trainer trainer(TrainConfig config, Trainer.Output output) {
    return new Trainer(config, output, Device.CPU, new PrintWriter(new StringWriter(), true));
  }

  /** Checkpoints every {@code every} steps, no sample grids, {@code keep} kept checkpoints, evaluation every {@code evalEvery} of 3 images. */
  private static Trainer.Output output(Path out, long every, int keep, long evalEvery) {
    return new Trainer.Output(out, every, 0, 4, TrainFixtures.ddim(3), false, keep, evalEvery, 3);
  }

  /** The {@code column}-th column of a CSV file's rows, the header left out. */
  private static List<String> column(Path csv, int column) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(csv)) if (!line.startsWith("step")) out.add(line.split(",")[column]);
    return out;
  }

  // ---- learning-rate schedule

  @Test
  void aCosineRunUsesTheCosineRatesAndResumesBitForBit() throws IOException {
    TrainConfig cosine = config(6, 8, 1, LrSchedule.COSINE, 0.1, 0);
    Path whole = dir.resolve("whole");
    assertEquals(6, trainer(cosine, output(whole, 3, 0, 0)).run(Trainer.Mode.NEW));
    // lr 2e-3, warm-up 3 of 6: 2e-3 (1 + cos(pi (s - 3) / 3)) / 2 after it
    assertEquals(List.of("6.667e-04", "1.333e-03", "2.000e-03", "2.000e-03", "1.500e-03", "5.000e-04"), column(whole.resolve("loss.csv"), 2));

    Path parts = dir.resolve("parts");
    Trainer first = trainer(cosine, output(parts, 3, 0, 0));
    first.onStep(step -> {
      if (step == 4) first.requestStop();
    });
    assertEquals(4, first.run(Trainer.Mode.NEW));
    assertEquals(6, trainer(cosine, output(parts, 3, 0, 0)).run(Trainer.Mode.RESUME));
    TrainerTest.assertSameCheckpoint(whole.resolve("checkpoint.pt"), parts.resolve("checkpoint.pt"));
    assertEquals(column(whole.resolve("loss.csv"), 1), column(parts.resolve("loss.csv"), 1));
  }

  // ---- gradient accumulation

  /**
   * Two micro-batches of 4 draw the images, flips, timesteps and noise of one batch of 8, and their gradients
   * (each loss halved) sum to that batch's: with dropout 0 the weights agree up to float rounding, which Adam
   * may enlarge where a gradient is tiny. 16 images, so that the epochs end at the same steps. A batch of 4
   * without accumulation, the control, is far from both.
   */
  @Test
  void twoMicroBatchesOfFourTrainAsOneBatchOfEight() throws IOException {
    Path big = dir.resolve("big"), accumulated = dir.resolve("accumulated"), small = dir.resolve("small");
    trainer(config(5, 8, 1, LrSchedule.CONSTANT, 0.0, 16), output(big, 5, 0, 0)).run(Trainer.Mode.NEW);
    trainer(config(5, 4, 2, LrSchedule.CONSTANT, 0.0, 16), output(accumulated, 5, 0, 0)).run(Trainer.Mode.NEW);
    trainer(config(5, 4, 1, LrSchedule.CONSTANT, 0.0, 16), output(small, 5, 0, 0)).run(Trainer.Mode.NEW);
    double[] same = DistributedTrainingTest.relativeDifference(big.resolve("checkpoint.pt"), accumulated.resolve("checkpoint.pt"), "model.");
    double[] ema = DistributedTrainingTest.relativeDifference(big.resolve("checkpoint.pt"), accumulated.resolve("checkpoint.pt"), "ema.");
    double[] control = DistributedTrainingTest.relativeDifference(big.resolve("checkpoint.pt"), small.resolve("checkpoint.pt"), "model.");
    System.out.printf(java.util.Locale.ROOT, "accumulation 2 x 4 vs batch 8 after 5 steps: weights relative L2 difference %.3g, EMA %.3g; "
        + "batch 4 alone %.3g%n", same[1], ema[1], control[1]);
    assertTrue(same[1] <= 1e-6, "weights differ by " + same[1]);
    assertTrue(ema[1] <= 1e-6, "EMA weights differ by " + ema[1]);
    assertTrue(control[1] > 1e-4, "the control differs: " + control[1]);
    List<String> a = column(big.resolve("loss.csv"), 1), b = column(accumulated.resolve("loss.csv"), 1);
    assertEquals(5, b.size(), "one loss row per optimizer step");
    for (int i = 0; i < a.size(); i++) {
      assertEquals(Double.parseDouble(a.get(i)), Double.parseDouble(b.get(i)), 2e-6, "the mean of the micro-batches' losses, step " + i);
    }
    try (StateDict ck = Checkpoint.open(accumulated.resolve("checkpoint.pt"))) {
      assertEquals(8, Checkpoint.meta(ck, "meta.loader_position"), "5 steps of 2 micro-batches of 4: 40 images, 16 an epoch");
    }
  }

  @Test
  void anAccumulatingRunStoppedAndResumedIsBitIdenticalToAnUninterruptedOne() throws IOException {
    TrainConfig c = config(5, 4, 3, LrSchedule.COSINE, 0.1, 0);
    Path whole = dir.resolve("whole"), parts = dir.resolve("parts");
    assertEquals(5, trainer(c, output(whole, 3, 0, 0)).run(Trainer.Mode.NEW));
    Trainer first = trainer(c, output(parts, 3, 0, 0));
    first.onStep(step -> {
      if (step == 2) first.requestStop();
    });
    assertEquals(2, first.run(Trainer.Mode.NEW));
    try (StateDict ck = Checkpoint.open(parts.resolve("checkpoint.pt"))) {
      assertEquals(4, Checkpoint.meta(ck, "meta.loader_position"), "2 steps of 3 micro-batches of 4 in epochs of 20: 24 images");
    }
    assertEquals(5, trainer(c, output(parts, 3, 0, 0)).run(Trainer.Mode.RESUME));
    TrainerTest.assertSameCheckpoint(whole.resolve("checkpoint.pt"), parts.resolve("checkpoint.pt"));
    assertEquals(column(whole.resolve("loss.csv"), 1), column(parts.resolve("loss.csv"), 1));
  }

  /**
   * float16 with its loss scaler: each micro-batch's loss is scaled, the gradients unscaled once. Accumulating
   * 2 x 4 then trains as a batch of 8 does in float16, up to float16's rounding (CUDA only: float16 needs it).
   */
  @Test
  void float16AccumulationScalesEachMicroBatchAndTrainsAsOneBatch() throws IOException {
    org.junit.jupiter.api.Assumptions.assumeTrue(io.github.ddpm4j.torch.Torch.cudaIsAvailable(), "float16 training needs CUDA");
    Path big = dir.resolve("big"), accumulated = dir.resolve("accumulated");
    for (Object[] run : new Object[][] {{big, 8, 1}, {accumulated, 4, 2}}) {
      TrainConfig c = config(5, (Integer) run[1], (Integer) run[2], LrSchedule.CONSTANT, 0.0, 16);
      TrainConfig fp16 = new TrainConfig(c.data(), c.imageSize(), c.limit(), c.flip(), c.model(), c.schedule(), c.timesteps(), c.betaStart(),
          c.betaEnd(), c.batchSize(), c.trainSteps(), c.lr(), c.warmupSteps(), c.gradClip(), c.emaDecay(), c.emaWarmup(), c.seed(),
          io.github.ddpm4j.torch.Precision.FP16, c.prediction(), c.lossWeighting(), c.snrGamma(), c.lrSchedule(), c.gradAccumulation(),
          c.pUncond());
      new Trainer(fp16, output((Path) run[0], 5, 0, 0), Device.cuda(0), new PrintWriter(new StringWriter(), true)).run(Trainer.Mode.NEW);
    }
    for (String loss : column(accumulated.resolve("loss.csv"), 1)) assertTrue(Double.isFinite(Double.parseDouble(loss)), loss);
    double[] diff = DistributedTrainingTest.relativeDifference(big.resolve("checkpoint.pt"), accumulated.resolve("checkpoint.pt"), "model.");
    assertTrue(diff[1] <= 1e-3, "float16 weights differ by " + diff[1]);
  }

  // ---- kept checkpoints

  private static List<String> kept(Path run) throws IOException {
    Path folder = run.resolve("checkpoints");
    if (!Files.isDirectory(folder)) return List.of();
    try (Stream<Path> files = Files.list(folder)) {
      return files.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void theNewestCheckpointsAreKeptAndOlderOnesDeletedAfterTheNewOneIsInPlace() throws IOException {
    Path run = dir.resolve("run");
    Trainer t = trainer(config(5, 8, 1, LrSchedule.CONSTANT, 0.1, 0), output(run, 1, 2, 0));
    List<List<String>> seen = new ArrayList<>();
    t.onCheckpoint(step -> {
      try {
        seen.add(kept(run));
        byte[] latest = Files.readAllBytes(run.resolve("checkpoint.pt"));
        assertArrayEquals(latest, Files.readAllBytes(run.resolve(String.format("checkpoints/step-%06d.pt", step))));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    assertEquals(5, t.run(Trainer.Mode.NEW));
    assertEquals(List.of(List.of("step-000001.pt"), List.of("step-000001.pt", "step-000002.pt"), List.of("step-000002.pt", "step-000003.pt"),
        List.of("step-000003.pt", "step-000004.pt"), List.of("step-000004.pt", "step-000005.pt")), seen);
    try (StateDict ck = Checkpoint.open(run.resolve("checkpoints/step-000004.pt"))) {
      assertEquals(4, Checkpoint.meta(ck, "meta.step"), "an older kept checkpoint is that step's, not overwritten by the later ones");
    }
    assertFalse(Files.exists(run.resolve("checkpoint-best.pt")), "no evaluation, no best checkpoint");
  }

  @Test
  void aCheckpointsFileOrAnEvalCsvFolderIsNamedBeforeTraining() throws IOException {
    Path run = Files.createDirectories(dir.resolve("run"));
    Files.writeString(run.resolve("checkpoints"), "not a folder");
    java.nio.file.FileSystemException e = assertThrows(java.nio.file.FileSystemException.class,
        () -> trainer(config(2, 8, 1, LrSchedule.CONSTANT, 0.1, 0), output(run, 1, 2, 0)).run(Trainer.Mode.NEW));
    assertTrue(e.getMessage().startsWith(run.resolve("checkpoints").toString()), e.getMessage());
    Path other = Files.createDirectories(dir.resolve("other").resolve("eval.csv")).getParent();
    java.nio.file.FileSystemException f = assertThrows(java.nio.file.FileSystemException.class,
        () -> trainer(config(2, 8, 1, LrSchedule.CONSTANT, 0.1, 0), output(other, 1, 0, 1)).scorer(new FakeScorer(0)).run(Trainer.Mode.NEW));
    assertEquals(other.resolve("eval.csv") + ": Is a directory", f.getMessage());
    assertFalse(Files.exists(run.resolve("checkpoint.pt")) || Files.exists(other.resolve("checkpoint.pt")));
  }

  @Test
  void outputRejectsBadKeepAndEvaluationCounts() {
    List<String> named = new ArrayList<>();
    for (Runnable r : List.<Runnable>of(() -> new Trainer.Output(dir, 1, 0, 1, TrainFixtures.ddim(1), false, -1, 0, 1),
        () -> new Trainer.Output(dir, 1, 0, 1, TrainFixtures.ddim(1), false, 0, -1, 1),
        () -> new Trainer.Output(dir, 1, 0, 1, TrainFixtures.ddim(1), false, 0, 0, 0))) {
      named.add(assertThrows(InvalidSettingException.class, r::run).getMessage().split(" ")[0]);
    }
    assertEquals(List.of("keepCheckpoints", "evalEvery", "evalSamples"), named);
    assertEquals(256, new Trainer.Output(dir, 1, 0, 1, TrainFixtures.ddim(1), false).evalSamples());
  }

  // ---- evaluation

  /** A scorer whose FID is scripted (or, past the script, the images' mean), KID the images' mean, and which records what it saw. */
  private static final class FakeScorer implements SampleScorer {
    final List<Double> fids;
    final List<long[]> shapes = new ArrayList<>();
    final List<double[]> ranges = new ArrayList<>();
    final long sleepMillis;

    FakeScorer(long sleepMillis, Double... fids) {
      this.fids = List.of(fids);
      this.sleepMillis = sleepMillis;
    }

    @Override
    public Score score(Tensor images) {
      shapes.add(images.shape());
      assertEquals(DType.FLOAT32, images.dtype());
      try (Scope s = Scope.open()) {
        ranges.add(new double[] {images.amin().item(), images.amax().item()});
        double mean = images.mean().item();
        int call = shapes.size() - 1;
        if (sleepMillis > 0) Thread.sleep(sleepMillis);
        return new Score(call < fids.size() ? fids.get(call) : mean, mean, 0.5);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Test
  void evaluationWritesItsRowsAndLeavesTheTrainingUnchanged() throws IOException {
    TrainConfig c = config(5, 8, 1, LrSchedule.CONSTANT, 0.1, 0);
    Path plain = dir.resolve("plain"), evaluated = dir.resolve("evaluated");
    trainer(c, output(plain, 3, 0, 0)).run(Trainer.Mode.NEW);
    FakeScorer scorer = new FakeScorer(0);
    assertEquals(5, trainer(c, output(evaluated, 3, 0, 2)).scorer(scorer).run(Trainer.Mode.NEW));
    TrainerTest.assertSameCheckpoint(plain.resolve("checkpoint.pt"), evaluated.resolve("checkpoint.pt"));
    assertEquals(column(plain.resolve("loss.csv"), 1), column(evaluated.resolve("loss.csv"), 1));

    List<String> lines = Files.readAllLines(evaluated.resolve("eval.csv"));
    assertEquals("step,train_seconds,fid,kid,kid_std_err", lines.getFirst());
    assertEquals(List.of("2", "4", "5"), column(evaluated.resolve("eval.csv"), 0), "every 2 steps and at the last");
    for (long[] shape : scorer.shapes) assertArrayEquals(new long[] {3, 1, 8, 8}, shape);
    for (double[] range : scorer.ranges) assertTrue(range[0] >= -1 && range[1] <= 1, range[0] + ".." + range[1]);
    List<String> fids = column(evaluated.resolve("eval.csv"), 2), kids = column(evaluated.resolve("eval.csv"), 3);
    assertEquals(fids, kids, "the fake's FID past its script is the images' mean, as its KID");
    assertEquals(List.of("0.500000", "0.500000", "0.500000"), column(evaluated.resolve("eval.csv"), 4));
    assertTrue(Files.size(evaluated.resolve("eval.png")) > 0);
    assertFalse(Files.exists(evaluated.resolve("checkpoint-best.pt")), "without kept checkpoints there is no best one");
  }

  /**
   * Each evaluation sleeps 2 seconds. {@code loss.csv}'s seconds are the wall time since training began, every
   * pause included, so at the last step they hold the 3 earlier evaluations' 6 seconds; {@code eval.csv}'s
   * train_seconds of that step must not. The comparison holds however slow the steps themselves are.
   */
  @Test
  void trainSecondsLeaveOutTheEvaluations() throws IOException {
    Path run = dir.resolve("run");
    trainer(config(4, 8, 1, LrSchedule.CONSTANT, 0.1, 0), output(run, 4, 0, 1)).scorer(new FakeScorer(2000)).run(Trainer.Mode.NEW);
    List<Double> seconds = column(run.resolve("eval.csv"), 1).stream().map(Double::parseDouble).toList();
    List<Double> wall = column(run.resolve("loss.csv"), 3).stream().map(Double::parseDouble).toList();
    assertEquals(4, seconds.size());
    for (int i = 1; i < seconds.size(); i++) assertTrue(seconds.get(i) >= seconds.get(i - 1), seconds.toString());
    double left = wall.getLast() - seconds.getLast();
    assertTrue(left >= 5.8, "the wall time of step 4 (" + wall.getLast() + " s) less its train_seconds (" + seconds.getLast()
        + " s) is " + left + " s: the 3 evaluations' 6 s were counted as training");
  }

  @Test
  void evaluationWithoutAScorerIsRefused() {
    InvalidSettingException e = assertThrows(InvalidSettingException.class,
        () -> trainer(config(2, 8, 1, LrSchedule.CONSTANT, 0.1, 0), output(dir, 1, 0, 1)).run(Trainer.Mode.NEW));
    assertTrue(e.getMessage().startsWith("evalEvery = 1 needs a scorer"), e.getMessage());
    assertFalse(Files.exists(dir.resolve("checkpoint.pt")));
  }

  /**
   * With kept checkpoints every evaluation step writes one, the lowest FID is kept as checkpoint-best.pt and outlives
   * the rotation; a kill right after the checkpoint of step 4 and a resume keep eval.csv's rows up to step 4 exactly.
   */
  @Test
  void theBestCheckpointIsKeptAndAResumeKeepsTheEvaluationsItsCheckpointCovers() throws IOException {
    TrainConfig c = config(6, 8, 1, LrSchedule.CONSTANT, 0.1, 0);
    Path run = dir.resolve("run"), crash = Files.createDirectories(dir.resolve("crash"));
    Trainer t = trainer(c, output(run, 100, 1, 2)).scorer(new FakeScorer(0, 5.0, 3.0, 4.0));
    List<Long> checkpoints = new ArrayList<>();
    t.onCheckpoint(step -> {
      checkpoints.add(step);
      try {
        assertEquals(column(run.resolve("eval.csv"), 0).getLast(), Long.toString(step), "the row is on disk before its checkpoint");
        if (step == 4) {
          for (String f : List.of("checkpoint.pt", "loss.csv", "eval.csv")) Files.copy(run.resolve(f), crash.resolve(f));
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    assertEquals(6, t.run(Trainer.Mode.NEW));
    assertEquals(List.of(2L, 4L, 6L), checkpoints, "a checkpoint at every evaluation, none else before the last");
    assertEquals(List.of("5", "3", "4"), column(run.resolve("eval.csv"), 2).stream().map(f -> f.replaceAll("\\.0+$", "")).toList());
    assertEquals(List.of("step-000006.pt"), kept(run));
    try (StateDict best = Checkpoint.open(run.resolve("checkpoint-best.pt"))) {
      assertEquals(4, Checkpoint.meta(best, "meta.step"), "FID 3 at step 4 is the best");
    }

    // a later kill left a row of step 6 and half a row; the resumed run scores the images' mean
    Files.writeString(crash.resolve("eval.csv"), "6,9.0,1,1,1\n7,3", StandardOpenOption.APPEND);
    assertEquals(6, trainer(c, output(crash, 100, 1, 2)).scorer(new FakeScorer(0)).run(Trainer.Mode.RESUME));
    List<String> rows = Files.readAllLines(crash.resolve("eval.csv"));
    assertEquals(Files.readAllLines(run.resolve("eval.csv")).subList(0, 3), rows.subList(0, 3), "the header and the rows of steps 2 and 4");
    assertEquals(4, rows.size());
    assertTrue(rows.get(3).startsWith("6,"), rows.get(3));
    assertEquals(column(run.resolve("eval.csv"), 3).get(2), column(crash.resolve("eval.csv"), 3).get(2),
        "the resumed run's samples at step 6 are the uninterrupted run's");
    try (StateDict best = Checkpoint.open(crash.resolve("checkpoint-best.pt"))) {
      long bestStep = Checkpoint.meta(best, "meta.step");
      double fid6 = Double.parseDouble(column(crash.resolve("eval.csv"), 2).get(2));
      assertEquals(fid6 < 3 ? 6 : 4, bestStep, "the best of FID 5, 3 and " + fid6);
    }
  }

  @Test
  void forceRemovesTheKeptCheckpointsAndTheEvaluationsOfTheOldRun() throws IOException {
    Path run = dir.resolve("run");
    trainer(config(2, 8, 1, LrSchedule.CONSTANT, 0.1, 0), output(run, 1, 2, 1)).scorer(new FakeScorer(0)).run(Trainer.Mode.NEW);
    for (String f : List.of("checkpoints/step-000002.pt", "checkpoint-best.pt", "eval.csv", "eval.png")) assertTrue(Files.exists(run.resolve(f)), f);
    Files.writeString(run.resolve("notes.txt"), "mine");
    trainer(config(1, 8, 1, LrSchedule.CONSTANT, 0.1, 0), output(run, 1, 0, 0)).run(Trainer.Mode.OVERWRITE);
    for (String f : List.of("checkpoints", "checkpoint-best.pt", "eval.csv", "eval.png")) assertFalse(Files.exists(run.resolve(f)), f);
    assertTrue(Files.exists(run.resolve("notes.txt")), "other files stay");
    assertEquals(2, Files.readAllLines(run.resolve("loss.csv")).size());
  }
}
