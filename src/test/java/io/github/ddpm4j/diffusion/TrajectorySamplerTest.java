package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.NoiseScheduleTest.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TrajectorySamplerTest {
  private static final int T = 50;
  private static NoiseSchedule schedule;

  @BeforeAll
  static void setUp() {
    AnalyticModels.configureThreads();
    schedule = NoiseSchedule.linear(T, 1e-3, 0.2);
  }

  @AfterAll
  static void tearDown() {
    schedule.close();
  }

  @Test
  void recordsEveryKStepsAndEndsWithTheSample() {
    try (Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.2, 0.5), schedule);
      try (Generator g = new Generator(21);
          Trajectory run = new TrajectorySampler(diffusion, 10).sample(3, new long[] {1, 2, 2}, g, Progress.NONE)) {
        assertArrayEquals(new int[] {40, 30, 20, 10, 0}, run.timesteps());
        assertArrayEquals(new long[] {5, 3, 1, 2, 2}, run.x0Hat().shape());
        Tensor plain = new AncestralSampler(diffusion).sample(3, new long[] {1, 2, 2}, 21, Progress.NONE);
        assertTrue(run.sample().equal(plain), "the same images as ancestral sampling with the same seed");
        assertTrue(run.x0Hat().select(0, 4).sub(run.sample()).abs().amax().item() < 1e-5, "x0Hat at t = 0 is the sample");
        assertTrue(run.x0Hat().select(0, 0).sub(run.sample()).abs().amax().item() > 1e-3, "early estimates differ");
      }
    }
  }

  @Test
  void framesAreEstimatesOfX0() {
    try (Scope scope = Scope.open()) {
      Tensor x0 = Torch.tensor(new double[] {-0.6, 0.1, 0.5, 0.95}, 1, 1, 2, 2).to(DType.FLOAT32);
      GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.oracle(schedule, x0), schedule);
      try (Generator g = new Generator(3);
          Trajectory run = new TrajectorySampler(diffusion, 7).sample(2, new long[] {1, 2, 2}, g, Progress.NONE)) {
        assertArrayEquals(new int[] {49, 42, 35, 28, 21, 14, 7, 0}, run.timesteps());
        assertTrue(run.x0Hat().sub(x0).abs().amax().item() < 1e-3, "an oracle's estimate is x0 at every frame");
      }
    }
  }

  @Test
  void badSpacingNamesK() {
    GaussianDiffusion diffusion = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
    assertStartsWith("k ", assertThrows(IllegalArgumentException.class, () -> new TrajectorySampler(diffusion, 0)));
  }
}
