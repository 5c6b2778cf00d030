package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest extends TorchTestBase {
  private static final long N = 6;

  @TempDir static Path shared;
  private static Path data;
  /** The output folder of an uninterrupted run of N steps. */
  private static Path reference;

  @TempDir Path dir;

  @BeforeAll
  static void trainWithoutInterruption() throws IOException {
    useTestThreads();
    data = TrainFixtures.data(shared.resolve("data"));
    reference = shared.resolve("reference");
    StringWriter log = new StringWriter();
    Trainer t = TrainFixtures.trainer(TrainFixtures.config(data, N), reference, log);
    assertEquals(N, t.run(Trainer.Mode.NEW));
    assertTrue(log.toString().contains("20 images 1x8x8"), log.toString());
  }

  /** @return a trainer over the shared data for {@code steps} steps that writes to {@code out}, its log dropped */
  private static Trainer trainer(long steps, Path out) {
    return TrainFixtures.trainer(TrainFixtures.config(data, steps), out, new StringWriter());
  }

  /** @return a new folder holding copies of the named files of the reference run */
  private Path copyOfReference(String... files) throws IOException {
    Path copy = Files.createDirectories(dir.resolve("copy"));
    for (String f : files) Files.copy(reference.resolve(f), copy.resolve(f));
    return copy;
  }

  /** Every entry of two checkpoints, bit for bit: weights, EMA, optimizer state, generators, counters, configuration. */
  static void assertSameCheckpoint(Path expected, Path actual) throws IOException {
    try (StateDict a = StateDict.load(expected); StateDict b = StateDict.load(actual)) {
      assertEquals(a.keySet(), b.keySet());
      assertEquals(List.copyOf(a.keySet()), List.copyOf(b.keySet()));
      int weights = 0;
      byte[][] optimizers = canonical(a.get("optimizer"), b.get("optimizer"));
      assertArrayEquals(optimizers[0], optimizers[1], "optimizer state");
      for (String k : a.keySet()) {
        if (k.equals("optimizer")) continue;
        Tensor x = a.get(k), y = b.get(k);
        assertEquals(x.dtype(), y.dtype(), k);
        assertArrayEquals(x.shape(), y.shape(), k);
        assertTrue(x.equal(y), () -> k + " differs");
        if (k.startsWith("model.") || k.startsWith("ema.")) weights++;
      }
      assertTrue(weights > 20, "the checkpoint holds the weights");
    }
  }

  /**
   * LibTorch's optimizer archive names each parameter's state by the address of the parameter's
   * tensor, so two runs never write the same bytes. Loading an archive into an Adam over one fixed
   * set of parameters and saving it again re-keys the state by those addresses: archives with
   * equal states then give equal bytes.
   *
   * @return each archive, re-keyed by the parameters of one model
   */
  private static byte[][] canonical(Tensor... archives) {
    byte[][] out = new byte[archives.length][];
    try (UNet model = new UNet(TrainFixtures.TINY)) {
      for (int i = 0; i < archives.length; i++) {
        try (Adam opt = new Adam(model.parameters(), 1e-3)) {
          opt.loadState(archives[i].toByteArray());
          out[i] = opt.saveState();
        }
      }
    }
    return out;
  }

  @Test
  void canonicalOptimizerStatesTellStatesApart() {
    try (UNet model = new UNet(TrainFixtures.TINY); Adam opt = new Adam(model.parameters(), 1e-3)) {
      Tensor x = Torch.randn(2, 1, 8, 8);
      Tensor t = Torch.tensor(new long[] {3, 7}, 2);
      byte[][] states = new byte[3][];
      for (int i = 0; i < 3; i++) {
        opt.zeroGrad();
        model.forward(x, t).square().mean().backward();
        opt.step();
        states[i] = opt.saveState();
      }
      byte[][] c = canonical(Torch.tensor(states[1], states[1].length), Torch.tensor(states[1], states[1].length),
          Torch.tensor(states[2], states[2].length));
      assertArrayEquals(c[0], c[1]);
      assertFalse(Arrays.equals(c[0], c[2]));
    }
  }

  /** step and loss columns of loss.csv (the seconds differ between runs). */
  private static List<String> losses(Path run) throws IOException {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(run.resolve("loss.csv"))) {
      String[] f = line.split(",");
      out.add(f[0] + "," + f[1] + "," + f[2]);
    }
    return out;
  }

  @Test
  void theUninterruptedRunWritesItsFiles() throws IOException {
    assertTrue(Files.isRegularFile(reference.resolve("checkpoint.pt")));
    assertEquals(N + 1, Files.readAllLines(reference.resolve("loss.csv")).size());
    assertEquals(900, ImageIO.read(reference.resolve("loss.png").toFile()).getWidth());
    var grid = ImageIO.read(reference.resolve("samples/step-000006.png").toFile());
    assertEquals(2 * (8 + 2) + 2, grid.getWidth(), "4 samples, 2 per row, padding 2");
    assertEquals(2 * (8 + 2) + 2, grid.getHeight());
    try (StateDict ck = Checkpoint.open(reference.resolve("checkpoint.pt"))) {
      assertEquals(N, Checkpoint.meta(ck, "meta.step"));
      assertEquals(TrainFixtures.config(data, N), Checkpoint.config(ck));
      assertEquals(DType.UINT8, ck.get("optimizer").dtype());
      for (String k : List.of("rng.torch", "rng.diffusion", "rng.loader_epoch_start", "rng.loader", "meta.loader_epoch",
          "meta.loader_position")) {
        assertTrue(ck.containsKey(k), k);
      }
      Map<String, Tensor> model = Checkpoint.weights(ck, "model.");
      Map<String, Tensor> ema = Checkpoint.weights(ck, "ema.");
      assertEquals(model.keySet(), ema.keySet());
      boolean averaged = false;
      for (String k : model.keySet()) averaged |= !model.get(k).equal(ema.get(k));
      assertTrue(averaged, "the EMA differs from the trained weights");
    }
  }

  @Test
  void aRunStoppedAndResumedIsBitIdenticalToAnUninterruptedOne() throws IOException {
    StringWriter log = new StringWriter();
    Trainer first = TrainFixtures.trainer(TrainFixtures.config(data, N), dir, log);
    List<Long> seen = new ArrayList<>();
    first.onStep(step -> {
      seen.add(step);
      if (step == 4) first.requestStop();
    });
    assertEquals(4, first.run(Trainer.Mode.NEW));
    assertEquals(List.of(1L, 2L, 3L, 4L), seen);
    try (StateDict ck = Checkpoint.open(first.checkpointFile())) {
      assertEquals(4, Checkpoint.meta(ck, "meta.step"), "a stop writes a checkpoint off the every-3-steps schedule");
      assertEquals(16, Checkpoint.meta(ck, "meta.loader_position"), "in the middle of an epoch");
    }
    assertFalse(Files.exists(dir.resolve("samples/step-000004.png")), "a stopped run draws no final grid");

    Trainer second = TrainFixtures.trainer(TrainFixtures.config(data, N), dir, log);
    assertEquals(N, second.run(Trainer.Mode.RESUME));
    assertTrue(log.toString().contains("resuming at step 4 of 6"), log.toString());
    assertSameCheckpoint(reference.resolve("checkpoint.pt"), dir.resolve("checkpoint.pt"));
    assertEquals(losses(reference), losses(dir));
  }

  /**
   * A stop that comes while a step's sample grid is drawn (after that step's checkpoint decision) must
   * still end the run with a checkpoint of the step the run reports. Grids every step, of 40 DDIM steps,
   * take most of each step's time here, so a stop from another thread after a while nearly always lands
   * in one; three runs make a miss of the window unlikely.
   */
  @Test
  void aStopWhileASampleGridIsDrawnStillEndsWithACheckpointOfTheLastStep() throws Exception {
    for (int attempt = 0; attempt < 3; attempt++) {
      Path out = dir.resolve("stop-" + attempt);
      Trainer t = new Trainer(TrainFixtures.config(data, 1_000_000), new Trainer.Output(out, 1_000_000, 1, 4, TrainFixtures.ddim(40), false),
          io.github.ddpm4j.torch.Device.CPU, new java.io.PrintWriter(new StringWriter(), true));
      long delay = 150 + 40 * attempt;
      java.util.concurrent.CountDownLatch going = new java.util.concurrent.CountDownLatch(3);
      t.onStep(step -> going.countDown());
      Thread stopper = Thread.ofPlatform().start(() -> {
        try {
          going.await();
          Thread.sleep(delay);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        t.requestStop();
      });
      long done = t.run(Trainer.Mode.NEW);
      stopper.join();
      assertTrue(Files.exists(t.checkpointFile()), "stopped at step " + done + " without a checkpoint (attempt " + attempt + ")");
      try (StateDict ck = Checkpoint.open(t.checkpointFile())) {
        assertEquals(done, Checkpoint.meta(ck, "meta.step"), "the checkpoint is of the step the run stopped at (attempt " + attempt + ")");
      }
    }
  }

  /** The steps of loss.csv's rows as they are on disk now (not what a writer still buffers). */
  private static List<Long> stepsOnDisk(Path csv) throws IOException {
    List<Long> steps = new ArrayList<>();
    for (String line : Files.readAllLines(csv)) if (!line.startsWith("step")) steps.add(Long.parseLong(line.split(",")[0]));
    return steps;
  }

  private static List<Long> range(long n) {
    List<Long> out = new ArrayList<>();
    for (long s = 0; s < n; s++) out.add(s);
    return out;
  }

  /**
   * A kill right after a checkpoint is renamed into place leaves the folder as the checkpoint
   * callback sees it: loss.csv must then hold every step the checkpoint covers, once. A run resumed
   * from that state (with rows of later steps, one cut short, appended as a later kill would leave
   * them) ends with each step exactly once, and the same losses as an uninterrupted run.
   */
  @Test
  void theLossRowsAreOnDiskBeforeTheCheckpointThatCoversThem() throws IOException {
    Path crash = Files.createDirectories(dir.resolve("crash"));
    Trainer t = trainer(N, dir);
    List<Long> checkpoints = new ArrayList<>();
    t.onCheckpoint(step -> {
      try {
        assertEquals(range(step), stepsOnDisk(dir.resolve("loss.csv")), "loss.csv on disk at the checkpoint of step " + step);
        if (step == 3) {
          Files.copy(dir.resolve("checkpoint.pt"), crash.resolve("checkpoint.pt"));
          Files.copy(dir.resolve("loss.csv"), crash.resolve("loss.csv"));
        }
        checkpoints.add(step);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    assertEquals(N, t.run(Trainer.Mode.NEW));
    assertEquals(List.of(3L, 6L), checkpoints);

    Files.writeString(crash.resolve("loss.csv"), "3,0.500000,1.000e-03,1.0\n4,0.4", java.nio.file.StandardOpenOption.APPEND);
    assertEquals(N, trainer(N, crash).run(Trainer.Mode.RESUME));
    assertEquals(range(N), stepsOnDisk(crash.resolve("loss.csv")));
    assertEquals(losses(reference), losses(crash));
  }

  @Test
  void aNewRunRefusesAFolderThatHoldsARun() throws IOException {
    Path copy = copyOfReference("loss.csv");
    ExistingRunException e = assertThrows(ExistingRunException.class, () -> trainer(N, copy).run(Trainer.Mode.NEW));
    assertEquals(List.of("loss.csv"), e.found());
    assertEquals(copy + ": holds a run (loss.csv)", e.getMessage());
    try (var files = Files.list(copy)) {
      assertEquals(List.of(copy.resolve("loss.csv")), files.toList(), "not even samples/ is created");
    }
    assertEquals(Files.readString(reference.resolve("loss.csv")), Files.readString(copy.resolve("loss.csv")));
  }

  @Test
  void extendingAFinishedRunIsBitIdenticalToAskingForMoreStepsAtFirst() throws IOException {
    StringWriter log = new StringWriter();
    assertEquals(N / 2, TrainFixtures.trainer(TrainFixtures.config(data, N / 2), dir, log).run(Trainer.Mode.NEW));
    assertTrue(Files.exists(dir.resolve("samples/step-000003.png")), "the shorter run drew its final grid");
    assertEquals(N, TrainFixtures.trainer(TrainFixtures.config(data, N), dir, log).run(Trainer.Mode.RESUME));
    assertSameCheckpoint(reference.resolve("checkpoint.pt"), dir.resolve("checkpoint.pt"));
    assertEquals(losses(reference), losses(dir));
  }

  @Test
  void resumingAFinishedRunWithTheSameStepsChangesNothing() throws IOException {
    Path copy = copyOfReference("checkpoint.pt", "loss.csv");
    assertEquals(N, trainer(N, copy).run(Trainer.Mode.RESUME));
    assertSameCheckpoint(reference.resolve("checkpoint.pt"), copy.resolve("checkpoint.pt"));
    assertEquals(losses(reference), losses(copy));
  }

  @Test
  void resumingRefusesAnotherConfigurationOrFewerStepsThanDone() throws IOException {
    Path copy = copyOfReference("checkpoint.pt");
    TrainConfig c = TrainFixtures.config(data, N);
    TrainConfig otherLr = new TrainConfig(c.data(), c.imageSize(), c.limit(), c.flip(), c.model(), c.schedule(), c.timesteps(),
        c.betaStart(), c.betaEnd(), c.batchSize(), c.trainSteps(), 5e-3, c.warmupSteps(), c.gradClip(), c.emaDecay(),
        c.emaWarmup(), c.seed(), c.precision());
    IllegalArgumentException lr = assertThrows(IllegalArgumentException.class,
        () -> TrainFixtures.trainer(otherLr, copy, new StringWriter()).run(Trainer.Mode.RESUME));
    assertTrue(lr.getMessage().contains("lr: 0.002 vs 0.005"), lr.getMessage());
    IllegalArgumentException fewer = assertThrows(IllegalArgumentException.class, () -> trainer(N - 1, copy).run(Trainer.Mode.RESUME));
    assertTrue(fewer.getMessage().contains("at step 6, past trainSteps = 5"), fewer.getMessage());
    assertSameCheckpoint(reference.resolve("checkpoint.pt"), copy.resolve("checkpoint.pt"));
  }

  @Test
  void resumingWithoutACheckpointNamesTheMissingFile() {
    Trainer t = trainer(N, dir);
    NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> t.run(Trainer.Mode.RESUME));
    assertTrue(e.getMessage().contains(dir.resolve("checkpoint.pt").toString()), e.getMessage());
  }

  @Test
  void aCheckpointWithACorruptOptimizerStateFailsWithItsPath() throws IOException {
    Path copy = copyOfReference();
    Path file = copy.resolve("checkpoint.pt");
    try (StateDict ck = StateDict.load(reference.resolve("checkpoint.pt"))) {
      Map<String, Tensor> entries = new LinkedHashMap<>(ck);
      entries.put("optimizer", Torch.tensor(new byte[] {1, 2, 3, 4}, 4));
      StateDict.savePyTorch(entries, file);
    }
    IOException e = assertThrows(IOException.class, () -> trainer(N, copy).run(Trainer.Mode.RESUME));
    assertTrue(e.getMessage().startsWith(file + ": cannot restore the training state"), e.getMessage());
  }

  @Test
  void aMissingDataSetFailsBeforeWritingACheckpoint() {
    Path missing = dir.resolve("no-data");
    Trainer t = TrainFixtures.trainer(TrainFixtures.config(missing, N), dir.resolve("run"), new StringWriter());
    IOException e = assertThrows(IOException.class, () -> t.run(Trainer.Mode.NEW));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
    assertFalse(Files.exists(t.checkpointFile()));
  }

  @Test
  void outputRejectsBadCounts() {
    List<IllegalArgumentException> errors = List.of(
        assertThrows(IllegalArgumentException.class, () -> new Trainer.Output(dir, 0, 0, 1, TrainFixtures.ddim(1), false)),
        assertThrows(IllegalArgumentException.class, () -> new Trainer.Output(dir, 1, -1, 1, TrainFixtures.ddim(1), false)),
        assertThrows(IllegalArgumentException.class, () -> new Trainer.Output(dir, 1, 0, 0, TrainFixtures.ddim(1), false)),
        assertThrows(IllegalArgumentException.class, () -> new Trainer.Output(dir, 1, 0, 1, TrainFixtures.ddim(0), false)));
    List<String> named = new ArrayList<>();
    for (IllegalArgumentException e : errors) named.add(e.getMessage().split(" ")[0]);
    assertEquals(List.of("checkpointEvery", "sampleEvery", "sampleCount", "samplingSteps"), named);
  }
}
