package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.NoiseScheduleTest.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

class TrajectoryRecorderTest extends TorchTestBase {
  private static final int T = 50;
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear(T, 1e-3, 0.2);

  @Test
  void recordsEveryKStepsAndEndsWithTheSample() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.2, 0.5), schedule);
      TrajectoryRecorder recorder = new TrajectoryRecorder(10);
      try (Generator g = new Generator(21);
          Trajectory run = recorder.trajectory(new AncestralSampler(diffusion).sample(3, new long[] {1, 2, 2}, g, recorder))) {
        assertArrayEquals(new int[] {40, 30, 20, 10, 0}, run.t());
        assertNull(run.xt(), "x_t is not recorded unless asked for");
        assertArrayEquals(new long[] {5, 3, 1, 2, 2}, run.x0Hat().shape());
        Tensor plain = new AncestralSampler(diffusion).sample(3, new long[] {1, 2, 2}, 21, Progress.NONE);
        assertTrue(run.sample().equal(plain), "the same images as ancestral sampling with the same seed");
        assertTrue(run.x0Hat().select(0, 4).sub(run.sample()).abs().amax().item() < 1e-5, "x0Hat at t = 0 is the sample");
        assertTrue(run.x0Hat().select(0, 0).sub(run.sample()).abs().amax().item() > 1e-3, "early estimates differ");
      }
    }
  }

  /**
   * DPM-Solver++ never visits t = 0: its timesteps here (T = 50, 4 steps) are 12, 24, 37 and 49 (numpy rounds 24.5 to even), and a recorder of
   * every 20th timestep index would record none of them but for the last step, which it always records.
   */
  @Test
  void alwaysRecordsTheLastStepEvenWhenNoTimestepIsAMultipleOfK() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.2, 0.5), schedule);
      DpmSolverSampler dpm = new DpmSolverSampler(diffusion, 4);
      assertArrayEquals(new int[] {12, 24, 37, 49}, dpm.tau());
      TrajectoryRecorder recorder = new TrajectoryRecorder(20);
      try (Generator g = new Generator(5); Trajectory run = recorder.trajectory(dpm.sample(2, new long[] {1, 2, 2}, g, recorder))) {
        assertArrayEquals(new int[] {12}, run.t());
        assertTrue(run.x0Hat().select(0, 0).sub(run.sample()).abs().amax().item() < 1e-6, "the last step returns its x0Hat");
      }
    }
  }

  @Test
  void framesAreEstimatesOfX0() {
    try (Scope scope = Scope.open()) {
      Tensor x0 = Torch.tensor(new double[] {-0.6, 0.1, 0.5, 0.95}, 1, 1, 2, 2).to(DType.FLOAT32);
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.oracle(schedule, x0), schedule);
      TrajectoryRecorder recorder = new TrajectoryRecorder(7);
      try (Generator g = new Generator(3);
          Trajectory run = recorder.trajectory(new AncestralSampler(diffusion).sample(2, new long[] {1, 2, 2}, g, recorder))) {
        assertArrayEquals(new int[] {49, 42, 35, 28, 21, 14, 7, 0}, run.t());
        assertTrue(run.x0Hat().sub(x0).abs().amax().item() < 1e-3, "an oracle's estimate is x0 at every frame");
      }
    }
  }

  @Test
  void recordsTheImagesXtOfAnySampler() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.2, 0.5), schedule);
      DdimSampler ddim = new DdimSampler(diffusion, 10, 0.0);
      TrajectoryRecorder recorder = new TrajectoryRecorder(10, true, true);
      List<int[]> reports = new ArrayList<>();
      Tensor x = ddim.sample(2, new long[] {1, 2, 2}, 5, recorder.andThen((Progress) (done, total) -> reports.add(new int[] {done, total})));
      assertEquals(10, reports.size(), "both observers are told");
      try (Trajectory run = recorder.trajectory(x)) {
        assertArrayEquals(new int[] {40, 30, 20, 10, 0}, run.t(), "DDIM's timesteps 0, 5, .., 45 that are multiples of 10");
        assertArrayEquals(new long[] {5, 2, 1, 2, 2}, run.xt().shape());
        assertArrayEquals(new long[] {5, 2, 1, 2, 2}, run.x0Hat().shape());
        Tensor noise;
        try (Generator g = new Generator(5)) {
          noise = Torch.randn(new long[] {2, 1, 2, 2}, DType.FLOAT32, io.github.ddpm4j.torch.Device.CPU, g);
        }
        assertTrue(run.xt().select(0, 0).sub(noise).abs().amax().item() > 1e-3, "t = 40 is not the first step (45)");
        assertTrue(run.x0Hat().select(0, 4).equal(run.sample()), "with eta = 0 the last step returns x0Hat");
        assertTrue(run.sample().equal(ddim.sample(2, new long[] {1, 2, 2}, 5, Progress.NONE)), "recording changes nothing");
      }
      assertThrows(IllegalStateException.class, () -> recorder.trajectory(x), "a recorder hands its frames out once");
    }
  }

  @Test
  void recordedFramesOutliveTheRunAndTheRestIsFreed() {
    GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.2, 0.5), schedule);
    long before = Torch.liveHandles(Torch.HandleKind.TENSOR);
    TrajectoryRecorder recorder = new TrajectoryRecorder(25, true, true);
    try (Trajectory run = recorder.trajectory(new AncestralSampler(diffusion).sample(2, new long[] {1, 2, 2}, 1, recorder))) {
      assertEquals(before + 3, Torch.liveHandles(Torch.HandleKind.TENSOR), "x0Hat, x_t and the sample");
      assertArrayEquals(new int[] {25, 0}, run.t());
    }
    assertEquals(before, Torch.liveHandles(Torch.HandleKind.TENSOR));
  }

  @Test
  void badSpacingNamesK() {
    assertStartsWith("k ", assertThrows(IllegalArgumentException.class, () -> new TrajectoryRecorder(0)));
    assertThrows(IllegalArgumentException.class, () -> new TrajectoryRecorder(1, false, false));
  }
}
