package io.github.ddpm4j.pipeline;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.diffusion.DdimSampler;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The thread-safety contract: sampling never changes shared model state. Many threads, platform and
 * virtual, share one pipeline and get the images a lone call gets; a model left in training mode is sampled
 * without dropout while a thread that trains it keeps its dropout on every step.
 */
class ThreadSafetyTest extends TorchTestBase {
  @TempDir static Path dir;
  static Path checkpoint;

  @BeforeAll
  static void train() throws IOException {
    checkpoint = TrainFixtures.checkpoint(dir);
  }

  @Test
  void sixteenThreadsSharingAPipelineGetTheImagesOfALoneCall() throws Exception {
    try (DDPMPipeline p = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU)) {
      List<SampleRequest> requests = List.of(SampleRequest.ddim(2, 1, 10), SampleRequest.ddim(1, 2, 10, 1.0), SampleRequest.ancestral(1, 3),
          SampleRequest.dpmSolver(2, 4, 10));
      List<float[]> alone = new ArrayList<>();
      for (SampleRequest r : requests) {
        try (GeneratedImages g = p.sample(r)) {
          alone.add(g.images().toFloatArray());
        }
      }
      try (ExecutorService platform = Executors.newFixedThreadPool(8);
           ExecutorService virtual = Executors.newVirtualThreadPerTaskExecutor()) {
        List<Future<float[]>> futures = new ArrayList<>();
        List<Integer> which = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
          int k = i % requests.size();
          Callable<float[]> call = () -> {
            try (GeneratedImages g = p.sample(requests.get(k))) {
              return g.images().toFloatArray();
            }
          };
          futures.add((i % 2 == 0 ? platform : virtual).submit(call));
          which.add(k);
        }
        for (int i = 0; i < futures.size(); i++) assertArrayEquals(alone.get(which.get(i)), futures.get(i).get(), "call " + i);
      }
    }
  }

  @Test
  void samplingAModelInTrainingModeNeitherDropsOutNorTurnsOffATrainersDropout() throws Exception {
    try (Checkpoint.Contents ck = Checkpoint.read(checkpoint); UNet unet = new UNet(ck.config().model());
         NoiseSchedule schedule = ck.config().noiseSchedule(Device.CPU)) {
      unet.loadStateDict(ck.ema(), true);
      GaussianDiffusion diffusion = new GaussianDiffusion(unet, schedule);
      float[] reference;
      unet.eval();
      try (Scope s = Scope.open()) {
        reference = new DdimSampler(diffusion, 20, 0.0).sample(2, new long[] {1, 8, 8}, 9, Progress.NONE).toFloatArray();
      }
      unet.train(true); // left in training mode, as a trainer leaves the model it trains
      Tensor x = Scope.keep(Torch.randn(new long[] {2, 1, 8, 8}));
      Tensor t = Scope.keep(Torch.tensor(new long[] {10, 20}, 2));
      Tensor evalOut;
      unet.eval();
      try (GradMode g = GradMode.noGrad()) {
        evalOut = unet.forward(x, t);
      }
      unet.train(true);
      AtomicBoolean sampling = new AtomicBoolean(true);
      AtomicInteger trainerSteps = new AtomicInteger(), withoutDropout = new AtomicInteger();
      try (ExecutorService pool = Executors.newFixedThreadPool(9)) {
        Future<?> trainer = pool.submit(() -> {
          while (sampling.get() || trainerSteps.get() < 20) {
            try (Scope s = Scope.open(); GradMode g = GradMode.noGrad()) {
              // dropout on: the output differs from the evaluation-mode output
              if (unet.forward(x, t).sub(evalOut).abs().amax().item() == 0) withoutDropout.incrementAndGet();
            }
            trainerSteps.incrementAndGet();
          }
        });
        List<Future<float[]>> samplers = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
          samplers.add(pool.submit(() -> {
            try (Scope s = Scope.open()) {
              return new DdimSampler(diffusion, 20, 0.0).sample(2, new long[] {1, 8, 8}, 9, Progress.NONE).toFloatArray();
            }
          }));
        }
        for (Future<float[]> f : samplers) assertArrayEquals(reference, f.get(), "a sampler saw dropout");
        sampling.set(false);
        trainer.get();
      }
      assertEquals(0, withoutDropout.get(), "of " + trainerSteps.get() + " training forwards, some ran without dropout");
      assertTrue(unet.isTraining(), "sampling left the model's own mode as it was");
      x.close();
      t.close();
      evalOut.close();
    }
  }
}
