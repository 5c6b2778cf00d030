package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * DPM-Solver++(2M) against an independent implementation in PyTorch, written in the form of diffusers'
 * DPMSolverMultistepScheduler (src/test/python/make_dpm_solver_fixture.py, fixtures/diffusion/dpm_solver.json), and
 * against exact models.
 */
class DpmSolverSamplerTest extends TorchTestBase {
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear();

  /** The fixture's toy network: out = 0.5 x t / T. */
  private static EpsilonModel toy(int T) {
    return (xt, t) -> {
      try (Scope scope = Scope.open()) {
        Tensor scale = t.to(xt.dtype()).mul(0.5 / T).view(AnalyticModels.perImage(xt));
        return Scope.keep(xt.mul(scale));
      }
    };
  }

  private static double[] doubles(JsonArray a) {
    double[] d = new double[a.size()];
    for (int i = 0; i < d.length; i++) d[i] = a.get(i).getAsDouble();
    return d;
  }

  @Test
  void matchesAnIndependentImplementationForEveryPredictionTypeAndSpacing() {
    JsonObject fixture = TorchTestBase.fixtureJson("diffusion/dpm_solver.json").getAsJsonObject();
    JsonArray shapeJson = fixture.getAsJsonArray("shape");
    long[] shape = new long[shapeJson.size()];
    for (int i = 0; i < shape.length; i++) shape[i] = shapeJson.get(i).getAsLong();
    double[] xT = doubles(fixture.getAsJsonArray("xT"));
    int cases = 0;
    for (JsonElement element : fixture.getAsJsonArray("cases")) {
      JsonObject c = element.getAsJsonObject();
      PredictionType type = PredictionType.parse(c.get("prediction").getAsString());
      DpmSolverSampler.TimestepSpacing spacing = DpmSolverSampler.TimestepSpacing.parse(c.get("spacing").getAsString());
      int steps = c.get("steps").getAsInt();
      String name = type + "/" + spacing + "/" + steps;
      JsonArray ts = c.getAsJsonArray("timesteps");
      int[] expectedTau = new int[ts.size()];
      for (int i = 0; i < expectedTau.length; i++) expectedTau[expectedTau.length - 1 - i] = ts.get(i).getAsInt();
      double[] expected = doubles(c.getAsJsonArray("x0"));

      DpmSolverSampler sampler = new DpmSolverSampler(new GaussianDiffusion(toy(schedule.timesteps()), schedule, type), steps, spacing);
      assertArrayEquals(expectedTau, sampler.tau(), name + " timesteps");
      try (Scope scope = Scope.open(); Generator g = new Generator(0)) {
        Tensor x = Torch.tensor(xT, shape).to(DType.FLOAT32);
        double[] got = AnalyticModels.values(ReverseLoop.run(sampler, sampler.tau(), x, false, Noise.of(g), step -> {}));
        for (int i = 0; i < expected.length; i++) {
          assertEquals(expected[i], got[i], 2e-5 * Math.abs(expected[i]) + 1e-5, name + " element " + i);
        }
      }
      cases++;
    }
    assertEquals(4, cases);
  }

  @Test
  void tenStepsLandOnTheDataPointOfAnExactModel() {
    for (PredictionType type : PredictionType.values()) {
      try (Scope scope = Scope.open()) {
        Tensor c = Torch.tensor(new double[] {-0.7, 0.1, 0.4, 0.95}, 1, 1, 2, 2).to(DType.FLOAT32);
        GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.exactForPoint(schedule, c, type), schedule, type);
        Tensor x = new DpmSolverSampler(d, 10).sample(3, new long[] {1, 2, 2}, 11, Progress.NONE);
        double gap = x.sub(c).abs().amax().item();
        assertTrue(gap < 1e-4, type + ": largest distance from c " + gap);
      }
    }
  }

  @Test
  void aStepWithoutHistoryIsDeterministicDdim() {
    GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.2, 0.6), schedule);
    DpmSolverSampler dpm = new DpmSolverSampler(d, 10);
    DdimSampler ddim = new DdimSampler(d, 10, 0.0);
    try (Scope scope = Scope.open(); Generator g = new Generator(3)) {
      Tensor xt = Torch.randn(new long[] {2, 1, 3, 3}, DType.FLOAT32, schedule.device(), g);
      Tensor a = dpm.step(xt, 600, 450, Noise.of(g)).next();
      Tensor b = ddim.step(xt, 600, 450, Noise.of(g)).next();
      double gap = a.sub(b).abs().amax().item();
      assertTrue(gap < 1e-5, "first-order DPM-Solver++ and DDIM differ by " + gap);
    }
  }

  @Test
  void timestepsFollowDiffusersLinspace() {
    GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
    // np.linspace(0, 999, S + 1).round()[::-1][:-1], ascending
    assertArrayEquals(new int[] {500, 999}, new DpmSolverSampler(d, 2).tau());
    assertArrayEquals(new int[] {333, 666, 999}, new DpmSolverSampler(d, 3).tau());
    assertArrayEquals(new int[] {999}, new DpmSolverSampler(d, 1).tau());
    int[] all = new DpmSolverSampler(d, 999).tau();
    for (int i = 0; i < all.length; i++) assertEquals(i + 1, all[i]);
  }

  @Test
  void logSnrSpacingWhereNearestTimestepsCollideMatchesTheFixture() {
    JsonObject fixture = TorchTestBase.fixtureJson("diffusion/dpm_solver.json").getAsJsonObject();
    int cases = 0;
    for (JsonElement element : fixture.getAsJsonArray("logsnr")) {
      JsonObject c = element.getAsJsonObject();
      int T = c.get("T").getAsInt();
      int steps = c.get("steps").getAsInt();
      JsonArray ts = c.getAsJsonArray("timesteps");
      int[] expected = new int[ts.size()];
      for (int i = 0; i < expected.length; i++) expected[expected.length - 1 - i] = ts.get(i).getAsInt();
      try (NoiseSchedule s = NoiseSchedule.linear(T, 1e-4, 0.02)) {
        GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.constant(0), s);
        assertArrayEquals(expected, new DpmSolverSampler(d, steps, DpmSolverSampler.TimestepSpacing.LOGSNR).tau(), "T " + T + ", S " + steps);
      }
      cases++;
    }
    assertEquals(3, cases);
  }

  @Test
  void refusesStepsOutOfRangeAndAForeignState() {
    GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.constant(0), schedule);
    assertEquals("samplingSteps = 0 must lie in [1, T - 1 = 999] for dpm-solver++ (its steps skip t = 0)",
        assertThrows(InvalidSettingException.class, () -> new DpmSolverSampler(d, 0)).getMessage());
    assertEquals("samplingSteps = 1000 must lie in [1, T - 1 = 999] for dpm-solver++ (its steps skip t = 0)",
        assertThrows(InvalidSettingException.class, () -> new DpmSolverSampler(d, 1000)).getMessage());
    assertThrows(InvalidSettingException.class, () -> new SamplerOptions(SamplerType.DPM_SOLVER, 1000, 0).check(1000));
    try (Scope scope = Scope.open(); Generator g = new Generator(0)) {
      Tensor x = Torch.zeros(1, 1, 2, 2);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> new DpmSolverSampler(d, 10).step(x, 999, 899, Noise.of(g), Sampler.RunState.NONE));
      assertTrue(e.getMessage().startsWith("state must come from DpmSolverSampler.newRun()"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> DpmSolverSampler.TimestepSpacing.parse("leading"));
  }

  @Test
  void concurrentRunsOfOneSamplerEqualLoneRuns() throws Exception {
    GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.gaussianData(schedule, 0.2, 0.6), schedule);
    DpmSolverSampler sampler = new DpmSolverSampler(d, 12);
    long[] shape = {1, 4, 4};
    int threads = 4;
    int runs = 3;
    List<double[]> lone = new ArrayList<>();
    for (int i = 0; i < threads * runs; i++) {
      try (Scope scope = Scope.open()) {
        lone.add(AnalyticModels.values(sampler.sample(2, shape, 100 + i, Progress.NONE)));
      }
    }
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<List<double[]>>> futures = new ArrayList<>();
      for (int k = 0; k < threads; k++) {
        int first = k * runs;
        futures.add(pool.submit(() -> {
          List<double[]> out = new ArrayList<>();
          for (int i = first; i < first + runs; i++) {
            try (Scope scope = Scope.open()) {
              out.add(AnalyticModels.values(sampler.sample(2, shape, 100 + i, Progress.NONE)));
            }
          }
          return out;
        }));
      }
      for (int k = 0; k < threads; k++) {
        List<double[]> got = futures.get(k).get();
        for (int r = 0; r < runs; r++) assertArrayEquals(lone.get(k * runs + r), got.get(r), "run " + (k * runs + r));
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
