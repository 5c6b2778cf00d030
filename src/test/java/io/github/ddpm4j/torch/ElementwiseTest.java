package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** Elementwise math and broadcasting against PyTorch fixtures, in-place forms against hand-derived values. */
class ElementwiseTest extends TorchTestBase {
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("elementwise");
  }

  /** The fixture inputs of one case. */
  record In(Tensor a, Tensor b, Tensor p, Tensor col) {}

  private static Map<String, Function<In, Tensor>> cases() {
    Map<String, Function<In, Tensor>> c = new LinkedHashMap<>();
    c.put("add", x -> x.a().add(x.b()));
    c.put("add_alpha", x -> x.a().add(x.b(), -0.5));
    c.put("sub", x -> x.a().sub(x.b()));
    c.put("mul", x -> x.a().mul(x.b()));
    c.put("div", x -> x.a().div(x.b()));
    c.put("pow", x -> x.p().pow(x.b()));
    c.put("maximum", x -> x.a().maximum(x.b()));
    c.put("minimum", x -> x.a().minimum(x.b()));
    c.put("remainder", x -> x.a().remainder(x.b()));
    c.put("floor_divide", x -> x.a().floorDivide(x.b()));
    c.put("atan2", x -> x.a().atan2(x.b()));
    c.put("outer_add", x -> x.col().add(x.b()));
    c.put("add_scalar", x -> x.a().add(1.5));
    c.put("rsub_scalar", x -> x.a().rsub(2.0));
    c.put("rdiv_scalar", x -> x.p().rdiv(3.0));
    c.put("rpow_scalar", x -> x.a().rpow(2.0));
    c.put("pow_scalar", x -> x.p().pow(0.5));
    c.put("neg", x -> x.a().neg());
    c.put("abs", x -> x.a().abs());
    c.put("exp", x -> x.a().exp());
    c.put("log", x -> x.p().log());
    c.put("sqrt", x -> x.p().sqrt());
    c.put("rsqrt", x -> x.p().rsqrt());
    c.put("sin", x -> x.a().sin());
    c.put("cos", x -> x.a().cos());
    c.put("tanh", x -> x.a().tanh());
    c.put("sigmoid", x -> x.a().sigmoid());
    c.put("relu", x -> x.a().relu());
    c.put("silu", x -> x.a().silu());
    c.put("gelu", x -> x.a().gelu());
    c.put("erf", x -> x.a().erf());
    c.put("log1p", x -> x.p().log1p());
    c.put("expm1", x -> x.a().expm1());
    c.put("reciprocal", x -> x.p().reciprocal());
    c.put("floor", x -> x.a().floor());
    c.put("ceil", x -> x.a().ceil());
    c.put("round", x -> Torch.tensor(floats(0.5, 1.5, 2.5, -0.5, -1.5, 2.4), 6).round());
    c.put("clamp", x -> x.a().clamp(-1.0, 1.5));
    c.put("clamp_min", x -> x.a().clampMin(0.0));
    c.put("clamp_max", x -> x.a().clampMax(0.5));
    return c;
  }

  @TestFactory
  Stream<DynamicTest> matchesPyTorch() {
    return cases().entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
      try (Scope s = Scope.open()) {
        In in = new In(fx.tensor("a"), fx.tensor("b"), fx.tensor("p"), fx.tensor("col"));
        fx.assertClose(e.getKey(), e.getValue().apply(in), 2e-7, 1e-7);
      }
    }));
  }

  @Test
  void everyFixtureCaseIsExercised() {
    var covered = cases().keySet();
    var inputs = java.util.Set.of("a", "b", "p", "col");
    int n = 0;
    for (String name : fx.names()) {
      if (inputs.contains(name)) continue;
      assertTrue(covered.contains(name), "fixture case " + name + " has no test");
      n++;
    }
    assertEquals(covered.size(), n);
  }

  @Test
  void broadcastingFollowsNumpyRules() {
    Tensor row = Torch.tensor(floats(1, 2, 3), 1, 3);
    Tensor col = Torch.tensor(floats(10, 20), 2, 1);
    Tensor sum = row.add(col);
    assertArrayEquals(new long[] {2, 3}, sum.shape());
    assertArrayEquals(floats(11, 12, 13, 21, 22, 23), sum.toFloatArray());
    Tensor s = Torch.scalarTensor(0.5).mul(Torch.ones(2, 1, 2));
    assertArrayEquals(new long[] {2, 1, 2}, s.shape());
    assertArrayEquals(floats(0.5, 0.5, 0.5, 0.5), s.toFloatArray());
  }

  @Test
  void inPlaceOpsChangeTheTensorAndReturnIt() {
    Tensor t = Torch.tensor(floats(1, 2, 3, 4), 4);
    Tensor two = Torch.full(new long[] {4}, 2);
    assertSame(t, t.add_(two));
    assertArrayEquals(floats(3, 4, 5, 6), t.toFloatArray());
    t.mul_(two);
    assertArrayEquals(floats(6, 8, 10, 12), t.toFloatArray());
    t.sub_(1.0);
    assertArrayEquals(floats(5, 7, 9, 11), t.toFloatArray());
    t.div_(two);
    assertArrayEquals(floats(2.5, 3.5, 4.5, 5.5), t.toFloatArray());
    t.add_(two, -0.5);
    assertArrayEquals(floats(1.5, 2.5, 3.5, 4.5), t.toFloatArray());
    t.mul_(2.0).add_(1.0);
    assertArrayEquals(floats(4, 6, 8, 10), t.toFloatArray());
    t.sub_(two).div_(2.0);
    assertArrayEquals(floats(1, 2, 3, 4), t.toFloatArray());
    t.pow_(2);
    assertArrayEquals(floats(1, 4, 9, 16), t.toFloatArray());
    t.sqrt_();
    assertArrayEquals(floats(1, 2, 3, 4), t.toFloatArray());
    t.neg_();
    assertArrayEquals(floats(-1, -2, -3, -4), t.toFloatArray());
    t.relu_();
    assertArrayEquals(floats(0, 0, 0, 0), t.toFloatArray());
    t.lerp_(Torch.tensor(floats(4, 8, -4, 2), 4), 0.25);
    assertArrayEquals(floats(1, 2, -1, 0.5), t.toFloatArray());
    t.exp_();
    assertArrayEquals(floats(Math.E, Math.exp(2), Math.exp(-1), Math.exp(0.5)), t.toFloatArray(), 1e-6f);
    Tensor z = Torch.zeros(3);
    z.sigmoid_();
    assertArrayEquals(floats(0.5, 0.5, 0.5), z.toFloatArray());
    z.tanh_();
    assertArrayEquals(floats(Math.tanh(0.5), Math.tanh(0.5), Math.tanh(0.5)), z.toFloatArray(), 1e-7f);
    Tensor w = Torch.tensor(floats(-1, 0, 2), 3).silu_();
    assertArrayEquals(floats(-1 / (1 + Math.E), 0, 2 / (1 + Math.exp(-2))), w.toFloatArray(), 1e-6f);
    assertSame(w, w.fill_(3));
    assertArrayEquals(floats(3, 3, 3), w.toFloatArray());
    assertSame(w, w.zero_());
    assertArrayEquals(floats(0, 0, 0), w.toFloatArray());
    w.copy_(Torch.scalarTensor(-2));
    assertArrayEquals(floats(-2, -2, -2), w.toFloatArray(), "copy_ broadcasts");
  }

  @Test
  void inPlaceOpBroadcastsIntoTheLeftShapeOnly() {
    Tensor t = Torch.zeros(2, 3);
    t.add_(Torch.tensor(floats(1, 2, 3), 3));
    assertArrayEquals(floats(1, 2, 3, 1, 2, 3), t.toFloatArray());
    TorchException e = assertThrows(TorchException.class, () -> Torch.zeros(3).add_(Torch.zeros(2, 3)));
    assertEquals("dd_binary_", e.function());
    assertArrayEquals(floats(0, 0, 0), Torch.zeros(3).toFloatArray());
  }

  @Test
  void scalarOperandsPromoteLikePythonNumbers() {
    Tensor i = Torch.tensor(new long[] {1, 2, 3}, 3);
    Tensor half = i.mul(0.5);
    assertEquals(DType.FLOAT32, half.dtype(), "int tensor times a float scalar is float32, as in PyTorch");
    assertArrayEquals(floats(0.5, 1, 1.5), half.toFloatArray());
    Tensor f16 = Torch.ones(new long[] {2}, DType.FLOAT16, Device.CPU).add(1.0);
    assertEquals(DType.FLOAT16, f16.dtype(), "a float scalar does not widen a half tensor");
    assertEquals(DType.INT64, i.scalarOp(0, 2, true).dtype(), "an integral scalar keeps int64");
    Tensor d = i.div(Torch.tensor(new long[] {2, 2, 2}, 3));
    assertEquals(DType.FLOAT32, d.dtype(), "true division of ints gives float32");
    assertArrayEquals(floats(0.5, 1, 1.5), d.toFloatArray());
  }
}
