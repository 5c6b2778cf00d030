package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.torch.Functional;

/**
 * Module trees: PyTorch's dotted names and order (fixtures/nn/module_tree.json,
 * from an equivalent nested {@code nn.Module}), repr, train/eval, ownership
 * and state-dict loading.
 */
class ModuleTest extends TorchTestBase {
  /** Mirrors the fixture script's {@code Block}: same members, registered in the same order. */
  static final class Block extends Module {
    final GroupNorm norm;
    final Conv2d conv;
    final Linear proj;
    final Dropout drop;

    Block(long ch, long temb) {
      norm = registerModule("norm", new GroupNorm(2, ch));
      conv = registerModule("conv", new Conv2d(ch, ch, ConvOptions.kernel(3).withPadding(1)));
      registerBuffer("scale", Torch.ones(ch));
      proj = registerModule("proj", new Linear(temb, ch));
      drop = registerModule("drop", new Dropout(0.1));
      registerParameter("gamma", Torch.zeros(ch));
    }

    /** @param x [N, ch, H, W] @param emb [N, temb] */
    Tensor forward(Tensor x, Tensor emb) {
      Tensor h = conv.forward(Functional.silu(norm.forward(x)));
      Tensor e = proj.forward(emb).unsqueeze(-1).unsqueeze(-1);
      Tensor g = parameter("gamma").add(1).mul(buffer("scale")).view(1, -1, 1, 1);
      return x.add(drop.forward(h.add(e).mul(g)));
    }
  }

  /** Mirrors the fixture script's {@code Net}. */
  static final class Net extends Module {
    final Conv2d inp;
    final ModuleList<Block> blocks;
    final ConvTranspose2d up;
    final Sequential head;

    Net() {
      inp = registerModule("inp", new Conv2d(3, 4, ConvOptions.kernel(3).withPadding(1)));
      blocks = registerModule("blocks", new ModuleList<Block>().add(new Block(4, 8)).add(new Block(4, 8)));
      up = registerModule("up", new ConvTranspose2d(4, 4, ConvOptions.kernel(4).withStride(2).withPadding(1).withBias(false)));
      head = registerModule("head", new Sequential(new Identity(), new SiLU(), new Linear(4, 2, false)));
      registerParameter("embed", Torch.zeros(8));
    }

    /** @param x [N, 3, H, W] @return [N, 2] */
    Tensor forward(Tensor x) {
      Tensor h = inp.forward(x);
      Tensor emb = parameter("embed").unsqueeze(0).expand(x.size(0), 8);
      for (Block b : blocks) h = b.forward(h, emb);
      return head.forward(up.forward(h).mean(new long[] {2, 3}, false));
    }
  }

  /** Mirrors the fixture script's {@code Shared}: one Linear under three paths. */
  static final class Shared extends Module {
    Shared() {
      Linear lin = new Linear(2, 2);
      registerModule("a", lin);
      registerModule("b", new Sequential(new SiLU(), lin));
      registerModule("c", lin);
    }
  }

  static JsonObject fixture() {
    return Fixtures.load("module_tree");
  }

  static List<String> strings(JsonArray a) {
    List<String> out = new ArrayList<>();
    for (JsonElement e : a) out.add(e.getAsString());
    return out;
  }

  @Test
  void namesAndOrderMatchPyTorch() {
    try (Net net = new Net()) {
      JsonArray named = fixture().getAsJsonArray("named_parameters");
      Map<String, Tensor> params = net.namedParameters();
      assertEquals(named.size(), params.size());
      int i = 0;
      for (Map.Entry<String, Tensor> e : params.entrySet()) {
        JsonArray expected = named.get(i++).getAsJsonArray();
        assertEquals(expected.get(0).getAsString(), e.getKey());
        assertArrayEquals(Fixtures.longs(expected.get(1).getAsJsonArray()), e.getValue().shape(), e.getKey());
      }
      List<String> buffers = new ArrayList<>();
      for (JsonElement e : fixture().getAsJsonArray("named_buffers")) buffers.add(e.getAsJsonArray().get(0).getAsString());
      assertEquals(buffers, new ArrayList<>(net.namedBuffers().keySet()));
      assertEquals(strings(fixture().getAsJsonArray("state_dict_keys")), new ArrayList<>(net.stateDict().keySet()));
      assertEquals(strings(fixture().getAsJsonArray("named_modules")), new ArrayList<>(net.namedModules().keySet()));
      assertEquals(fixture().get("parameter_count").getAsLong(), net.parameterCount());
      assertEquals(new ArrayList<>(params.values()), net.parameters());
    }
  }

  @Test
  void reprMatchesPyTorch() {
    try (Net net = new Net(); GroupNorm gn = new GroupNorm(4, 8, 1e-6); Dropout d = new Dropout(0.25);
        Upsample up = new Upsample(2, io.github.ddpm4j.torch.Functional.InterpolateMode.BILINEAR)) {
      assertEquals(fixture().get("repr").getAsString(), net.toString());
      assertEquals(fixture().get("repr_eps").getAsString(), gn.toString());
      assertEquals(fixture().get("repr_dropout").getAsString(), d.toString());
      assertEquals(fixture().get("repr_upsample").getAsString(), up.toString());
    }
  }

  @Test
  void sharedModulesAreListedOnceButSavedUnderEveryPath() {
    try (Shared s = new Shared()) {
      assertEquals(strings(fixture().getAsJsonArray("shared_named_parameters")), new ArrayList<>(s.namedParameters().keySet()));
      assertEquals(strings(fixture().getAsJsonArray("shared_state_dict_keys")), new ArrayList<>(s.stateDict().keySet()));
      assertEquals(strings(fixture().getAsJsonArray("shared_named_modules")), new ArrayList<>(s.namedModules().keySet()));
      assertEquals(6, s.parameterCount());
    }
  }

  @Test
  void trainAndEvalReachEveryDescendant() {
    try (Net net = new Net()) {
      assertTrue(net.isTraining());
      assertSame(net, net.eval());
      for (Module m : net.namedModules().values()) assertFalse(m.isTraining(), m.getClass().getSimpleName());
      net.train();
      for (Module m : net.namedModules().values()) assertTrue(m.isTraining(), m.getClass().getSimpleName());
      net.blocks.get(1).eval();
      assertFalse(net.blocks.get(1).drop.isTraining());
      assertTrue(net.blocks.get(0).drop.isTraining());
    }
  }

  @Test
  void closingTheModelFreesEveryNativeHandle() {
    long baseline = Torch.liveHandles();
    Net net = new Net();
    assertTrue(Torch.liveHandles() >= baseline + net.stateDict().size(), "parameters and buffers hold handles");
    try (Scope step = Scope.open()) {
      Torch.manualSeed(1);
      Tensor x = Torch.randn(2, 3, 6, 6);
      Tensor out = net.forward(x);
      assertArrayEquals(new long[] {2, 2}, out.shape());
      out.square().sum().backward();
      for (Map.Entry<String, Tensor> e : net.namedParameters().entrySet()) {
        assertTrue(e.getValue().grad() != null, "gradient reached " + e.getKey());
      }
      try (Adam opt = new Adam(net.parameters(), 1e-3)) {
        opt.step();
      }
    }
    List<Tensor> params = net.parameters();
    net.close();
    net.close();
    assertEquals(baseline, Torch.liveHandles(), "handles left after closing the model");
    assertTrue(params.get(0).isClosed());
    assertThrows(IllegalStateException.class, net::namedParameters);
    assertThrows(IllegalStateException.class, net::stateDict);
  }

  private static Map<String, Tensor> copyOf(Map<String, Tensor> sd) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    sd.forEach((k, v) -> out.put(k, v.clone()));
    return out;
  }

  @Test
  void strictLoadListsMissingUnexpectedAndMisshapedKeys() {
    try (Net net = new Net(); Net other = new Net()) {
      Map<String, Tensor> sd = copyOf(other.stateDict());
      sd.remove("blocks.1.conv.bias");
      sd.remove("blocks.0.scale");
      sd.put("blocks.2.conv.weight", Torch.zeros(4, 4, 3, 3));
      sd.put("inp.weight", Torch.zeros(4, 3, 5, 5));
      Tensor before = net.up.weight().clone();
      StateDictMismatchException e = assertThrows(StateDictMismatchException.class, () -> net.loadStateDict(sd));
      assertEquals(List.of("blocks.0.scale", "blocks.1.conv.bias"), e.missingKeys());
      assertEquals(List.of("blocks.2.conv.weight"), e.unexpectedKeys());
      assertEquals(1, e.shapeMismatches().size());
      assertTrue(e.shapeMismatches().get(0).startsWith("inp.weight: checkpoint [4, 3, 5, 5], model [4, 3, 3, 3]"),
          e.shapeMismatches().get(0));
      for (String k : List.of("blocks.0.scale", "blocks.1.conv.bias", "blocks.2.conv.weight", "inp.weight")) {
        assertTrue(e.getMessage().contains(k), e.getMessage());
      }
      assertTrue(net.up.weight().equal(before), "a failed load copies nothing");

      // Not strict: the shape mismatch still fails, as in PyTorch.
      assertThrows(StateDictMismatchException.class, () -> net.loadStateDict(sd, false));
      sd.remove("inp.weight");
      Module.LoadResult r = net.loadStateDict(sd, false);
      assertEquals(List.of("inp.weight", "blocks.0.scale", "blocks.1.conv.bias"), r.missingKeys());
      assertEquals(List.of("blocks.2.conv.weight"), r.unexpectedKeys());
      assertTrue(net.up.weight().equal(other.up.weight()), "a non-strict load copies the shared keys");
      assertFalse(net.inp.weight().equal(other.inp.weight()));
    }
  }

  @Test
  void loadCopiesValuesConvertsDtypeAndKeepsParametersTrainable() {
    try (Linear a = new Linear(3, 2); Linear b = new Linear(3, 2)) {
      Map<String, Tensor> sd = new LinkedHashMap<>();
      sd.put("weight", b.weight().to(DType.FLOAT64));
      sd.put("bias", b.bias().to(DType.FLOAT64));
      Tensor w = a.weight();
      a.loadStateDict(sd);
      assertSame(w, a.weight(), "loading copies into the existing tensors");
      assertTrue(a.weight().equal(b.weight()));
      assertEquals(DType.FLOAT32, a.weight().dtype());
      assertTrue(a.weight().isLeaf() && a.weight().requiresGrad());
      sd.get("bias").fill_(7);
      assertEquals(b.bias().sum().item(), a.bias().sum().item(), 0.0, "the loaded dict is copied, not shared");
      Map<String, Tensor> withNull = new LinkedHashMap<>(sd);
      withNull.put("bias", null);
      NullPointerException e = assertThrows(NullPointerException.class, () -> a.loadStateDict(withNull));
      assertTrue(e.getMessage().contains("bias"), e.getMessage());
    }
  }

  /** A module that exposes the registration methods to the tests. */
  static final class Open extends Module {
    Tensor param(String name, Tensor t) {
      return registerParameter(name, t);
    }

    Tensor buf(String name, Tensor t) {
      return registerBuffer(name, t);
    }

    <M extends Module> M child(String name, M m) {
      return registerModule(name, m);
    }
  }

  @Test
  void registrationRejectsBadNamesAndValues() {
    try (Open m = new Open()) {
      m.param("w", Torch.zeros(2));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.param("w", Torch.zeros(2)));
      assertTrue(e.getMessage().contains("'w' is already registered"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> m.buf("w", Torch.zeros(2)));
      assertThrows(IllegalArgumentException.class, () -> m.child("w", new Identity()));
      e = assertThrows(IllegalArgumentException.class, () -> m.param("a.b", Torch.zeros(2)));
      assertTrue(e.getMessage().contains("a.b"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> m.param("", Torch.zeros(2)));
      e = assertThrows(IllegalArgumentException.class, () -> m.param("idx", Torch.arange(3)));
      assertTrue(e.getMessage().contains("floating point"), e.getMessage());
      assertThrows(NullPointerException.class, () -> m.param("n", null));
      assertThrows(NullPointerException.class, () -> m.child("n", null));
      assertThrows(IllegalArgumentException.class, () -> m.child("self", m));
      Tensor closed = Torch.zeros(2);
      closed.close();
      assertThrows(IllegalStateException.class, () -> m.param("c", closed));
      // A non-leaf becomes a detached leaf that requires grad; a buffer does not require grad.
      Tensor x = Torch.ones(3).requiresGrad_(true);
      Tensor p = m.param("p", x.mul(2));
      assertTrue(p.isLeaf() && p.requiresGrad());
      Tensor b = m.buf("b", Torch.ones(3));
      assertFalse(b.requiresGrad());
      assertEquals(List.of("w", "p"), new ArrayList<>(m.namedParameters().keySet()));
      assertEquals(List.of("w", "b", "p").size(), m.stateDict().size());
    }
  }

  @Test
  void toDtypeConvertsParametersAndBuffers() {
    try (Block b = new Block(4, 8)) {
      b.to(DType.FLOAT64);
      for (Map.Entry<String, Tensor> e : b.stateDict().entrySet()) assertEquals(DType.FLOAT64, e.getValue().dtype(), e.getKey());
      for (Tensor p : b.parameters()) assertTrue(p.isLeaf() && p.requiresGrad());
      Tensor x = Torch.randn(new long[] {1, 4, 3, 3}, DType.FLOAT64, io.github.ddpm4j.torch.Device.CPU, null);
      Tensor e = Torch.randn(new long[] {1, 8}, DType.FLOAT64, io.github.ddpm4j.torch.Device.CPU, null);
      assertEquals(DType.FLOAT64, b.forward(x, e).dtype());
      IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> b.conv.forward(Torch.zeros(1, 4, 3, 3)));
      assertTrue(ex.getMessage().contains("FLOAT32") && ex.getMessage().contains("FLOAT64"), ex.getMessage());
      assertThrows(IllegalArgumentException.class, () -> b.to(DType.INT64));
    }
  }

  @Test
  void toConvertsSharedTensorsOnceAndKeepsFrozenParametersFrozen() {
    long baseline = Torch.liveHandles();
    try (Shared s = new Shared(); Linear frozen = new Linear(2, 2)) {
      frozen.requiresGrad_(false);
      frozen.to(DType.FLOAT64);
      assertFalse(frozen.weight().requiresGrad(), "to() keeps requires_grad");
      assertEquals(DType.FLOAT64, frozen.weight().dtype());
      s.to(DType.FLOAT64).to(io.github.ddpm4j.torch.Device.CPU);
      Map<String, Tensor> sd = s.stateDict();
      assertSame(sd.get("a.weight"), sd.get("b.1.weight"));
      assertSame(sd.get("a.weight"), sd.get("c.weight"));
      for (Tensor t : sd.values()) {
        assertEquals(DType.FLOAT64, t.dtype());
        assertTrue(t.isLeaf() && t.requiresGrad());
      }
    }
    assertEquals(baseline, Torch.liveHandles(), "converted modules leave no handles behind");
  }

  @Test
  void requiresGradAndZeroGradCoverEveryParameter() {
    try (Net net = new Net()) {
      net.forward(Torch.randn(1, 3, 4, 4)).sum().backward();
      net.zeroGrad(false);
      for (Tensor p : net.parameters()) assertEquals(0.0, p.grad().abs().sum().item(), 0.0);
      net.zeroGrad();
      for (Tensor p : net.parameters()) assertNull(p.grad());
      net.requiresGrad_(false);
      for (Tensor p : net.parameters()) assertFalse(p.requiresGrad());
      assertFalse(net.forward(Torch.randn(1, 3, 4, 4)).requiresGrad());
      net.requiresGrad_(true);
      assertTrue(net.forward(Torch.randn(1, 3, 4, 4)).requiresGrad());
    }
  }

  @Test
  void moduleListIndexesAndOwnsItsModules() {
    long baseline = Torch.liveHandles();
    ModuleList<Linear> list = new ModuleList<>(List.of(new Linear(2, 3), new Linear(3, 4)));
    Linear third = new Linear(4, 5, false);
    assertSame(list, list.add(third));
    assertEquals(3, list.size());
    assertSame(third, list.get(2));
    assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "2.weight"), new ArrayList<>(list.namedParameters().keySet()));
    int n = 0;
    for (Linear l : list) assertEquals(2 + n++, l.inFeatures());
    assertThrows(IndexOutOfBoundsException.class, () -> list.get(3));
    assertThrows(IndexOutOfBoundsException.class, () -> list.get(-1));
    assertThrows(IllegalArgumentException.class, () -> list.add(third));
    assertThrows(NullPointerException.class, () -> list.add(null));
    assertThrows(UnsupportedOperationException.class, () -> list.asList().clear());
    assertEquals("ModuleList(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        + "  (1): Linear(in_features=3, out_features=4, bias=True)\n  (2): Linear(in_features=4, out_features=5, bias=False)\n)",
        list.toString());
    list.close();
    assertEquals(baseline, Torch.liveHandles());
    assertTrue(third.weight().isClosed() || third.namedChildren().isEmpty());
  }

  @Test
  void sequentialChainsAndClosesIntermediates() {
    try (Linear l1 = new Linear(3, 5); Linear l2 = new Linear(5, 2)) {
      Sequential seq = new Sequential(new Identity(), new SiLU());
      seq.add(new Linear(3, 3));
      seq.close();
      Sequential chain = new Sequential();
      chain.add(new Linear(3, 5)).add(new SiLU()).add(new Linear(5, 2));
      chain.loadStateDict(Map.of("0.weight", l1.weight(), "0.bias", l1.bias(), "2.weight", l2.weight(), "2.bias", l2.bias()));
      Tensor x = Torch.randn(4, 3);
      long before = Torch.liveHandles();
      Tensor y = chain.forward(x);
      assertEquals(before + 1, Torch.liveHandles(), "only the result survives the forward pass");
      Tensor expected = l2.forward(Functional.silu(l1.forward(x)));
      assertTrue(y.equal(expected));
      assertEquals(3, chain.size());
      assertTrue(chain.get(1) instanceof SiLU);
      assertThrows(IllegalArgumentException.class, () -> chain.add(new ModuleList<Linear>()));
      assertThrows(IllegalArgumentException.class, () -> chain.add(chain.get(0)));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> chain.forward(Torch.randn(4, 4)));
      assertTrue(e.getMessage().contains("Linear(in_features=3"), e.getMessage());
      try (Sequential empty = new Sequential()) {
        Tensor z = empty.forward(x);
        assertTrue(z != x && z.equal(x));
        z.close();
        assertFalse(x.isClosed(), "closing the result of an empty Sequential leaves the input open");
      }
      chain.close();
    }
  }
}
