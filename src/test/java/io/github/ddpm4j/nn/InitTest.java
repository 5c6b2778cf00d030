package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.ddpm4j.nn.Init.FanMode;
import io.github.ddpm4j.nn.Init.Nonlinearity;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Default initialisation: after {@code Torch.manualSeed(s)} a new layer holds
 * exactly the parameters PyTorch's constructor draws after
 * {@code torch.manual_seed(s)}, and each {@link Init} function fills a tensor
 * exactly as its {@code torch.nn.init} counterpart (fixtures/nn/init.json).
 */
class InitTest extends TorchTestBase {
  static JsonObject fixture() {
    return Fixtures.load("init");
  }

  static Stream<String> layers() {
    return fixture().getAsJsonObject("layers").keySet().stream();
  }

  static Stream<String> functions() {
    return fixture().getAsJsonObject("functions").keySet().stream();
  }

  private static void assertSameState(String what, Module m, JsonObject expected) {
    Map<String, Tensor> sd = m.stateDict();
    assertEquals(expected.keySet(), sd.keySet(), what + ": state dict keys");
    for (String k : expected.keySet()) {
      // Identical generator streams give identical bits: demand exact equality.
      Fixtures.assertClose("init", what + " " + k, sd.get(k), expected.get(k), 0.0);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layers")
  void newLayerAfterManualSeedEqualsPyTorch(String name) {
    JsonObject c = fixture().getAsJsonObject("layers").getAsJsonObject(name);
    Torch.manualSeed(c.get("seed").getAsLong());
    try (Module m = Fixtures.build(c)) {
      assertSameState(name, m, c.getAsJsonObject("state"));
    }
  }

  @Test
  void successiveLayersConsumeTheGeneratorAsPyTorchDoes() {
    Torch.manualSeed(fixture().get("chain_seed").getAsLong());
    List<JsonElement> chain = fixture().getAsJsonArray("chain").asList();
    Module[] built = new Module[chain.size()];
    try {
      for (int i = 0; i < built.length; i++) built[i] = Fixtures.build(chain.get(i).getAsJsonObject());
      for (int i = 0; i < built.length; i++) {
        assertSameState("chain[" + i + "]", built[i], chain.get(i).getAsJsonObject().getAsJsonObject("state"));
      }
    } finally {
      for (Module m : built) if (m != null) m.close();
    }
  }

  private static Tensor apply(JsonObject c, Generator g) {
    Tensor t = Torch.empty(Fixtures.longs(c.getAsJsonArray("shape")), DType.FLOAT32, Device.CPU);
    String fn = c.get("fn_name").getAsString();
    return switch (fn) {
      case "kaiming_uniform_" -> Init.kaimingUniform_(t, c.get("a").getAsDouble(), fanMode(c), nonlinearity(c), g);
      case "kaiming_normal_" -> Init.kaimingNormal_(t, c.get("a").getAsDouble(), fanMode(c), nonlinearity(c), g);
      case "xavier_uniform_" -> Init.xavierUniform_(t, c.get("gain").getAsDouble(), g);
      case "xavier_normal_" -> Init.xavierNormal_(t, c.get("gain").getAsDouble(), g);
      case "uniform_" -> Init.uniform_(t, c.get("a").getAsDouble(), c.get("b").getAsDouble(), g);
      case "normal_" -> Init.normal_(t, c.get("mean").getAsDouble(), c.get("std").getAsDouble(), g);
      default -> throw new IllegalArgumentException(fn);
    };
  }

  private static FanMode fanMode(JsonObject c) {
    return FanMode.valueOf(c.get("mode").getAsString().toUpperCase(Locale.ROOT));
  }

  private static Nonlinearity nonlinearity(JsonObject c) {
    return Nonlinearity.valueOf(c.get("nonlinearity").getAsString().toUpperCase(Locale.ROOT));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("functions")
  void initFunctionWithDefaultGeneratorEqualsTorchNnInit(String name) {
    JsonObject c = fixture().getAsJsonObject("functions").getAsJsonObject(name);
    Torch.manualSeed(c.get("seed").getAsLong());
    Fixtures.assertClose("init", name, apply(c, null), c.get("value"), 0.0);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("functions")
  void initFunctionWithOwnGeneratorEqualsTorchNnInit(String name) {
    JsonObject c = fixture().getAsJsonObject("functions").getAsJsonObject(name);
    Torch.manualSeed(c.get("seed").getAsLong() + 12345);
    // A generator seeded with s yields the stream of the default generator after manual_seed(s).
    try (Generator g = new Generator(c.get("seed").getAsLong())) {
      Fixtures.assertClose("init", name, apply(c, g), c.get("value"), 0.0);
    }
  }

  @Test
  void fansMatchPyTorch() {
    for (JsonElement e : fixture().getAsJsonArray("fans")) {
      JsonObject c = e.getAsJsonObject();
      Tensor t = Torch.empty(Fixtures.longs(c.getAsJsonArray("shape")), DType.FLOAT32, Device.CPU);
      Init.Fans f = Init.calculateFanInAndFanOut(t);
      assertEquals(c.get("fan_in").getAsLong(), f.fanIn(), "fan in of " + c.get("shape"));
      assertEquals(c.get("fan_out").getAsLong(), f.fanOut(), "fan out of " + c.get("shape"));
    }
  }

  @Test
  void gainsMatchPyTorch() {
    JsonObject g = fixture().getAsJsonObject("gains");
    for (Nonlinearity n : Nonlinearity.values()) {
      assertEquals(g.get(n.name().toLowerCase(Locale.ROOT)).getAsDouble(), Init.calculateGain(n), 0.0, n.name());
    }
    assertEquals(g.get("leaky_relu_0.2").getAsDouble(), Init.calculateGain(Nonlinearity.LEAKY_RELU, 0.2), 0.0);
  }

  /** Largest magnitude of a tensor's elements. */
  private static double maxAbs(Tensor t) {
    return t.abs().amax().item();
  }

  @Test
  void defaultInitStaysWithinPyTorchsBoundsAndFillsThem() {
    Torch.manualSeed(0);
    try (Linear lin = new Linear(100, 400);
        Conv2d conv = new Conv2d(8, 128, ConvOptions.kernel(3).withPadding(1));
        ConvTranspose2d up = new ConvTranspose2d(16, 128, ConvOptions.kernel(4).withStride(2).withPadding(1));
        GroupNorm gn = new GroupNorm(4, 16)) {
      double linBound = 1 / Math.sqrt(100);
      double convBound = 1 / Math.sqrt(8 * 9);
      // Fan in from dim 1 of the [in, out, k, k] weight, as PyTorch computes it: 128 * 4 * 4, not 16 * 4 * 4.
      double upBound = 1 / Math.sqrt(128 * 16);
      Object[][] cases = {{lin.weight(), linBound}, {lin.bias(), linBound}, {conv.weight(), convBound},
          {conv.bias(), convBound}, {up.weight(), upBound}, {up.bias(), upBound}};
      for (Object[] c : cases) {
        Tensor t = (Tensor) c[0];
        double bound = (Double) c[1];
        double m = maxAbs(t);
        assertTrue(m <= bound, "max |w| " + m + " exceeds bound " + bound);
        assertTrue(m > 0.95 * bound, "max |w| " + m + " does not come near the bound " + bound);
        assertTrue(t.isLeaf() && t.requiresGrad(), "parameters are leaves that require grad");
        assertEquals(DType.FLOAT32, t.dtype());
      }
      assertTrue(gn.weight().equal(Torch.ones(16)));
      assertTrue(gn.bias().equal(Torch.zeros(16)));
    }
  }

  @Test
  void resetParametersRedrawsWithTheSameDistribution() {
    Torch.manualSeed(3);
    try (Linear a = new Linear(6, 5)) {
      Tensor before = a.weight().clone();
      a.resetParameters();
      assertFalse(before.equal(a.weight()));
      Torch.manualSeed(3);
      try (Linear b = new Linear(6, 5)) {
        assertTrue(before.equal(b.weight()));
      }
    }
  }

  @Test
  void initWorksOnParametersThatRequireGrad() {
    try (Linear lin = new Linear(3, 4)) {
      Init.zeros_(lin.bias());
      Init.ones_(lin.weight());
      assertTrue(lin.weight().equal(Torch.ones(4, 3)));
      assertTrue(lin.bias().equal(Torch.zeros(4)));
      Init.constant_(lin.bias(), 2.5);
      assertEquals(2.5, lin.bias().mean().item(), 0.0);
      Init.xavierUniform_(lin.weight());
      Init.kaimingUniform_(lin.weight(), 0);
      Init.normal_(lin.bias());
      Init.uniform_(lin.bias());
      assertTrue(lin.weight().isLeaf() && lin.weight().requiresGrad());
    }
  }

  @Test
  void zeroSizedTensorIsLeftAlone() {
    Tensor t = Torch.empty(new long[] {0, 3}, DType.FLOAT32, Device.CPU);
    Init.kaimingUniform_(t, Math.sqrt(5));
    Init.kaimingNormal_(t, 0, FanMode.FAN_IN, Nonlinearity.RELU, null);
    assertEquals(0, t.numel());
  }

  @Test
  void badArgumentsAreRejected() {
    Tensor vec = Torch.zeros(5);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Init.calculateFanInAndFanOut(vec));
    assertTrue(e.getMessage().contains("fewer than 2 dimensions"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Init.kaimingUniform_(vec, 0));
    assertThrows(IllegalArgumentException.class, () -> Init.xavierUniform_(vec));
    Tensor m = Torch.zeros(3, 3);
    e = assertThrows(IllegalArgumentException.class, () -> Init.uniform_(m, 1, 0, null));
    assertTrue(e.getMessage().contains("a <= b"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Init.normal_(m, 0, -1, null));
    assertTrue(e.getMessage().contains("std"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Init.xavierUniform_(m, Double.NaN, null));
    assertTrue(e.getMessage().contains("gain"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Init.calculateGain(Nonlinearity.LEAKY_RELU, Double.NaN));
    assertThrows(NullPointerException.class, () -> Init.zeros_(null));
    Tensor closed = Torch.zeros(2, 2);
    closed.close();
    assertThrows(IllegalStateException.class, () -> Init.ones_(closed));
  }
}
