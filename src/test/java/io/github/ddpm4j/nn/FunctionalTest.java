package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.github.ddpm4j.torch.Functional.InterpolateMode;
import io.github.ddpm4j.torch.Functional.Reduction;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import io.github.ddpm4j.torch.Functional;

/**
 * {@link Functional} against {@code torch.nn.functional}: outputs and the gradients of
 * {@code (out * R).sum()} for every input (fixtures/nn/functional.json), and
 * the argument checks.
 */
class FunctionalTest extends TorchTestBase {
  static final double TOL = 1e-5;

  static Stream<String> cases() {
    return Fixtures.load("functional").keySet().stream();
  }

  private static Tensor call(JsonObject c, Map<String, Tensor> in) {
    Tensor x = in.get("x");
    return switch (c.get("fn").getAsString()) {
      case "silu" -> Functional.silu(x);
      case "sigmoid" -> Functional.sigmoid(x);
      case "relu" -> Functional.relu(x);
      case "gelu" -> Functional.gelu(x);
      case "softmax" -> Functional.softmax(x, c.get("dim").getAsLong());
      case "log_softmax" -> Functional.logSoftmax(x, c.get("dim").getAsLong());
      case "group_norm" -> Functional.groupNorm(x, c.get("groups").getAsLong(), in.get("w"), in.get("b"), c.get("eps").getAsDouble());
      case "layer_norm" -> Functional.layerNorm(x, Fixtures.longs(c.getAsJsonArray("normalized_shape")), in.get("w"), in.get("b"),
          c.get("eps").getAsDouble());
      case "mse_loss" -> Functional.mseLoss(x, in.get("t"), Reduction.valueOf(c.get("reduction").getAsString().toUpperCase(Locale.ROOT)));
      case "interpolate" -> Functional.interpolate(x, c.getAsJsonArray("size").get(0).getAsLong(), c.getAsJsonArray("size").get(1).getAsLong(),
          Fixtures.mode(c.get("mode").getAsString()), c.get("align_corners").getAsBoolean());
      case "upsample" -> Functional.upsample(x, c.get("scale").getAsDouble(), Fixtures.mode(c.get("mode").getAsString()));
      default -> throw new IllegalArgumentException(c.get("fn").getAsString());
    };
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void valuesAndGradientsMatchPyTorch(String name) {
    JsonObject c = Fixtures.load("functional").getAsJsonObject(name);
    Map<String, Tensor> in = new LinkedHashMap<>();
    for (var e : c.getAsJsonObject("inputs").entrySet()) in.put(e.getKey(), Fixtures.tensor(e.getValue()).requiresGrad_(true));
    Tensor y = call(c, in);
    Fixtures.assertClose("functional", name + " output", y, c.get("output"), TOL);
    y.mul(Fixtures.tensor(c.get("r"))).sum().backward();
    JsonObject grads = c.getAsJsonObject("grads");
    assertEquals(in.keySet(), grads.keySet());
    for (String k : grads.keySet()) Fixtures.assertClose("functional", name + " grad of " + k, in.get(k).grad(), grads.get(k), TOL);
  }

  @AfterAll
  static void report() {
    System.out.println("[nn parity] functional: max relative error " + Fixtures.WORST.get("functional"));
  }

  private static void assertRejects(String fragment, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
  }

  @Test
  void badArgumentsNameTheParameter() {
    Tensor img = Torch.randn(2, 6, 4, 4);
    Tensor vec = Torch.randn(5);
    assertRejects("dim 4", () -> Functional.softmax(img, 4));
    assertRejects("dim -5", () -> Functional.logSoftmax(img, -5));
    assertRejects("numGroups", () -> Functional.groupNorm(img, 4, null, null, 1e-5));
    assertRejects("numGroups", () -> Functional.groupNorm(img, 0, null, null, 1e-5));
    assertRejects("[N, C, *]", () -> Functional.groupNorm(vec, 1, null, null, 1e-5));
    assertRejects("weight must be [6]", () -> Functional.groupNorm(img, 3, Torch.ones(4), null, 1e-5));
    assertRejects("bias must be [6]", () -> Functional.groupNorm(img, 3, null, Torch.ones(6, 1), 1e-5));
    assertRejects("eps", () -> Functional.groupNorm(img, 3, null, null, -1));
    assertRejects("normalizedShape", () -> Functional.layerNorm(img, new long[] {3, 4}, null, null, 1e-5));
    assertRejects("weight", () -> Functional.layerNorm(img, new long[] {4, 4}, Torch.ones(4), null, 1e-5));
    assertRejects("same shape", () -> Functional.mseLoss(img, Torch.randn(2, 6, 4, 1)));
    assertRejects("outH", () -> Functional.interpolate(img, 0, 3, InterpolateMode.NEAREST));
    assertRejects("outW", () -> Functional.interpolate(img, 3, -1, InterpolateMode.BILINEAR));
    assertRejects("[N, C, H, W]", () -> Functional.interpolate(vec, 3, 3, InterpolateMode.BILINEAR));
    assertRejects("alignCorners", () -> Functional.interpolate(img, 8, 8, InterpolateMode.NEAREST, true));
    assertRejects("scaleFactor", () -> Functional.upsample(img, 0, InterpolateMode.NEAREST));
    assertRejects("scaleFactor", () -> Functional.upsample(img, Double.NaN, InterpolateMode.NEAREST));
    assertRejects("empty image", () -> Functional.upsample(img, 0.1, InterpolateMode.NEAREST));
    assertRejects("[N, C, H, W]", () -> Functional.upsample(vec, 2, InterpolateMode.NEAREST));
    assertRejects("input must be [*, 6]", () -> Functional.linear(Torch.randn(2, 5), Torch.randn(3, 6), null));
    assertRejects("bias must be [3]", () -> Functional.linear(Torch.randn(2, 6), Torch.randn(3, 6), Torch.randn(4)));
    assertRejects("stride", () -> Functional.conv2d(img, Torch.randn(2, 6, 3, 3), null, 0, 1));
    assertRejects("padding", () -> Functional.convTranspose2d(img, Torch.randn(6, 2, 3, 3), null, 1, -1));
    assertRejects("[0, 1]", () -> Functional.dropout(img, 1.5, true));
    assertThrows(NullPointerException.class, () -> Functional.silu(null));
    assertThrows(NullPointerException.class, () -> Functional.mseLoss(img, null));
    Tensor closed = Torch.zeros(2);
    closed.close();
    assertThrows(IllegalStateException.class, () -> Functional.sigmoid(closed));
  }

  @Test
  void functionalFormsAgreeWithTheLayers() {
    Torch.manualSeed(9);
    try (Conv2d conv = new Conv2d(3, 4, ConvOptions.kernel(3).withStride(2).withPadding(1)); ConvTranspose2d up = new ConvTranspose2d(4, 2, ConvOptions.kernel(4).withStride(2).withPadding(1))) {
      Tensor x = Torch.randn(1, 3, 6, 6);
      Tensor a = conv.forward(x);
      assertTrue(a.equal(Functional.conv2d(x, conv.weight(), conv.bias(), 2, 1)));
      Tensor b = up.forward(a);
      assertTrue(b.equal(Functional.convTranspose2d(a, up.weight(), up.bias(), 2, 1)));
      assertArrayEquals(new long[] {1, 2, 6, 6}, b.shape());
    }
    Tensor x = Torch.randn(3, 4);
    assertEquals(0.0, Functional.mseLoss(x, x).item(), 0.0);
    assertTrue(Functional.dropout(x, 0.5, false).equal(x));
  }
}
