package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every sampler makes, for a fixed seed, the same images bit for bit as the reverse loops did
 * before they shared one loop ({@link LegacySamplers}): on the seed UNet of the PyTorch fixture
 * (clipped, fixed-large variance) and on an analytic model (unclipped, fixed-small variance).
 */
class SamplerEquivalenceTest extends TorchTestBase {
  @AutoClose private static NoiseSchedule short8;
  @AutoClose private static NoiseSchedule long50;
  @AutoClose private static UNet unet;

  @BeforeAll
  static void setUp() {
    short8 = NoiseSchedule.linear(8, 1e-3, 0.3);
    long50 = NoiseSchedule.linear(50, 1e-3, 0.2);
    unet = UNetFixture.load().unet();
  }

  /** A diffusion to sample from and one image's shape. */
  record Case(String name, GaussianDiffusion diffusion, long[] shape) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> cases() {
    return Stream.of(
        Arguments.of(new Case("unet", new GaussianDiffusion(unet, short8, VarianceType.FIXED_LARGE, true), new long[] {1, 8, 8})),
        Arguments.of(new Case("analytic", new GaussianDiffusion(AnalyticModels.gaussianData(long50, 0.1, 0.5), long50,
            VarianceType.FIXED_SMALL, false), new long[] {1, 4, 4})));
  }

  private static void assertSame(Tensor expected, Tensor actual, String what) {
    assertArrayEquals(expected.shape(), actual.shape(), what);
    assertTrue(expected.equal(actual), what + ": not bit-identical to the old loop");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void ancestral(Case c) {
    try (Scope scope = Scope.open()) {
      Tensor now = new AncestralSampler(c.diffusion()).sample(3, c.shape(), 11, Progress.NONE);
      assertSame(LegacySamplers.ancestralSample(c.diffusion(), 3, c.shape(), 11), now, "ancestral");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void ddim(Case c) {
    try (Scope scope = Scope.open()) {
      for (double eta : new double[] {0.0, 0.7}) {
        for (int S : new int[] {3, 5}) {
          Tensor now = new DdimSampler(c.diffusion(), S, eta).sample(3, c.shape(), 12, Progress.NONE);
          Tensor old = LegacySamplers.ddim(c.diffusion(), S, eta, 3, c.shape(), 12);
          // DDIM now takes x0Hat from GaussianDiffusion's one formula (sqrt(1/alphaBar) x_t - sqrt(1/alphaBar - 1) eps,
          // float32 schedule tensors) where the old loop wrote (x_t - sqrt(1 - alphaBar) eps) / sqrt(alphaBar) with
          // double scalars: the same value up to float32 rounding, a few ulps per step.
          double err = old.sub(now).abs().amax().item(), scale = old.abs().amax().item();
          assertTrue(err <= 1e-5 * Math.max(1, scale), "DDIM S = " + S + ", eta = " + eta + ": differs by " + err);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void trajectory(Case c) {
    try (Scope scope = Scope.open(); Generator g = new Generator(13)) {
      LegacySamplers.Frames old = LegacySamplers.trajectory(c.diffusion(), 2, c.shape(), 13, 3);
      TrajectoryRecorder recorder = new TrajectoryRecorder(3);
      try (Trajectory now = recorder.trajectory(new AncestralSampler(c.diffusion()).sample(2, c.shape(), g, recorder))) {
        assertArrayEquals(old.t(), now.t());
        assertSame(old.x0Hat(), now.x0Hat(), "trajectory frames");
        assertSame(old.sample(), now.sample(), "trajectory sample");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void interpolation(Case c) {
    try (Scope scope = Scope.open()) {
      Function<Long, Tensor> image = seed -> {
        try (Generator g = new Generator(seed)) {
          long[] shape = new long[c.shape().length + 1];
          shape[0] = 1;
          System.arraycopy(c.shape(), 0, shape, 1, c.shape().length);
          return Torch.rand(shape, DType.FLOAT32, io.github.ddpm4j.torch.Device.CPU, g).mul(2).sub(1);
        }
      };
      Tensor x1 = image.apply(1L);
      Tensor x2 = image.apply(2L);
      int t = c.diffusion().timesteps() / 2;
      Tensor now;
      try (Generator g = new Generator(14)) {
        now = new Interpolator(c.diffusion()).interpolate(x1, x2, 0.3, t, g, Progress.NONE);
      }
      assertSame(LegacySamplers.interpolate(c.diffusion(), x1, x2, 0.3, t, 14), now, "interpolation");
    }
  }
}
