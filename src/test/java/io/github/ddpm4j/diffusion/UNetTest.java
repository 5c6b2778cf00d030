package io.github.ddpm4j.diffusion;

import static io.github.ddpm4j.diffusion.NoiseScheduleTest.assertStartsWith;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.nn.ModuleList;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UNetTest extends TorchTestBase {
  private static final UNetFixture fixture = UNetFixture.load();

  /** Largest absolute difference over the largest magnitude of the reference. */
  static double relativeError(Tensor got, Tensor expected) {
    try (Scope scope = Scope.open()) {
      return got.sub(expected).abs().amax().item() / expected.abs().amax().item();
    }
  }

  /** The fixture's network in eval mode (no dropout), as the reference outputs were computed. */
  private static UNet evaluating() {
    UNet unet = fixture.unet();
    unet.eval();
    return unet;
  }

  /** @return the network's noise prediction for the fixture's input, the one PyTorch's output was computed for */
  private static Tensor epsOfFixtureInput(UNet unet) {
    return unet.epsTheta(fixture.tensor("x"), fixture.timesteps());
  }

  @Test
  void parameterNamesAreTheSeedsModulePaths() {
    try (UNet unet = new UNet(fixture.config())) {
      assertEquals(fixture.strings("state_keys"), new ArrayList<>(unet.stateDict().keySet()), "same keys, same order");
    }
  }

  @Test
  void outputMatchesPyTorch() {
    try (UNet unet = evaluating(); Scope scope = Scope.open()) {
      Tensor out = epsOfFixtureInput(unet);
      Tensor expected = fixture.tensor("out");
      assertArrayEquals(expected.shape(), out.shape());
      double err = relativeError(out, expected);
      System.out.printf("UNet forward parity: max |java - torch| / max |torch| = %.3e%n", err);
      assertTrue(err < 1e-4, "relative error " + err);
    }
  }

  @Test
  void gradientsMatchPyTorch() {
    try (UNet unet = evaluating(); Scope scope = Scope.open()) {
      Tensor x = fixture.tensor("x").requiresGrad_(true);
      Tensor t = fixture.timesteps();
      unet.forward(x, t).mul(fixture.tensor("weights")).sum().backward();
      double worst = relativeError(x.grad(), fixture.tensor("grad/x"));
      Map<String, Tensor> params = unet.namedParameters();
      for (String k : fixture.strings("grad_keys")) {
        double err = relativeError(params.get(k).grad(), fixture.tensor("grad/" + k));
        assertTrue(err < 1e-4, k + ": relative error " + err);
        worst = Math.max(worst, err);
      }
      System.out.printf("UNet gradient parity: worst max |java - torch| / max |torch| = %.3e%n", worst);
      assertTrue(worst < 1e-4, "relative error " + worst);
    }
  }

  @Test
  void attentionNormIsApplied() {
    try (UNet unet = evaluating(); Scope scope = Scope.open()) {
      Tensor before = epsOfFixtureInput(unet);
      try (GradMode g = GradMode.noGrad()) {
        unet.namedParameters().get("middle.attn.norm.bias").add_(1.0);
      }
      assertTrue(epsOfFixtureInput(unet).sub(before).abs().amax().item() > 1e-4, "changing the attention norm changes the output");
    }
  }

  @Test
  void defaultsAreTheSeeds() {
    UNetConfig c = UNetConfig.defaults();
    assertEquals(3, c.imageChannels());
    assertEquals(64, c.nChannels());
    assertEquals(List.of(1, 2, 2, 4), c.chMults());
    assertEquals(List.of(false, false, true, true), c.isAttn());
    assertEquals(2, c.nBlocks());
    assertEquals(0.1, c.dropout());
    assertEquals(32, c.nGroups());
    assertEquals(8, c.finalGroups());
    assertEquals(8, c.sizeDivisor());
    assertEquals(c, UNetConfig.builder().build());
  }

  @Test
  void moduleTreeFollowsTheConfiguration() {
    // Three levels, attention at the last two, two blocks each: the seed's layout at a small width.
    UNetConfig c = UNetConfig.builder().nChannels(8).chMults(1, 2, 2).isAttn(false, true, true).nGroups(4).finalGroups(4).build();
    try (UNet unet = new UNet(c)) {
      Map<String, Tensor> state = unet.stateDict();
      assertEquals(8, ((ModuleList<?>) unet.namedChildren().get("down")).size());
      assertEquals(11, ((ModuleList<?>) unet.namedChildren().get("up")).size());
      assertArrayEquals(new long[] {8, 3, 3, 3}, state.get("image_proj.weight").shape());
      assertArrayEquals(new long[] {32, 8}, state.get("time_emb.lin1.weight").shape());
      assertArrayEquals(new long[] {16, 8, 1, 1}, state.get("down.3.res.shortcut.weight").shape());
      assertArrayEquals(new long[] {96, 32}, state.get("down.6.attn.projection.weight").shape());
      assertArrayEquals(new long[] {16, 16, 3, 3}, state.get("down.5.conv.weight").shape());
      assertArrayEquals(new long[] {32, 64, 3, 3}, state.get("up.0.res.conv1.weight").shape());
      assertArrayEquals(new long[] {16, 48, 1, 1}, state.get("up.2.res.shortcut.weight").shape());
      assertArrayEquals(new long[] {16, 16, 4, 4}, state.get("up.3.conv.weight").shape());
      assertArrayEquals(new long[] {3, 8, 3, 3}, state.get("final.weight").shape());
      assertArrayEquals(new long[] {8}, state.get("norm.weight").shape());
      assertFalse(state.containsKey("down.0.attn.norm.weight"), "no attention at the first level");
      assertFalse(state.containsKey("down.0.res.shortcut.weight"), "identity shortcut when the width is kept");
      assertTrue(state.containsKey("middle.attn.norm.weight"));
      try (Scope scope = Scope.open()) {
        Tensor out = unet.forward(Torch.randn(2, 3, 12, 12), Torch.tensor(new long[] {0, 999}, 2));
        assertArrayEquals(new long[] {2, 3, 12, 12}, out.shape());
      }
    }
  }

  @Test
  void forwardLeavesNoTemporaries() {
    try (UNet unet = new UNet(fixture.config())) {
      Tensor x = Torch.randn(1, 1, 8, 8);
      Tensor t = Torch.tensor(new long[] {5}, 1);
      long before = Torch.liveHandles(Torch.HandleKind.TENSOR);
      Tensor out = unet.forward(x, t);
      assertEquals(before + 1, Torch.liveHandles(Torch.HandleKind.TENSOR));
      out.close();
      x.close();
      t.close();
    }
  }

  @Test
  void badConfigurationsNameTheParameter() {
    // 48 channels cannot be split into the default 32 groups.
    assertStartsWith("nGroups ", assertThrows(IllegalArgumentException.class, () -> UNetConfig.builder().nChannels(48).build()));
    // 16 divides 64 but not the 24 channels of a narrower first level.
    assertStartsWith("nGroups ", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().nChannels(24).nGroups(16).build()));
    assertStartsWith("finalGroups ", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().nChannels(32).nGroups(8).finalGroups(3).build()));
    assertStartsWith("nChannels ", assertThrows(IllegalArgumentException.class, () -> UNetConfig.builder().nChannels(7).build()));
    assertStartsWith("imageChannels ", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().imageChannels(0).build()));
    assertStartsWith("isAttn ", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().chMults(1, 2).isAttn(true).build()));
    assertStartsWith("chMults ", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().chMults(1, 0).isAttn(true, true).build()));
    assertStartsWith("chMults ", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().chMults().isAttn().build()));
    assertStartsWith("nBlocks ", assertThrows(IllegalArgumentException.class, () -> UNetConfig.builder().nBlocks(0).build()));
    assertStartsWith("dropout ", assertThrows(IllegalArgumentException.class, () -> UNetConfig.builder().dropout(1.0).build()));
    assertStartsWith("dropout ", assertThrows(IllegalArgumentException.class, () -> UNetConfig.builder().dropout(Double.NaN).build()));
  }

  /** Sizes have upper bounds, so that a configuration read from a file cannot ask LibTorch for gigabytes. */
  @Test
  void sizesHaveUpperBounds() {
    assertStartsWith("imageChannels = 5 must be in 1..4", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().imageChannels(5).build()));
    assertStartsWith("nChannels = 2048 must be even and in 4..1024", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().nChannels(2048).build()));
    assertStartsWith("chMults = [1, 2, 2, 4] make the widest level (nChannels = 1024 times their product) wider than 4096",
        assertThrows(IllegalArgumentException.class, () -> UNetConfig.builder().nChannels(1024).build()));
    assertStartsWith("chMults = [1, 65536, 65536] make the widest level (nChannels = 64", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().chMults(1, 65536, 65536).isAttn(false, false, false).build()));
    assertStartsWith("chMults has 9 levels, at most 8", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().chMults(1, 1, 1, 1, 1, 1, 1, 1, 1).isAttn(new boolean[9]).build()));
    assertStartsWith("nBlocks = 17 must be in 1..16", assertThrows(IllegalArgumentException.class,
        () -> UNetConfig.builder().nBlocks(17).build()));
    UNetConfig widest = UNetConfig.builder().nChannels(1024).chMults(1, 2, 2).isAttn(false, false, false).nBlocks(16).build();
    assertEquals(UNetConfig.MAX_WIDTH, 1024 * 4);
    assertEquals(16, widest.nBlocks());
    assertEquals(8, UNetConfig.builder().nChannels(8).nGroups(8).chMults(1, 1, 1, 1, 1, 1, 1, 1).isAttn(new boolean[8]).build().levels());
  }

  @Test
  void badInputsNameTheParameter() {
    try (UNet unet = new UNet(fixture.config()); Scope scope = Scope.open()) {
      Tensor t = Torch.tensor(new long[] {1, 2}, 2);
      // Two levels: height and width must be even.
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> unet.forward(Torch.zeros(2, 1, 6, 7), t));
      assertStartsWith("x ", e);
      assertTrue(e.getMessage().contains("2^(levels - 1) = 2"), e.getMessage());
      assertStartsWith("x ", assertThrows(IllegalArgumentException.class, () -> unet.forward(Torch.zeros(2, 3, 8, 8), t)));
      assertStartsWith("x ", assertThrows(IllegalArgumentException.class, () -> unet.forward(Torch.zeros(2, 8, 8), t)));
      assertStartsWith("t ", assertThrows(IllegalArgumentException.class,
          () -> unet.forward(Torch.zeros(3, 1, 8, 8), t)));
    }
    UNetConfig fourLevels = UNetConfig.builder().nChannels(8).nGroups(8).finalGroups(8).nBlocks(1).build();
    try (UNet deep = new UNet(fourLevels); Scope scope = Scope.open()) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> deep.forward(Torch.zeros(1, 3, 12, 12), Torch.tensor(new long[] {0}, 1)));
      assertStartsWith("x ", e);
      assertTrue(e.getMessage().contains("= 8"), e.getMessage());
    }
  }

  @Test
  void everySamplerRunsOnTheUNet() {
    try (UNet unet = fixture.unet(); NoiseSchedule schedule = NoiseSchedule.linear(8, 1e-3, 0.3); Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(unet, schedule, VarianceType.FIXED_LARGE, true);
      long[] shape = {1, 8, 8};
      Tensor ancestral = new AncestralSampler(diffusion).sample(2, shape, 1, Progress.NONE);
      Tensor ddim = new DdimSampler(diffusion, 3, 0.0).sample(2, shape, 1, Progress.NONE);
      Tensor mixed;
      try (Generator g = new Generator(2)) {
        mixed = new Interpolator(diffusion).interpolate(ancestral.narrow(0, 0, 1), ancestral.narrow(0, 1, 1), 0.5, 3, g,
            Progress.NONE);
      }
      TrajectoryRecorder recorder = new TrajectoryRecorder(3);
      try (Generator g = new Generator(1);
          Trajectory run = recorder.trajectory(new AncestralSampler(diffusion).sample(2, shape, g, recorder))) {
        assertTrue(run.sample().equal(ancestral), "trajectory and ancestral agree for the same seed");
        assertArrayEquals(new int[] {6, 3, 0}, run.t());
        assertArrayEquals(new long[] {3, 2, 1, 8, 8}, run.x0Hat().shape());
      }
      for (Tensor x : List.of(ancestral, ddim, mixed)) {
        assertTrue(x.isfinite().all().item() != 0);
        assertTrue(x.abs().amax().item() <= 1.0 + 1e-6, "clipped estimates end in [-1, 1]");
      }
      assertTrue(unet.isTraining(), "the sampler hands the model back in training mode");
    }
  }

  @Test
  void trainingModeAppliesDropout() {
    try (UNet unet = fixture.unet(); Scope scope = Scope.open(); GradMode g = GradMode.noGrad()) {
      Tensor x = fixture.tensor("x");
      Tensor t = fixture.timesteps();
      List<Tensor> outs = new ArrayList<>();
      unet.train(true);
      outs.add(unet.forward(x, t));
      outs.add(unet.forward(x, t));
      assertFalse(outs.get(0).equal(outs.get(1)), "dropout draws a new mask each call");
      unet.eval();
      assertTrue(unet.forward(x, t).equal(unet.forward(x, t)));
    }
  }

  /** A channels-last network gives the float32 network's output up to summation order, on a contiguous input too. */
  @Test
  void channelsLastGivesTheSameNoisePrediction() {
    UNetConfig config = UNetConfig.builder().imageChannels(1).nChannels(8).chMults(1, 2).isAttn(false, true).nBlocks(1)
        .dropout(0.0).nGroups(4).finalGroups(4).build();
    try (UNet a = new UNet(config); UNet b = new UNet(config); Scope s = Scope.open()) {
      b.loadStateDict(a.stateDict(), true);
      a.eval();
      b.eval();
      b.to(io.github.ddpm4j.torch.MemoryFormat.CHANNELS_LAST);
      assertEquals(io.github.ddpm4j.torch.MemoryFormat.CHANNELS_LAST, b.memoryFormat());
      Tensor x = Torch.randn(2, 1, 8, 8);
      Tensor t = Torch.tensor(new long[] {3, 40}, 2);
      Tensor ya = a.forward(x, t), yb = b.forward(x, t);
      assertTrue(ya.sub(yb).abs().amax().item() < 1e-4 * (1 + ya.abs().amax().item()), "same prediction");
    }
  }
}
