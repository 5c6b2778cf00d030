package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;
import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.ffi.Header;
import io.github.ddpm4j.ffi.dd_ctx;
import io.github.ddpm4j.torch.Functional.InterpolateMode;
import io.github.ddpm4j.torch.Functional.Reduction;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BinaryOperator;
import java.util.function.DoubleBinaryOperator;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Every enumerator of every op enum in the header ({@code dd_unary_op}, {@code dd_binary_op},
 * {@code dd_reduce_op}, {@code dd_shape_op}, {@code dd_loss_reduction},
 * {@code dd_interpolate_mode}, {@code dd_memory_format}, and {@code dd_dtype}) is called once
 * through the Java API, and its result checked against values computed by hand or by another
 * op. The table below is keyed by enumerator name and must name exactly the header's
 * enumerators, so an enumerator added to the header fails this test until it is covered.
 * The in-place forms of the elementwise ops are checked against the out-of-place ones through
 * the shim, and every op-taking function rejects a code outside its enum.
 */
class OpCodeTest extends TorchTestBase {
  /** Header enums that are modes or kinds rather than ops, and the tests that cover them. */
  private static final Map<String, String> OTHER_ENUMS = Map.of(
      "dd_device_type", "DeviceTest, CudaTest",
      "dd_grad_mode", "AutogradTest",
      "dd_autocast", "AutocastTest",
      "dd_status", "ErrorTest",
      "dd_handle_kind", "LifetimeTest",
      "dd_dist_backend", "NativeProcessGroupTest, ProcessGroupTest",
      "dd_dist_reduce_op", "NativeProcessGroupTest, ProcessGroupTest");

  private static final Header HEADER = Header.read();
  private static final double TOL = 1e-12;

  private static final double[] MIXED = {-1.5, -0.25, 0.5, 2.0};
  private static final double[] POSITIVE = {0.25, 0.5, 1.5, 2.0};

  /** The checks, by enum and enumerator name. */
  private final Map<String, Map<String, Runnable>> checks = new LinkedHashMap<>();

  OpCodeTest() {
    unaryOps();
    binaryOps();
    reduceOps();
    shapeOps();
    lossReductions();
    interpolateModes();
    memoryFormats();
    dtypes();
  }

  private void check(String enumName, String enumerator, Runnable check) {
    Runnable previous = checks.computeIfAbsent(enumName, k -> new LinkedHashMap<>()).put(enumerator, check);
    assertNull(previous, enumerator + " is checked twice");
  }

  private static Tensor vector(double... values) {
    return Torch.tensor(values, values.length);
  }

  private static double[] map(double[] values, DoubleUnaryOperator f) {
    double[] out = new double[values.length];
    for (int i = 0; i < values.length; i++) out[i] = f.applyAsDouble(values[i]);
    return out;
  }

  private static void assertTensor(long[] shape, double[] expected, Tensor actual) {
    assertArrayEquals(shape, actual.shape(), "shape");
    assertArrayEquals(expected, doubles(actual), TOL);
  }

  // ----------------------------------------------------------------- elementwise

  private void unary(String name, double[] input, Function<Tensor, Tensor> op, DoubleUnaryOperator expected) {
    check("dd_unary_op", name, () -> assertTensor(new long[] {input.length}, map(input, expected), op.apply(vector(input))));
  }

  private static double sigmoid(double v) {
    return 1 / (1 + Math.exp(-v));
  }

  private void unaryOps() {
    unary("DD_NEG", MIXED, Tensor::neg, v -> -v);
    unary("DD_ABS", MIXED, Tensor::abs, Math::abs);
    unary("DD_EXP", MIXED, Tensor::exp, Math::exp);
    unary("DD_LOG", POSITIVE, Tensor::log, Math::log);
    unary("DD_SQRT", POSITIVE, Tensor::sqrt, Math::sqrt);
    unary("DD_RSQRT", POSITIVE, Tensor::rsqrt, v -> 1 / Math.sqrt(v));
    unary("DD_SIN", MIXED, Tensor::sin, Math::sin);
    unary("DD_COS", MIXED, Tensor::cos, Math::cos);
    unary("DD_TANH", MIXED, Tensor::tanh, Math::tanh);
    unary("DD_SIGMOID", MIXED, Tensor::sigmoid, OpCodeTest::sigmoid);
    unary("DD_RELU", MIXED, Tensor::relu, v -> Math.max(v, 0));
    unary("DD_SILU", MIXED, Tensor::silu, v -> v * sigmoid(v));
    // erf(x) for x = -1.5, -0.25, 0.5, 2 (Abramowitz and Stegun, to 16 digits)
    double[] erf = {-0.9661051464753108, -0.2763263901682369, 0.5204998778130465, 0.9953222650189527};
    check("dd_unary_op", "DD_ERF", () -> assertTensor(new long[] {4}, erf, vector(MIXED).erf()));
    check("dd_unary_op", "DD_GELU", () -> {
      // x * Phi(x) = x / 2 * (1 + erf(x / sqrt 2)); erf of these inputs by the erf op, checked above
      Tensor x = vector(MIXED);
      Tensor phi = x.div(Math.sqrt(2)).erf().add(1).mul(0.5);
      assertTensor(new long[] {4}, doubles(x.mul(phi)), x.gelu());
    });
    unary("DD_SQUARE", MIXED, Tensor::square, v -> v * v);
    unary("DD_SIGN", new double[] {-2, 0, 0.5, 3}, Tensor::sign, Math::signum);
    unary("DD_FLOOR", MIXED, Tensor::floor, Math::floor);
    unary("DD_CEIL", MIXED, Tensor::ceil, Math::ceil);
    unary("DD_ROUND", new double[] {0.5, 1.5, 2.5, -0.5}, Tensor::round, Math::rint); // half to even
    unary("DD_RECIPROCAL", MIXED, Tensor::reciprocal, v -> 1 / v);
    unary("DD_LOG1P", POSITIVE, Tensor::log1p, Math::log1p);
    unary("DD_EXPM1", MIXED, Tensor::expm1, Math::expm1);
    unary("DD_LOGICAL_NOT", new double[] {0, 1.5, -2, 0}, Tensor::logicalNot, v -> v == 0 ? 1 : 0);
    double[] special = {Double.NaN, Double.POSITIVE_INFINITY, -1, 0};
    unary("DD_ISNAN", special, Tensor::isnan, v -> Double.isNaN(v) ? 1 : 0);
    unary("DD_ISFINITE", special, Tensor::isfinite, v -> Double.isFinite(v) ? 1 : 0);
    unary("DD_TRUNC", new double[] {-1.5, -0.25, 0.5, 2.7}, Tensor::trunc, v -> v < 0 ? Math.ceil(v) : Math.floor(v));
  }

  private static final double[] A = {-1.5, -0.25, 0.5, 2.0};
  private static final double[] B = {0.5, -0.25, 2.0, 3.0};

  private void binary(String name, double[] a, double[] b, BinaryOperator<Tensor> op, DoubleBinaryOperator expected) {
    double[] want = new double[a.length];
    for (int i = 0; i < a.length; i++) want[i] = expected.applyAsDouble(a[i], b[i]);
    check("dd_binary_op", name, () -> assertTensor(new long[] {a.length}, want, op.apply(vector(a), vector(b))));
  }

  private void binary(String name, BinaryOperator<Tensor> op, DoubleBinaryOperator expected) {
    binary(name, A, B, op, expected);
  }

  private static double bool(boolean b) {
    return b ? 1 : 0;
  }

  private void binaryOps() {
    binary("DD_ADD", Tensor::add, (x, y) -> x + y);
    binary("DD_SUB", Tensor::sub, (x, y) -> x - y);
    binary("DD_MUL", Tensor::mul, (x, y) -> x * y);
    binary("DD_DIV", Tensor::div, (x, y) -> x / y);
    binary("DD_POW", POSITIVE, B, Tensor::pow, Math::pow);
    binary("DD_MAXIMUM", Tensor::maximum, Math::max);
    binary("DD_MINIMUM", Tensor::minimum, Math::min);
    binary("DD_EQ", Tensor::eq, (x, y) -> bool(x == y));
    binary("DD_NE", Tensor::ne, (x, y) -> bool(x != y));
    binary("DD_LT", Tensor::lt, (x, y) -> bool(x < y));
    binary("DD_LE", Tensor::le, (x, y) -> bool(x <= y));
    binary("DD_GT", Tensor::gt, (x, y) -> bool(x > y));
    binary("DD_GE", Tensor::ge, (x, y) -> bool(x >= y));
    binary("DD_LOGICAL_AND", new double[] {0, 1, 0, 2}, new double[] {0, 0, 3, -1}, Tensor::logicalAnd, (x, y) -> bool(x != 0 && y != 0));
    binary("DD_LOGICAL_OR", new double[] {0, 1, 0, 2}, new double[] {0, 0, 3, -1}, Tensor::logicalOr, (x, y) -> bool(x != 0 || y != 0));
    // Python's modulo: the result takes the divisor's sign
    binary("DD_REMAINDER", new double[] {7, -7, 7, -7}, new double[] {3, 3, -3, -3}, Tensor::remainder,
        (x, y) -> x - y * Math.floor(x / y));
    binary("DD_ATAN2", Tensor::atan2, Math::atan2);
    binary("DD_FLOOR_DIVIDE", new double[] {7, -7, 7, -7}, new double[] {2, 2, -2, -2}, Tensor::floorDivide,
        (x, y) -> Math.floor(x / y));
    // the scalar-only forms
    check("dd_binary_op", "DD_RSUB", () -> assertTensor(new long[] {4}, map(A, v -> 2 - v), vector(A).rsub(2)));
    check("dd_binary_op", "DD_RDIV", () -> assertTensor(new long[] {4}, map(A, v -> 2 / v), vector(A).rdiv(2)));
    check("dd_binary_op", "DD_RPOW", () -> assertTensor(new long[] {4}, map(A, v -> Math.pow(2, v)), vector(A).rpow(2)));
  }

  // ------------------------------------------------------------------ reductions

  private static final double[] M = {1, -2, 3, 4, 5, -6}; // [[1, -2, 3], [4, 5, -6]]

  private void reduce(String name, Function<Tensor, Tensor> op, double... expected) {
    check("dd_reduce_op", name, () -> assertTensor(new long[] {expected.length}, expected, op.apply(Torch.tensor(M, 2, 3))));
  }

  private void reduceOps() {
    long[] rows = {1};
    reduce("DD_SUM", t -> t.sum(rows, false), 2, 3);
    reduce("DD_MEAN", t -> t.mean(rows, false), 2.0 / 3, 1);
    reduce("DD_AMAX", t -> t.amax(rows, false), 3, 5);
    reduce("DD_AMIN", t -> t.amin(rows, false), -2, -6);
    reduce("DD_PROD", t -> t.prod(rows, false), -6, -120);
    reduce("DD_LOGSUMEXP", t -> t.logsumexp(rows, false),
        Math.log(Math.exp(1) + Math.exp(-2) + Math.exp(3)), Math.log(Math.exp(4) + Math.exp(5) + Math.exp(-6)));
    check("dd_reduce_op", "DD_ALL", () -> {
      assertTensor(new long[0], new double[] {0}, Torch.tensor(new double[] {1, 0, 3}, 3).all());
      assertTensor(new long[0], new double[] {1}, Torch.tensor(M, 2, 3).all());
    });
    check("dd_reduce_op", "DD_ANY", () -> {
      assertTensor(new long[0], new double[] {1}, Torch.tensor(new double[] {0, 0, 3}, 3).any());
      assertTensor(new long[0], new double[] {0}, Torch.zeros(3).any());
    });
  }

  // -------------------------------------------------------------- shape ops

  private void shape(String name, Function<Tensor, Tensor> op, long[] shape, double... expected) {
    check("dd_shape_op", name, () -> assertTensor(shape, expected, op.apply(Torch.tensor(new double[] {0, 1, 2, 3, 4, 5}, 2, 3))));
  }

  private void shapeOps() {
    shape("DD_VIEW", t -> t.view(3, 2), new long[] {3, 2}, 0, 1, 2, 3, 4, 5);
    shape("DD_RESHAPE", t -> t.reshape(-1), new long[] {6}, 0, 1, 2, 3, 4, 5);
    shape("DD_PERMUTE", t -> t.permute(1, 0), new long[] {3, 2}, 0, 3, 1, 4, 2, 5);
    shape("DD_EXPAND", t -> t.select(0, 1).expand(2, 3), new long[] {2, 3}, 3, 4, 5, 3, 4, 5);
    shape("DD_REPEAT", t -> t.repeat(1, 2), new long[] {2, 6}, 0, 1, 2, 0, 1, 2, 3, 4, 5, 3, 4, 5);
    shape("DD_FLIP", t -> t.flip(1), new long[] {2, 3}, 2, 1, 0, 5, 4, 3);
  }

  // ----------------------------------------------------------- nn op modes

  private void lossReductions() {
    Function<Reduction, Tensor> loss = r -> Functional.mseLoss(vector(1, 2, 3), vector(1, 0, 0), r);
    check("dd_loss_reduction", "DD_REDUCTION_NONE", () -> assertTensor(new long[] {3}, new double[] {0, 4, 9}, loss.apply(Reduction.NONE)));
    check("dd_loss_reduction", "DD_REDUCTION_MEAN", () -> assertTensor(new long[0], new double[] {13.0 / 3}, loss.apply(Reduction.MEAN)));
    check("dd_loss_reduction", "DD_REDUCTION_SUM", () -> assertTensor(new long[0], new double[] {13}, loss.apply(Reduction.SUM)));
  }

  private void interpolateModes() {
    Function<double[], Tensor> square = v -> Torch.tensor(v, 1, 1, 2, 2);
    check("dd_interpolate_mode", "DD_NEAREST", () -> assertTensor(new long[] {1, 1, 4, 4}, new double[] {
        1, 1, 2, 2,
        1, 1, 2, 2,
        3, 3, 4, 4,
        3, 3, 4, 4}, Functional.interpolate(square.apply(new double[] {1, 2, 3, 4}), 4, 4, InterpolateMode.NEAREST)));
    // align_corners=False: output pixel i samples input coordinate (i + 0.5) / 2 - 0.5, clamped
    check("dd_interpolate_mode", "DD_BILINEAR", () -> assertTensor(new long[] {1, 1, 4, 4}, new double[] {
        1.0, 1.25, 1.75, 2.0,
        1.5, 1.75, 2.25, 2.5,
        2.5, 2.75, 3.25, 3.5,
        3.0, 3.25, 3.75, 4.0}, Functional.interpolate(square.apply(new double[] {1, 2, 3, 4}), 4, 4, InterpolateMode.BILINEAR)));
    check("dd_interpolate_mode", "DD_BICUBIC", () -> {
      // at the input's own size bicubic is the identity; a constant image stays constant
      double[] ramp = {1, 2, 3, 5, 8, 13, 21, 34, 55};
      assertTensor(new long[] {1, 1, 3, 3}, ramp, Functional.interpolate(Torch.tensor(ramp, 1, 1, 3, 3), 3, 3, InterpolateMode.BICUBIC));
      Tensor up = Functional.interpolate(square.apply(new double[] {3, 3, 3, 3}), 4, 4, InterpolateMode.BICUBIC);
      assertTensor(new long[] {1, 1, 4, 4}, map(new double[16], v -> 3), up);
      Tensor bilinear = Functional.interpolate(square.apply(new double[] {1, 2, 3, 4}), 5, 5, InterpolateMode.BILINEAR);
      Tensor bicubic = Functional.interpolate(square.apply(new double[] {1, 2, 3, 4}), 5, 5, InterpolateMode.BICUBIC);
      assertFalse(bicubic.equal(bilinear), "bicubic is not bilinear");
    });
  }

  private void memoryFormats() {
    check("dd_memory_format", "DD_CONTIGUOUS_FORMAT", () -> {
      Tensor x = Torch.arange(0, 8, 1, DType.FLOAT64, Device.CPU).reshape(1, 2, 2, 2).contiguous(MemoryFormat.CHANNELS_LAST);
      Tensor c = x.contiguous(MemoryFormat.CONTIGUOUS_FORMAT);
      assertArrayEquals(new long[] {8, 4, 2, 1}, c.stride());
      assertTrue(c.isContiguous(MemoryFormat.CONTIGUOUS_FORMAT));
      assertTrue(c.equal(x));
    });
    check("dd_memory_format", "DD_CHANNELS_LAST", () -> {
      Tensor x = Torch.arange(0, 8, 1, DType.FLOAT64, Device.CPU).reshape(1, 2, 2, 2);
      Tensor c = x.contiguous(MemoryFormat.CHANNELS_LAST);
      assertArrayEquals(new long[] {8, 1, 4, 2}, c.stride());
      assertTrue(c.isContiguous(MemoryFormat.CHANNELS_LAST));
      assertFalse(x.isContiguous(MemoryFormat.CHANNELS_LAST));
      assertTrue(c.equal(x));
    });
  }

  private void dtypes() {
    for (DType d : DType.values()) {
      check("dd_dtype", "DD_" + d.name(), () -> {
        Tensor t = Torch.ones(new long[] {2}, d, Device.CPU);
        assertEquals(d, t.dtype());
        assertEquals(2 * d.elementSize(), t.nbytes());
        assertArrayEquals(new double[] {1, 1}, doubles(t), 0);
      });
    }
  }

  // ------------------------------------------------------------------ the tests

  @Test
  void everyEnumOfTheHeaderIsCheckedHereOrNamedAsCoveredElsewhere() {
    Set<String> classified = new TreeSet<>(checks.keySet());
    classified.addAll(OTHER_ENUMS.keySet());
    assertEquals(new TreeSet<>(HEADER.enums().keySet()), classified,
        "a header enum must be an op enum checked here, or named in OTHER_ENUMS with the test that covers it");
  }

  @Test
  void theChecksNameExactlyTheHeadersEnumerators() {
    List<String> wrong = new ArrayList<>();
    checks.forEach((name, byEnumerator) -> {
      Set<String> declared = HEADER.enums().get(name).keySet();
      if (!declared.equals(byEnumerator.keySet())) {
        Set<String> missing = new TreeSet<>(declared);
        missing.removeAll(byEnumerator.keySet());
        Set<String> extra = new TreeSet<>(byEnumerator.keySet());
        extra.removeAll(declared);
        wrong.add(name + ": unchecked " + missing + ", not in the header " + extra);
      }
    });
    assertTrue(wrong.isEmpty(), String.join("; ", wrong));
  }

  @TestFactory
  Stream<DynamicTest> everyEnumeratorDoesWhatItsNameSays() {
    return checks.entrySet().stream().flatMap(e -> e.getValue().entrySet().stream()
        .map(c -> DynamicTest.dynamicTest(e.getKey() + "." + c.getKey(), () -> {
          try (Scope s = Scope.open()) {
            c.getValue().run();
          }
        })));
  }

  /** The in-place elementwise forms agree with the out-of-place ones, or say they do not exist. */
  @Test
  void inPlaceFormsMatchOutOfPlaceOrAreRefused() {
    Native n = Native.get();
    Tensor a = vector(POSITIVE);
    Tensor b = vector(B);
    for (var op : HEADER.enums().get("dd_unary_op").entrySet()) {
      int code = op.getValue().intValue();
      Tensor expected = Tensor.result(n, dd_unary(n.ctx, code, a.handle()), a);
      Tensor x = a.clone();
      dd_unary_(n.ctx, code, x.handle());
      assertInPlace(n, op.getKey(), expected, x, "has no in-place form");
    }
    for (var op : HEADER.enums().get("dd_binary_op").entrySet()) {
      int code = op.getValue().intValue();
      Tensor x = a.clone();
      dd_binary_(n.ctx, code, x.handle(), b.handle());
      Tensor expected = null;
      if (Set.of("DD_RSUB", "DD_RDIV", "DD_RPOW").contains(op.getKey())) {
        assertThrows(TorchException.class, n::check, op.getKey() + " takes no tensor operand");
      } else {
        expected = Tensor.result(n, dd_binary(n.ctx, code, a.handle(), b.handle()), a, b);
        assertInPlace(n, op.getKey(), expected, x, null);
      }
      Tensor y = a.clone();
      dd_binary_scalar_(n.ctx, code, y.handle(), 2.0, 0);
      Tensor expectedScalar = Tensor.result(n, dd_binary_scalar(n.ctx, code, a.handle(), 2.0, 0), a);
      assertInPlace(n, op.getKey() + " (scalar)", expectedScalar, y, null);
    }
  }

  /** Checks the in-place result {@code x} against {@code expected}, or that the call failed with {@code refusal}. */
  private static void assertInPlace(Native n, String what, Tensor expected, Tensor x, String refusal) {
    if (refusal != null && dd_ctx.status(n.ctx) != DD_OK()) {
      TorchException e = assertThrows(TorchException.class, n::check, what);
      assertTrue(e.torchMessage().contains(refusal), what + ": " + e.torchMessage());
      return;
    }
    n.check();
    assertArrayEquals(doubles(expected), doubles(x), TOL, what);
  }

  /** A code outside its enum is an argument error, not a crash or a silent default. */
  @Test
  void everyOpTakingFunctionRefusesAnUnknownCode() {
    Native n = Native.get();
    Tensor x = Torch.zeros(1, 1, 2, 2);
    MemorySegment h = x.handle();
    int bad = 1000;
    List<Map.Entry<String, Runnable>> calls = List.of(
        Map.entry("unknown unary op code 1000", () -> dd_unary(n.ctx, bad, h)),
        Map.entry("unknown unary op code 1000", () -> dd_unary_(n.ctx, bad, h)),
        Map.entry("unknown binary op code 1000", () -> dd_binary(n.ctx, bad, h, h)),
        Map.entry("unknown binary op code 1000", () -> dd_binary_(n.ctx, bad, h, h)),
        Map.entry("unknown binary op code 1000", () -> dd_binary_scalar(n.ctx, bad, h, 1, 0)),
        Map.entry("unknown binary op code 1000", () -> dd_binary_scalar_(n.ctx, bad, h, 1, 0)),
        Map.entry("unknown reduce op code 1000", () -> dd_reduce(n.ctx, bad, h, MemorySegment.NULL, 0, 0)),
        Map.entry("unknown shape op code 1000", () -> dd_shape(n.ctx, bad, h, MemorySegment.NULL, 0)),
        Map.entry("unknown reduction code 1000", () -> dd_mse_loss(n.ctx, h, h, bad)),
        Map.entry("unknown interpolate mode code 1000", () -> dd_interpolate(n.ctx, h, 4, 4, bad, 0)),
        Map.entry("unknown memory format code 1000", () -> dd_contiguous(n.ctx, h, bad)),
        Map.entry("unknown dtype code 1000", () -> dd_to(n.ctx, h, bad, DD_CPU(), -1, 0, 0)),
        Map.entry("unknown device type code 1000", () -> dd_to(n.ctx, h, DD_FLOAT32(), bad, -1, 0, 0)));
    for (var call : calls) {
      call.getValue().run();
      TorchException e = assertThrows(TorchException.class, n::check, call.getKey());
      assertEquals(TorchException.Kind.ARGUMENT, e.kind(), call.getKey());
      assertEquals(call.getKey(), e.torchMessage());
    }
    assertEquals(-1, dd_live_handles(bad), "an unknown handle kind counts nothing");
  }
}
