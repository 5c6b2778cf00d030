package io.github.ddpm4j.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchException;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import io.github.ddpm4j.nn.Fixtures;
import io.github.ddpm4j.nn.Utils;

/**
 * Adam and AdamW against {@code torch.optim.Adam}/{@code AdamW} on fixed
 * parameters and gradients (fixtures/nn/optim.json), learning-rate changes,
 * state round trips, and gradient clipping against
 * {@code torch.nn.utils.clip_grad_norm_} (fixtures/nn/clip.json).
 */
class OptimizerTest extends TorchTestBase {
  static final double TOL = 1e-6;

  static JsonObject optim() {
    return Fixtures.load("optim");
  }

  static Stream<String> cases() {
    return optim().getAsJsonObject("cases").keySet().stream();
  }

  private static List<Tensor> freshParams() {
    List<Tensor> ps = new ArrayList<>();
    for (JsonElement e : optim().getAsJsonArray("init")) ps.add(Fixtures.tensor(e).requiresGrad_(true));
    return ps;
  }

  private static Optimizer make(JsonObject c, List<Tensor> params) {
    JsonObject o = c.getAsJsonObject("options");
    AdamOptions opts = new AdamOptions(o.get("lr").getAsDouble(), o.get("beta1").getAsDouble(), o.get("beta2").getAsDouble(),
        o.get("eps").getAsDouble(), o.get("weight_decay").getAsDouble(), o.get("amsgrad").getAsBoolean());
    return o.get("kind").getAsString().equals("Adam") ? new Adam(params, opts) : new AdamW(params, opts);
  }

  /** Sets the fixture's gradients of step {@code k} and steps. */
  private static void step(Optimizer opt, List<Tensor> params, int k) {
    opt.zeroGrad();
    JsonArray grads = optim().getAsJsonArray("grads").get(k).getAsJsonArray();
    for (int i = 0; i < params.size(); i++) params.get(i).setGrad(Fixtures.tensor(grads.get(i)));
    opt.step();
  }

  private static double err(List<Tensor> params, JsonArray expected) {
    double worst = 0;
    for (int i = 0; i < params.size(); i++) worst = Math.max(worst, Fixtures.relErr(params.get(i), expected.get(i)));
    return worst;
  }

  private static void assertStep(String what, List<Tensor> params, JsonArray expected) {
    for (int i = 0; i < params.size(); i++) Fixtures.assertClose("optim", what + " param " + i, params.get(i), expected.get(i), TOL);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void stepsMatchTorchOptim(String name) {
    JsonObject c = optim().getAsJsonObject("cases").getAsJsonObject(name);
    JsonArray after = c.getAsJsonArray("after");
    List<Tensor> params = freshParams();
    try (Optimizer opt = make(c, params)) {
      for (int k = 0; k < after.size(); k++) {
        if (c.has("lrs")) {
          double lr = c.getAsJsonArray("lrs").get(k).getAsDouble();
          opt.setLr(lr);
          assertEquals(lr, opt.getLr(), 0.0);
        }
        step(opt, params, k);
        assertStep(name + " step " + (k + 1), params, after.get(k).getAsJsonArray());
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void savedStateContinuesExactlyWherePyTorchDoes(String name) {
    JsonObject c = optim().getAsJsonObject("cases").getAsJsonObject(name);
    if (c.has("lrs")) return; // the schedule is covered above; a restored optimizer keeps the saved lr
    JsonArray after = c.getAsJsonArray("after");
    List<Tensor> params = freshParams();
    byte[] state;
    try (Optimizer first = make(c, params)) {
      for (int k = 0; k < 3; k++) step(first, params, k);
      state = first.saveState();
    }
    assertTrue(state.length > 0);
    List<Tensor> copy = new ArrayList<>();
    for (Tensor p : params) copy.add(p.detach().clone().requiresGrad_(true));
    try (Optimizer resumed = make(c, params); Optimizer fresh = make(c, copy)) {
      resumed.loadState(state);
      for (int k = 3; k < after.size(); k++) {
        step(resumed, params, k);
        step(fresh, copy, k);
        assertStep(name + " resumed step " + (k + 1), params, after.get(k).getAsJsonArray());
      }
      // Without the saved moments the trajectory departs from PyTorch's: the round trip is what matched.
      assertTrue(err(copy, after.get(after.size() - 1).getAsJsonArray()) > 1e-3, "a fresh optimizer should diverge");
    }
  }

  @Test
  void learningRateDefaultsAndChanges() {
    List<Tensor> params = freshParams();
    try (Adam a = new Adam(params); AdamW w = new AdamW(params, 0.5)) {
      assertEquals(1e-3, a.getLr(), 0.0);
      assertEquals(0.5, w.getLr(), 0.0);
      a.setLr(0);
      assertEquals(0.0, a.getLr(), 0.0);
      assertEquals(params, a.parameters());
      assertEquals("Adam(lr=0.0, params=2)", a.toString());
    }
    assertEquals(new AdamOptions(1e-3, 0.9, 0.999, 1e-8, 0, false), AdamOptions.adam(1e-3));
    assertEquals(new AdamOptions(1e-3, 0.9, 0.999, 1e-8, 1e-2, false), AdamOptions.adamW(1e-3));
    AdamOptions o = AdamOptions.adam(1).withLr(2).withBetas(0.5, 0.6).withEps(1e-3).withWeightDecay(0.1).withAmsgrad(true);
    assertEquals(new AdamOptions(2, 0.5, 0.6, 1e-3, 0.1, true), o);
  }

  /** PyTorch 2's zero_grad() drops the gradients; zero_grad(set_to_none=False) zeroes them. Both LibTorch versions agree. */
  @Test
  void zeroGradDropsOrZeroesEveryGradient() {
    List<Tensor> params = freshParams();
    try (Adam opt = new Adam(params)) {
      step(opt, params, 0);
      for (Tensor p : params) assertTrue(p.grad().abs().sum().item() > 0);
      opt.zeroGrad(false);
      for (Tensor p : params) assertEquals(0.0, p.grad().abs().sum().item(), 0.0);
      opt.zeroGrad();
      for (Tensor p : params) assertEquals(null, p.grad());
    }
  }

  private static void assertRejects(String fragment, Executable call) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
    assertTrue(e.getMessage().contains(fragment), "message '" + e.getMessage() + "' lacks '" + fragment + "'");
  }

  @Test
  void badArgumentsAreRejected() {
    List<Tensor> params = freshParams();
    assertRejects("lr", () -> AdamOptions.adam(-1));
    assertRejects("lr", () -> AdamOptions.adam(Double.NaN));
    assertRejects("beta1", () -> AdamOptions.adam(1e-3).withBetas(1.0, 0.9));
    assertRejects("beta2", () -> AdamOptions.adam(1e-3).withBetas(0.9, -0.1));
    assertRejects("eps", () -> AdamOptions.adam(1e-3).withEps(-1e-8));
    assertRejects("weightDecay", () -> AdamOptions.adamW(1e-3).withWeightDecay(Double.POSITIVE_INFINITY));
    assertRejects("empty", () -> new Adam(List.of()));
    assertRejects("params[1]", () -> new Adam(List.of(params.get(0), Torch.zeros(3))));
    Tensor nonLeaf = params.get(0).mul(2);
    assertRejects("params[0]", () -> new AdamW(List.of(nonLeaf)));
    assertRejects("dtype", () -> new Adam(List.of(Torch.arange(3))));
    assertThrows(NullPointerException.class, () -> new Adam(null));
    try (Adam opt = new Adam(params)) {
      assertRejects("lr", () -> opt.setLr(-0.1));
      assertRejects("lr", () -> opt.setLr(Double.NaN));
      assertRejects("empty", () -> opt.loadState(new byte[0]));
      assertThrows(TorchException.class, () -> opt.loadState(new byte[] {1, 2, 3, 4}));
      opt.close();
      assertThrows(IllegalStateException.class, opt::step);
      assertThrows(IllegalStateException.class, opt::saveState);
      assertEquals("Adam[closed]", opt.toString());
    }
  }

  // -------------------------------------------------------------- clipping

  static Stream<String> clipCases() {
    return Fixtures.load("clip").getAsJsonObject("cases").keySet().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("clipCases")
  void clipGradNormMatchesPyTorch(String name) {
    JsonObject fx = Fixtures.load("clip");
    JsonObject c = fx.getAsJsonObject("cases").getAsJsonObject(name);
    List<Tensor> params = new ArrayList<>();
    JsonArray values = fx.getAsJsonArray("values");
    JsonArray grads = fx.getAsJsonArray("grads");
    for (int i = 0; i < values.size(); i++) {
      Tensor p = Fixtures.tensor(values.get(i)).requiresGrad_(true);
      if (!grads.get(i).isJsonNull()) p.setGrad(Fixtures.tensor(grads.get(i)));
      params.add(p);
    }
    JsonElement nt = c.get("norm_type");
    double normType = nt.getAsJsonPrimitive().isString() ? Double.POSITIVE_INFINITY : nt.getAsDouble();
    double maxNorm = c.get("max_norm").getAsDouble();
    double total = normType == 2.0 ? Utils.clipGradNorm(params, maxNorm) : Utils.clipGradNorm(params, maxNorm, normType);
    double expectedTotal = c.get("total_norm").getAsDouble();
    double totalErr = Math.abs(total - expectedTotal) / expectedTotal;
    Fixtures.WORST.merge("clip", totalErr, Math::max);
    assertTrue(totalErr <= TOL, "total norm " + total + " vs " + expectedTotal);
    JsonArray after = c.getAsJsonArray("grads");
    for (int i = 0; i < params.size(); i++) {
      if (after.get(i).isJsonNull()) {
        assertNull(params.get(i).grad(), "a tensor without a gradient keeps none");
      } else {
        Fixtures.assertClose("clip", name + " grad " + i, params.get(i).grad(), after.get(i), TOL);
      }
    }
  }

  @Test
  void clipGradNormRejectsBadArguments() {
    List<Tensor> ps = List.of(Torch.zeros(2).requiresGrad_(true));
    assertRejects("maxNorm", () -> Utils.clipGradNorm(ps, 0));
    assertRejects("maxNorm", () -> Utils.clipGradNorm(ps, -1));
    assertRejects("maxNorm", () -> Utils.clipGradNorm(ps, Double.NaN));
    assertRejects("normType", () -> Utils.clipGradNorm(ps, 1, 0));
    assertRejects("normType", () -> Utils.clipGradNorm(ps, 1, Double.NaN));
    assertThrows(NullPointerException.class, () -> Utils.clipGradNorm(null, 1));
    assertEquals(0.0, Utils.clipGradNorm(List.of(), 1), 0.0);
    assertEquals(0.0, Utils.clipGradNorm(ps, 1), 0.0, "no gradients, zero norm");
  }

  @AfterAll
  static void report() {
    System.out.println("[nn parity] optim: max relative error " + Fixtures.WORST.get("optim") + ", clip: " + Fixtures.WORST.get("clip"));
  }
}
