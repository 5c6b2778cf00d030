package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the JSON fixtures written by {@code src/test/python/make_torch_fixtures.py}
 * and compares tensors with them.
 */
final class Fixtures {
  /** One fixture tensor: shape, PyTorch dtype name and row-major values. */
  record Rec(String name, long[] shape, String dtype, double[] values) {
    long numel() {
      long n = 1;
      for (long s : shape) n *= s;
      return n;
    }
  }

  private final String file;
  private final Map<String, Rec> cases;

  private Fixtures(String file, Map<String, Rec> cases) {
    this.file = file;
    this.cases = cases;
  }

  static Fixtures load(String file) {
    JsonObject root = TorchTestBase.fixtureJson("torch/" + file + ".json").getAsJsonObject();
    Map<String, Rec> cases = new LinkedHashMap<>();
    for (var e : root.entrySet()) {
      JsonObject o = e.getValue().getAsJsonObject();
      JsonArray shapeJson = o.getAsJsonArray("shape");
      long[] shape = new long[shapeJson.size()];
      for (int i = 0; i < shape.length; i++) shape[i] = shapeJson.get(i).getAsLong();
      JsonArray dataJson = o.getAsJsonArray("data");
      double[] values = new double[dataJson.size()];
      for (int i = 0; i < values.length; i++) {
        JsonElement v = dataJson.get(i);
        values[i] = v.getAsJsonPrimitive().isBoolean() ? (v.getAsBoolean() ? 1 : 0) : v.getAsDouble();
      }
      cases.put(e.getKey(), new Rec(e.getKey(), shape, o.get("dtype").getAsString(), values));
    }
    return new Fixtures(file, cases);
  }

  Rec get(String name) {
    Rec r = cases.get(name);
    assertNotNull(r, "fixture " + file + ".json has no case '" + name + "'");
    return r;
  }

  Iterable<String> names() {
    return cases.keySet();
  }

  /** @return a new CPU tensor holding the fixture's values, in its dtype */
  Tensor tensor(String name) {
    Rec r = get(name);
    DType dtype = dtypeOf(r.dtype());
    double[] v = r.values();
    switch (dtype) {
      case FLOAT64:
        return Torch.tensor(v.clone(), r.shape());
      case INT64: {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = (long) v[i];
        return Torch.tensor(l, r.shape());
      }
      case BOOL: {
        boolean[] b = new boolean[v.length];
        for (int i = 0; i < v.length; i++) b[i] = v[i] != 0;
        return Torch.tensor(b, r.shape());
      }
      default: {
        try (Tensor d = Torch.tensor(v.clone(), r.shape())) {
          return d.to(dtype);
        }
      }
    }
  }

  static DType dtypeOf(String name) {
    return switch (name) {
      case "float32" -> DType.FLOAT32;
      case "float64" -> DType.FLOAT64;
      case "bfloat16" -> DType.BFLOAT16;
      case "float16" -> DType.FLOAT16;
      case "int64" -> DType.INT64;
      case "int32" -> DType.INT32;
      case "uint8" -> DType.UINT8;
      case "bool" -> DType.BOOL;
      default -> throw new IllegalArgumentException("unknown dtype " + name);
    };
  }

  /** Every element of any CPU tensor as a double, row-major. */
  static double[] values(Tensor t) {
    if (t.dtype() == DType.BOOL) {
      try (Tensor c = t.contiguous()) {
        byte[] b = c.toByteArray();
        double[] d = new double[b.length];
        for (int i = 0; i < b.length; i++) d[i] = b[i];
        return d;
      }
    }
    try (Tensor d = t.to(DType.FLOAT64); Tensor c = d.contiguous()) {
      return c.toDoubleArray();
    }
  }

  /** Asserts that {@code actual} has the shape, dtype and (bitwise) values of the fixture case. */
  void assertExact(String name, Tensor actual) {
    assertClose(name, actual, 0, 0);
  }

  /**
   * Asserts shape and dtype equality, and {@code |a - e| <= atol + rtol * |e|} elementwise.
   */
  void assertClose(String name, Tensor actual, double rtol, double atol) {
    assertMatches(get(name), actual, rtol, atol);
  }

  static void assertMatches(Rec expected, Tensor actual, double rtol, double atol) {
    String what = "case '" + expected.name() + "'";
    assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
    assertEquals(dtypeOf(expected.dtype()), actual.dtype(), what + ": dtype");
    assertValues(what, expected.values(), values(actual), rtol, atol);
  }

  static void assertValues(String what, double[] expected, double[] actual, double rtol, double atol) {
    assertEquals(expected.length, actual.length, what + ": element count");
    for (int i = 0; i < expected.length; i++) {
      double e = expected[i];
      double a = actual[i];
      boolean ok = (rtol == 0 && atol == 0) ? Double.compare(e, a) == 0 || (e == 0 && a == 0)
          : Math.abs(a - e) <= atol + rtol * Math.abs(e);
      if (!ok) {
        fail(what + ": element " + i + " is " + a + ", expected " + e + " (rtol " + rtol + ", atol " + atol + ")\n  expected "
            + Arrays.toString(expected) + "\n  actual   " + Arrays.toString(actual));
      }
    }
  }
}
