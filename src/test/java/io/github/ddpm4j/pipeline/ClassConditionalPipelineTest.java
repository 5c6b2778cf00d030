package io.github.ddpm4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.data.IdxReader;
import io.github.ddpm4j.diffusion.LossWeighting;
import io.github.ddpm4j.diffusion.PredictionType;
import io.github.ddpm4j.diffusion.SamplerType;
import io.github.ddpm4j.diffusion.ScheduleType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.LrSchedule;
import io.github.ddpm4j.train.TrainConfig;
import io.github.ddpm4j.train.TrainFixtures;
import io.github.ddpm4j.train.Trainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Class labels and guidance in requests, the pipeline and request batching; an old unconditional checkpoint still loads. */
class ClassConditionalPipelineTest extends TorchTestBase {
  @TempDir static Path dir;
  static DDPMPipeline pipeline;

  /** Trains the tiny model with 3 classes (labels i mod 3) for two steps. */
  @BeforeAll
  static void load() throws IOException {
    Path data = TrainFixtures.data(dir.resolve("data"));
    byte[] labels = new byte[20];
    for (int i = 0; i < 20; i++) labels[i] = (byte) (i % 3);
    Files.write(data.resolve("train-labels-idx1-ubyte.gz"),
        IdxFiles.gzip(ByteBuffer.allocate(28).putInt(IdxReader.LABELS_MAGIC).putInt(20).put(labels).array()));
    TrainConfig config = new TrainConfig(data.toString(), 8, 0, true, TrainFixtures.TINY.withNumClasses(3), ScheduleType.LINEAR, 50, 1e-4,
        0.02, 8, 2, 2e-3, 3, 1.0, 0.9, true, 7, Precision.FP32, PredictionType.EPSILON, LossWeighting.UNIFORM,
        TrainConfig.DEFAULT_SNR_GAMMA, LrSchedule.CONSTANT, 1, 0.1);
    Trainer t = TrainFixtures.trainer(config, dir.resolve("run"), new StringWriter());
    t.run(Trainer.Mode.NEW);
    pipeline = DDPMPipeline.fromCheckpoint(t.checkpointFile(), Device.CPU);
  }

  @AfterAll
  static void close() {
    pipeline.close();
  }

  private static double maxDiff(GeneratedImages a, GeneratedImages b) {
    return a.images().sub(b.images()).abs().amax().item();
  }

  @Test
  void requestsCarryAnOptionalClassAndGuidance() {
    SampleRequest plain = SampleRequest.ddim(2, 1, 5);
    assertFalse(plain.hasClass());
    assertEquals(SampleRequest.NO_CLASS, new SampleRequest(2, 1, SamplerType.DDIM, 5, 0.0).classLabel());
    SampleRequest guided = plain.withClass(2, 4.0);
    assertTrue(guided.hasClass());
    assertEquals(2, guided.classLabel());
    assertEquals(4.0, guided.guidanceScale());
    assertEquals(guided, guided.withNumImages(3).withNumImages(2), "the class survives withNumImages");
    assertThrows(IllegalArgumentException.class, () -> plain.withClass(-1, 3.0));
    IllegalArgumentException w = assertThrows(IllegalArgumentException.class, () -> plain.withClass(0, -1.0));
    assertTrue(w.getMessage().contains("guidanceScale"), w.getMessage());
    assertThrows(IllegalArgumentException.class, () -> plain.withClass(0, Double.POSITIVE_INFINITY));
  }

  @Test
  void thePipelineSamplesAClassAndWZeroIsTheUnconditionalModel() {
    try (GeneratedImages uncond = pipeline.sample(SampleRequest.ddim(2, 9, 5));
         GeneratedImages w0 = pipeline.sample(SampleRequest.ddim(2, 9, 5).withClass(1, 0.0));
         GeneratedImages c1 = pipeline.sample(SampleRequest.ddim(2, 9, 5).withClass(1, 3.0));
         GeneratedImages c2 = pipeline.sample(SampleRequest.ddim(2, 9, 5).withClass(2, 3.0))) {
      assertEquals(0.0, maxDiff(uncond, w0));
      assertTrue(maxDiff(c1, c2) > 1e-3, "another class gives other images");
      assertTrue(maxDiff(c1, uncond) > 1e-3, "guidance changes the images");
    }
  }

  @Test
  void aClassTheModelDoesNotHaveIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> pipeline.sample(SampleRequest.ddim(1, 1, 2).withClass(3, 3.0)));
    assertTrue(e.getMessage().contains("0..2"), e.getMessage());
    try (BatchingSampler s = new BatchingSampler(pipeline, new BatchingSampler.Options(Duration.ofMillis(10), 64, 16, 1))) {
      assertThrows(IllegalArgumentException.class, () -> s.submit(SampleRequest.ddim(1, 1, 2).withClass(3, 3.0)));
    }
  }

  /** Requests of other classes or guidance scales never share a batch, and each gets the images it gets alone. */
  @Test
  void onlyRequestsOfTheSameClassAndGuidanceShareABatch() throws Exception {
    List<Integer> batches = Collections.synchronizedList(new ArrayList<>());
    List<SampleRequest> requests = List.of(SampleRequest.ddim(1, 1, 5).withClass(0, 3.0), SampleRequest.ddim(1, 2, 5).withClass(0, 3.0),
        SampleRequest.ddim(1, 3, 5).withClass(1, 3.0), SampleRequest.ddim(1, 4, 5).withClass(0, 2.0), SampleRequest.ddim(1, 5, 5));
    try (BatchingSampler s = new BatchingSampler(pipeline, new BatchingSampler.Options(Duration.ofMillis(300), 64, 16, 1))) {
      s.setListener((r, n, nanos) -> batches.add(r));
      List<CompletableFuture<GeneratedImages>> futures = new ArrayList<>();
      for (SampleRequest r : requests) futures.add(s.submit(r));
      for (int i = 0; i < requests.size(); i++) {
        try (GeneratedImages batched = futures.get(i).get(); GeneratedImages alone = pipeline.sample(requests.get(i))) {
          assertTrue(maxDiff(batched, alone) <= BatchingSamplerTest.BOUND, "request " + i);
        }
      }
    }
    List<Integer> sorted = new ArrayList<>(batches);
    Collections.sort(sorted);
    assertEquals(List.of(1, 1, 1, 2), sorted, "the two requests of class 0 at w 3 together, the others alone");
  }

  /** A checkpoint written by ddpm4j train before class-conditional models existed (commit b7627c3) loads unconditional. */
  @Test
  void anOldUnconditionalCheckpointStillLoadsAndRefusesAClass() throws IOException {
    Path old = dir.resolve("old.pt");
    try (InputStream in = getClass().getResourceAsStream("/fixtures/train/unconditional-b7627c3.pt")) {
      Files.copy(in, old);
    }
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(old, Device.CPU)) {
      assertEquals(0, p.unet().numClasses());
      assertFalse(p.unet().stateDict().containsKey("class_emb.weight"));
      try (GeneratedImages images = p.sample(SampleRequest.ddim(1, 1, 2))) {
        assertEquals(1, images.size());
      }
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.sample(SampleRequest.ddim(1, 1, 2).withClass(0, 3.0)));
      assertTrue(e.getMessage().contains("unconditional"), e.getMessage());
    }
  }
}
