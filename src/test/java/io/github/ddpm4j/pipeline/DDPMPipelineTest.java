package io.github.ddpm4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.diffusion.DdimSampler;
import io.github.ddpm4j.diffusion.DpmSolverSampler;
import io.github.ddpm4j.diffusion.LossWeighting;
import io.github.ddpm4j.diffusion.PredictionType;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainConfig;
import io.github.ddpm4j.train.TrainFixtures;
import io.github.ddpm4j.train.Trainer;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The public pipeline: loading, sampling against the samplers composed by hand, PNG output, errors,
 * progress, cancellation and close. The checkpoint is the tiny model of {@link TrainFixtures} (T = 50,
 * 8x8 grayscale) after two steps.
 */
class DDPMPipelineTest extends TorchTestBase {
  @TempDir static Path dir;
  static Path checkpoint;

  @BeforeAll
  static void train() throws IOException {
    checkpoint = TrainFixtures.checkpoint(dir);
  }

  /** The same images composed from the library's parts: the checkpoint's EMA weights, a DDIM sampler, the seed. */
  private static float[] byHand(int n, long seed, int steps) throws IOException {
    try (Checkpoint.Contents ck = Checkpoint.read(checkpoint); UNet unet = new UNet(ck.config().model());
         var schedule = ck.config().noiseSchedule(Device.CPU); Scope s = Scope.open()) {
      unet.loadStateDict(ck.ema(), true);
      unet.eval();
      return new DdimSampler(new GaussianDiffusion(unet, schedule), steps, 0.0).sample(n, new long[] {1, 8, 8}, seed, Progress.NONE)
          .toFloatArray();
    }
  }

  /** DPM-Solver++ images composed by hand from a checkpoint's EMA weights, reading the UNet's output as {@code prediction}. */
  private static float[] dpmByHand(Path ck, PredictionType prediction, int n, long seed, int steps) throws IOException {
    try (Checkpoint.Contents c = Checkpoint.read(ck); UNet unet = new UNet(c.config().model());
         var schedule = c.config().noiseSchedule(Device.CPU); Scope s = Scope.open()) {
      unet.loadStateDict(c.ema(), true);
      unet.eval();
      return new DpmSolverSampler(new GaussianDiffusion(unet, schedule, prediction), steps)
          .sample(n, new long[] {1, 8, 8}, seed, Progress.NONE).toFloatArray();
    }
  }

  @Test
  void aVPredictionCheckpointSamplesWithVWithoutBeingTold() throws IOException {
    Path data = TrainFixtures.data(dir.resolve("v-data"));
    Path run = dir.resolve("v-run");
    Trainer t = TrainFixtures.trainer(TrainFixtures.config(data, 3, PredictionType.V_PREDICTION, LossWeighting.MIN_SNR), run,
        new java.io.StringWriter());
    t.run(Trainer.Mode.NEW);
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(t.checkpointFile(), Device.CPU);
         GeneratedImages images = p.sample(SampleRequest.dpmSolver(2, 13, 10))) {
      assertEquals(PredictionType.V_PREDICTION, p.diffusion().prediction());
      float[] got = images.images().toFloatArray();
      for (float v : got) assertTrue(Float.isFinite(v));
      assertArrayEquals(dpmByHand(t.checkpointFile(), PredictionType.V_PREDICTION, 2, 13, 10), got);
      assertFalse(Arrays.equals(dpmByHand(t.checkpointFile(), PredictionType.EPSILON, 2, 13, 10), got),
          "reading the output as eps gives other images");
    }
    // the loss reached training too: the same run with epsilon prediction and uniform weighting logs other losses
    Path epsRun = dir.resolve("eps-run");
    TrainFixtures.trainer(TrainFixtures.config(data, 3), epsRun, new java.io.StringWriter()).run(Trainer.Mode.NEW);
    String vLoss = java.nio.file.Files.readAllLines(run.resolve("loss.csv")).get(1).split(",")[1];
    String epsLoss = java.nio.file.Files.readAllLines(epsRun.resolve("loss.csv")).get(1).split(",")[1];
    assertFalse(vLoss.equals(epsLoss), "first-step losses " + vLoss + " and " + epsLoss);
  }

  @Test
  void samplesWhatTheSamplerComposedByHandSamples() throws IOException {
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU);
         GeneratedImages images = p.sample(SampleRequest.ddim(3, 11, 10))) {
      assertArrayEquals(new long[] {3, 1, 8, 8}, images.images().shape());
      assertArrayEquals(byHand(3, 11, 10), images.images().toFloatArray());
      assertArrayEquals(new long[] {1, 8, 8}, p.imageShape());
      assertEquals(50, p.config().timesteps());
    }
  }

  @Test
  void theSameRequestGivesTheSameImagesAndAnotherSeedOthers() throws IOException {
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU);
         GeneratedImages a = p.sample(SampleRequest.ddim(2, 5, 8, 0.5));
         GeneratedImages b = p.sample(SampleRequest.ddim(2, 5, 8, 0.5));
         GeneratedImages c = p.sample(SampleRequest.ddim(2, 6, 8, 0.5));
         GeneratedImages d = p.sample(SampleRequest.ancestral(2, 5))) {
      assertArrayEquals(a.images().toFloatArray(), b.images().toFloatArray());
      assertFalse(java.util.Arrays.equals(a.images().toFloatArray(), c.images().toFloatArray()));
      assertEquals(2, d.size());
    }
  }

  @Test
  void loadsABareStateDictWithItsConfiguration() throws IOException {
    Path weights = dir.resolve("ema.safetensors");
    TrainConfig config;
    try (Checkpoint.Contents ck = Checkpoint.read(checkpoint)) {
      StateDict.saveSafetensors(ck.ema(), weights);
      config = ck.config();
    }
    try (DDPMPipeline p = DDPMPipeline.fromStateDict(weights, config, Device.CPU);
         GeneratedImages images = p.sample(SampleRequest.ddim(2, 3, 6))) {
      assertArrayEquals(byHand(2, 3, 6), images.images().toFloatArray());
    }
  }

  @Test
  void pngsAndTheGridDecodeToTheImagesSizes() throws IOException {
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU);
         GeneratedImages images = p.sample(SampleRequest.ddim(5, 1, 4))) {
      List<byte[]> pngs = images.pngs();
      assertEquals(5, pngs.size());
      for (byte[] png : pngs) {
        BufferedImage im = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(8, im.getWidth());
        assertEquals(8, im.getHeight());
      }
      BufferedImage grid = ImageIO.read(new ByteArrayInputStream(images.gridPng()));
      assertEquals(3 * (8 + 2) + 2, grid.getWidth()); // 3 per row (ceil(sqrt(5))), 2 pixels of padding
      assertEquals(2 * (8 + 2) + 2, grid.getHeight());
      assertThrows(IndexOutOfBoundsException.class, () -> images.png(5));
    }
  }

  @Test
  void badInputGetsAnExceptionNamingIt() throws IOException {
    assertThrows(NoSuchFileException.class, () -> DDPMPipeline.fromCheckpoint(dir.resolve("absent.pt"), Device.CPU));
    Path partial = dir.resolve("partial.pt");
    try (Checkpoint.Contents ck = Checkpoint.read(checkpoint)) {
      Map<String, Tensor> some = new java.util.LinkedHashMap<>(ck.ema());
      some.keySet().removeIf(k -> k.startsWith("final."));
      StateDict.savePyTorch(some, partial);
      TrainConfig config = ck.config();
      IOException e = assertThrows(IOException.class, () -> DDPMPipeline.fromStateDict(partial, config, Device.CPU));
      assertTrue(e.getMessage().startsWith(partial + ": its weights do not fit"), e.getMessage());
    }
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU)) {
      InvalidSettingException steps = assertThrows(InvalidSettingException.class, () -> p.sample(SampleRequest.ddim(1, 0, 51)));
      assertTrue(steps.getMessage().contains("samplingSteps = 51 must lie in [1, T = 50]"), steps.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> SampleRequest.ddim(0, 0, 10));
    assertThrows(IllegalArgumentException.class, () -> SampleRequest.ddim(SampleRequest.MAX_IMAGES + 1, 0, 10));
    assertThrows(IllegalArgumentException.class, () -> SampleRequest.ddim(1, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> SampleRequest.ddim(1, 0, 10, Double.NaN));
  }

  @Test
  void progressSeesEveryStepAndAnObserverThatThrowsEndsTheCall() throws IOException {
    long before = Torch.liveHandles();
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU)) {
      List<Integer> seen = new ArrayList<>();
      try (GeneratedImages images = p.sample(SampleRequest.ddim(1, 0, 7), (Progress) (done, total) -> seen.add(done * 100 + total))) {
        assertEquals(List.of(107, 207, 307, 407, 507, 607, 707), seen);
      }
      IllegalStateException stop = new IllegalStateException("stop");
      assertEquals(stop, assertThrows(IllegalStateException.class, () -> p.sample(SampleRequest.ddim(1, 0, 7), step -> {
        throw stop;
      })));
    }
    assertEquals(before, Torch.liveHandles(), "every tensor freed");
  }

  @Test
  void interruptingTheCallingThreadCancelsTheCallAndFreesItsTensors() throws Exception {
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU)) {
      long before = Torch.liveHandles();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      CountDownLatch started = new CountDownLatch(1);
      Thread t = Thread.ofPlatform().start(() -> {
        try (GeneratedImages images = p.sample(SampleRequest.ancestral(2, 0), step -> {
          started.countDown();
          try {
            Thread.sleep(5);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // as a blocking observer would see the interrupt
          }
        })) {
          failure.set(new AssertionError("not cancelled"));
        } catch (Throwable e) {
          failure.set(e);
        }
      });
      started.await();
      t.interrupt();
      t.join();
      assertTrue(failure.get() instanceof CancellationException, () -> String.valueOf(failure.get()));
      assertEquals(before, Torch.liveHandles(), "the cancelled call's tensors freed");
    }
  }

  @Test
  void closeWaitsForCallsInFlightAndRefusesLaterOnes() throws Exception {
    DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU);
    CountDownLatch inFlight = new CountDownLatch(1);
    AtomicReference<float[]> result = new AtomicReference<>();
    Thread t = Thread.ofPlatform().start(() -> {
      try (GeneratedImages images = p.sample(SampleRequest.ancestral(1, 0), step -> {
        inFlight.countDown();
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      })) {
        result.set(images.images().toFloatArray());
      }
    });
    inFlight.await();
    p.close();
    t.join();
    assertEquals(64, result.get().length, "the call in flight completed");
    IllegalStateException closed = assertThrows(IllegalStateException.class, () -> p.sample(SampleRequest.ddim(1, 0, 2)));
    assertTrue(closed.getMessage().contains("is closed"), closed.getMessage());
    p.close();
  }

  @Test
  void fileErrorsNameTheFile() throws IOException {
    Path garbage = Files.writeString(dir.resolve("garbage.pt"), "not a checkpoint");
    IOException e = assertThrows(IOException.class, () -> DDPMPipeline.fromCheckpoint(garbage, Device.CPU));
    assertTrue(e.getMessage().startsWith(garbage.toString()), e.getMessage());
  }
}
