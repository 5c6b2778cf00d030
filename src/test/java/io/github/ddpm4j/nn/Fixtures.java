package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Reads the JSON fixtures that {@code src/test/python/make_nn_fixtures.py}
 * computes with PyTorch, and compares tensors with them.
 */
public final class Fixtures {
  private Fixtures() {}

  private static final Map<String, JsonObject> CACHE = new ConcurrentHashMap<>();

  /** Largest relative error seen per fixture file, for the report printed by the tests. */
  public static final Map<String, Double> WORST = new ConcurrentHashMap<>();

  public static JsonObject load(String name) {
    return CACHE.computeIfAbsent(name, n -> TorchTestBase.fixtureJson("nn/" + n + ".json").getAsJsonObject());
  }

  public static long[] shape(JsonElement t) {
    JsonArray a = t.getAsJsonObject().getAsJsonArray("shape");
    long[] s = new long[a.size()];
    for (int i = 0; i < s.length; i++) s[i] = a.get(i).getAsLong();
    return s;
  }

  public static double[] values(JsonElement t) {
    JsonArray a = t.getAsJsonObject().getAsJsonArray("data");
    double[] v = new double[a.size()];
    for (int i = 0; i < v.length; i++) v[i] = a.get(i).getAsDouble();
    return v;
  }

  /** @return a new float32 CPU tensor with the fixture's exact values */
  public static Tensor tensor(JsonElement t) {
    double[] v = values(t);
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) f[i] = (float) v[i];
    return Torch.tensor(f, shape(t));
  }

  /** @return name to new tensor, in the fixture's order */
  public static Map<String, Tensor> tensors(JsonObject o) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (var e : o.entrySet()) out.put(e.getKey(), tensor(e.getValue()));
    return out;
  }

  public static long[] longs(JsonArray a) {
    long[] s = new long[a.size()];
    for (int i = 0; i < s.length; i++) s[i] = a.get(i).getAsLong();
    return s;
  }

  /**
   * The largest elementwise difference relative to the largest magnitude of
   * the expected values: {@code max|a - e| / max|e|} (the absolute difference
   * when every expected value is zero).
   */
  public static double relErr(Tensor actual, JsonElement expected) {
    assertArrayEquals(shape(expected), actual.shape(), "shape");
    double[] e = values(expected);
    float[] a;
    try (Scope s = Scope.open()) {
      a = actual.detach().to(DType.FLOAT32).contiguous().toFloatArray();
    }
    double maxDiff = 0, maxRef = 0;
    for (int i = 0; i < e.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - e[i]));
      maxRef = Math.max(maxRef, Math.abs(e[i]));
      if (Double.isNaN(a[i]) != Double.isNaN(e[i])) return Double.POSITIVE_INFINITY;
    }
    return maxRef == 0 ? maxDiff : maxDiff / maxRef;
  }

  /** Asserts {@link #relErr} is at most {@code tol}, and records it under {@code file}. */
  public static double assertClose(String file, String what, Tensor actual, JsonElement expected, double tol) {
    assertNotNull(actual, what + " is missing");
    double err = relErr(actual, expected);
    WORST.merge(file, err, Math::max);
    assertTrue(err <= tol, what + ": relative error " + err + " exceeds " + tol);
    return err;
  }

  /** @return the layer that a fixture's {@code kind}, {@code args} and {@code bias} describe */
  public static Module build(JsonObject c) {
    String kind = c.get("kind").getAsString();
    JsonArray a = c.getAsJsonArray("args");
    boolean bias = !c.has("bias") || c.get("bias").getAsBoolean();
    return switch (kind) {
      case "Linear" -> new Linear(a.get(0).getAsLong(), a.get(1).getAsLong(), bias);
      case "Conv2d" -> new Conv2d(a.get(0).getAsLong(), a.get(1).getAsLong(), convOptions(a, bias));
      case "ConvTranspose2d" -> new ConvTranspose2d(a.get(0).getAsLong(), a.get(1).getAsLong(), convOptions(a, bias));
      case "GroupNorm" -> a.size() == 2 ? new GroupNorm(a.get(0).getAsLong(), a.get(1).getAsLong())
          : new GroupNorm(a.get(0).getAsLong(), a.get(1).getAsLong(), a.get(2).getAsDouble());
      case "Dropout" -> new Dropout(a.get(0).getAsDouble());
      case "Identity" -> new Identity();
      case "SiLU" -> new SiLU();
      case "Upsample" -> new Upsample(a.get(0).getAsDouble(), mode(a.get(1).getAsString()));
      default -> throw new IllegalArgumentException("unknown layer kind " + kind);
    };
  }

  /** Kernel size, stride and padding from a fixture's positional arguments 2 to 4, as PyTorch's constructors take them. */
  private static ConvOptions convOptions(JsonArray a, boolean bias) {
    return ConvOptions.kernel(a.get(2).getAsLong()).withStride(a.get(3).getAsLong()).withPadding(a.get(4).getAsLong()).withBias(bias);
  }

  public static io.github.ddpm4j.torch.Functional.InterpolateMode mode(String m) {
    return io.github.ddpm4j.torch.Functional.InterpolateMode.valueOf(m.toUpperCase(java.util.Locale.ROOT));
  }
}
