package io.github.ddpm4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Request batching: compatible requests run as one batch and each gets the images it would get alone (up to
 * the float rounding of the batched forward pass: the bound is measured and printed); incompatible ones do not
 * join; the queue is bounded; cancelled requests are dropped; close drains.
 */
class BatchingSamplerTest extends TorchTestBase {
  /** The largest |batched - alone| allowed, for images in [-1, 1] after up to 50 steps of float32 rounding. */
  static final double BOUND = 1e-4;

  @TempDir static Path dir;
  static DDPMPipeline pipeline;

  @BeforeAll
  static void load() throws IOException {
    pipeline = DDPMPipeline.fromCheckpoint(TrainFixtures.train(TrainFixtures.data(dir.resolve("data")), dir.resolve("run"), 2), Device.CPU);
  }

  @AfterAll
  static void close() {
    pipeline.close();
  }

  private record Batch(int requests, int images) {}

  private static double maxDiff(GeneratedImages a, GeneratedImages b) {
    return a.images().sub(b.images()).abs().amax().item();
  }

  @Test
  void compatibleRequestsShareABatchAndGetTheirOwnImages() throws Exception {
    List<Batch> batches = Collections.synchronizedList(new ArrayList<>());
    List<SampleRequest> requests = List.of(SampleRequest.ddim(1, 1, 20), SampleRequest.ddim(2, 2, 20), SampleRequest.ddim(3, 3, 20),
        SampleRequest.ddim(1, 4, 20));
    List<SampleRequest> stochastic = List.of(SampleRequest.ddim(2, 5, 20, 1.0), SampleRequest.ddim(1, 6, 20, 1.0));
    List<SampleRequest> ancestral = List.of(SampleRequest.ancestral(1, 7), SampleRequest.ancestral(2, 8));
    List<SampleRequest> dpmSolver = List.of(SampleRequest.dpmSolver(2, 9, 12), SampleRequest.dpmSolver(1, 10, 12));
    for (List<SampleRequest> group : List.of(requests, stochastic, ancestral, dpmSolver)) {
      batches.clear();
      try (BatchingSampler s = new BatchingSampler(pipeline, new BatchingSampler.Options(Duration.ofMillis(300), 64, 16, 1))) {
        s.setListener((r, n, nanos) -> batches.add(new Batch(r, n)));
        List<CompletableFuture<GeneratedImages>> futures = new ArrayList<>();
        for (SampleRequest r : group) futures.add(s.submit(r));
        double worst = 0;
        for (int i = 0; i < group.size(); i++) {
          try (GeneratedImages batched = futures.get(i).get(); GeneratedImages alone = pipeline.sample(group.get(i))) {
            assertEquals(group.get(i).numImages(), batched.size());
            worst = Math.max(worst, maxDiff(batched, alone));
          }
        }
        int images = group.stream().mapToInt(SampleRequest::numImages).sum();
        assertEquals(List.of(new Batch(group.size(), images)), batches, "one batch of every request");
        System.out.printf("batched vs alone, %s: max |difference| %.3g%n", group.get(0).sampler() + " eta " + group.get(0).eta(), worst);
        assertTrue(worst <= BOUND, "max |batched - alone| = " + worst);
      }
    }
  }

  @Test
  void differentSettingsDoNotJoinAndBatchingOffRunsEachAlone() throws Exception {
    List<Batch> batches = Collections.synchronizedList(new ArrayList<>());
    try (BatchingSampler s = new BatchingSampler(pipeline, new BatchingSampler.Options(Duration.ofMillis(200), 64, 16, 1))) {
      s.setListener((r, n, nanos) -> batches.add(new Batch(r, n)));
      var a = s.submit(SampleRequest.ddim(1, 1, 10));
      var b = s.submit(SampleRequest.ddim(1, 2, 12));
      var c = s.submit(SampleRequest.ddim(1, 3, 10));
      a.get().close();
      b.get().close();
      c.get().close();
    }
    assertEquals(List.of(new Batch(2, 2), new Batch(1, 1)), batches);
    batches.clear();
    try (BatchingSampler s = new BatchingSampler(pipeline, BatchingSampler.Options.defaults().unbatched())) {
      s.setListener((r, n, nanos) -> batches.add(new Batch(r, n)));
      List<CompletableFuture<GeneratedImages>> futures = new ArrayList<>();
      for (int i = 0; i < 3; i++) futures.add(s.submit(SampleRequest.ddim(2, i, 5)));
      for (var f : futures) f.get().close();
    }
    assertEquals(List.of(new Batch(1, 2), new Batch(1, 2), new Batch(1, 2)), batches);
  }

  @Test
  void aFullQueueRejectsAtOnceAndCancelledRequestsAreDropped() throws Exception {
    long before = Torch.liveHandles();
    List<Batch> batches = Collections.synchronizedList(new ArrayList<>());
    BatchingSampler s = new BatchingSampler(pipeline, new BatchingSampler.Options(Duration.ZERO, 64, 2, 1));
    s.setListener((r, n, nanos) -> batches.add(new Batch(r, n)));
    var busy = s.submit(SampleRequest.ancestral(4, 0)); // the worker takes it; the next two wait
    while (s.queueDepth() > 0) Thread.onSpinWait();
    var waiting = s.submit(SampleRequest.ddim(1, 1, 10));
    var dropped = s.submit(SampleRequest.ddim(1, 2, 11));
    long t0 = System.nanoTime();
    RejectedExecutionException full = assertThrows(RejectedExecutionException.class, () -> s.submit(SampleRequest.ddim(1, 3, 10)));
    assertTrue(System.nanoTime() - t0 < 1_000_000_000L, "rejected at once");
    assertTrue(full.getMessage().contains("queue is full"), full.getMessage());
    dropped.cancel(true);
    s.close(); // drains: the waiting request still runs
    assertTrue(busy.isDone() && waiting.isDone() && dropped.isCancelled());
    busy.get().close();
    waiting.get().close();
    assertEquals(List.of(new Batch(1, 4), new Batch(1, 1)), batches, "the cancelled request never ran");
    assertThrows(RejectedExecutionException.class, () -> s.submit(SampleRequest.ddim(1, 3, 10)));
    assertEquals(before, Torch.liveHandles(), "every tensor freed");
  }

  @Test
  void aRequestTheModelCannotRunIsRefusedWhenSubmitted() {
    try (BatchingSampler s = new BatchingSampler(pipeline, BatchingSampler.Options.defaults())) {
      InvalidSettingException e = assertThrows(InvalidSettingException.class, () -> s.submit(SampleRequest.ddim(1, 0, 51)));
      assertTrue(e.getMessage().contains("samplingSteps = 51"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> new BatchingSampler.Options(Duration.ofMillis(-1), 1, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new BatchingSampler.Options(Duration.ZERO, 0, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> new BatchingSampler.Options(Duration.ZERO, 1, 0, 1));
    assertThrows(IllegalArgumentException.class, () -> new BatchingSampler.Options(Duration.ZERO, 1, 1, 0));
  }
}
