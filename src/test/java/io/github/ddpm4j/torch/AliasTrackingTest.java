package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.github.ddpm4j.nn.Conv2d;
import io.github.ddpm4j.nn.ConvTranspose2d;
import io.github.ddpm4j.nn.Dropout;
import io.github.ddpm4j.nn.GroupNorm;
import io.github.ddpm4j.nn.Identity;
import io.github.ddpm4j.nn.Linear;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.nn.Sequential;
import io.github.ddpm4j.nn.SiLU;
import io.github.ddpm4j.nn.UnaryModule;
import io.github.ddpm4j.nn.Upsample;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import io.github.ddpm4j.nn.ConvOptions;

/**
 * Every Java op whose result may share memory with its input, run on a tensor made
 * over a {@link MemorySegment} ({@link Torch#fromSegment}), after which the segment's
 * arena is closed. A result whose data lies inside the segment (found from its data
 * address, independently of how ddpm4j tracks aliasing) must throw
 * {@link IllegalStateException} on use, never read the freed memory (which killed the
 * JVM with SIGSEGV); a result with memory of its own must keep its values.
 *
 * <p>The table is checked against reflection: every public op of {@link Tensor},
 * {@link Torch} and {@link Functional} that takes a tensor and returns
 * tensors, and every {@link UnaryModule} of {@code nn}, must have a case here, so a new
 * op cannot skip this test.
 */
class AliasTrackingTest extends TorchTestBase {
  private static final long[] SHAPE = {2, 2, 4, 4};

  /** One op, run on a fresh segment-backed tensor of the given dtype and {@link #SHAPE}. */
  private record Case(DType dtype, Function<Tensor, Object> op) {}

  private static final Map<String, Case> TENSOR_OPS = new LinkedHashMap<>();
  private static final Map<String, Case> STATIC_OPS = new LinkedHashMap<>();
  private static final Map<String, Case> MODULES = new LinkedHashMap<>();

  private static void t(String name, Function<Tensor, Object> op) {
    TENSOR_OPS.put(name, new Case(DType.FLOAT32, op));
  }

  private static void tb(String name, Function<Tensor, Object> op) {
    TENSOR_OPS.put(name, new Case(DType.BOOL, op));
  }

  private static void s(String name, Function<Tensor, Object> op) {
    STATIC_OPS.put(name, new Case(DType.FLOAT32, op));
  }

  private static void m(Class<? extends Module> type, Function<Tensor, Object> op) {
    MODULES.put(type.getSimpleName(), new Case(DType.FLOAT32, op));
  }

  private static Tensor idx(long... values) {
    return Torch.tensor(values, values.length);
  }

  static {
    // ---- elementwise, new memory or in place (an in-place op returns its input)
    for (String u : List.of("abs", "neg", "exp", "log", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "relu", "silu", "gelu",
        "square", "sign", "floor", "ceil", "round", "trunc", "reciprocal", "erf", "log1p", "expm1", "isnan", "isfinite", "neg_",
        "exp_", "sqrt_", "sigmoid_", "relu_", "silu_", "tanh_", "zero_")) {
      t(u, x -> invoke(x, u));
    }
    tb("logicalNot", Tensor::logicalNot);
    tb("logicalAnd", x -> x.logicalAnd(x));
    tb("logicalOr", x -> x.logicalOr(x));
    tb("all", Tensor::all);
    tb("any", Tensor::any);
    t("add", x -> List.of(x.add(x), x.add(x, 2.0), x.add(1.5)));
    t("sub", x -> List.of(x.sub(x), x.sub(1.0)));
    t("rsub", x -> x.rsub(1.0));
    t("mul", x -> List.of(x.mul(x), x.mul(2.0)));
    t("div", x -> List.of(x.div(x), x.div(2.0)));
    t("rdiv", x -> x.rdiv(1.0));
    t("pow", x -> List.of(x.pow(x), x.pow(2.0), x.pow(1.0)));
    t("rpow", x -> x.rpow(2.0));
    t("maximum", x -> x.maximum(x));
    t("minimum", x -> x.minimum(x));
    t("remainder", x -> List.of(x.remainder(x), x.remainder(3.0)));
    t("floorDivide", x -> x.floorDivide(x));
    t("atan2", x -> x.atan2(x));
    for (String c : List.of("eq", "ne", "lt", "le", "gt", "ge")) t(c, x -> List.of(invoke(x, c, x), invoke(x, c, 0.0)));
    t("add_", x -> List.of(x.add_(x), x.add_(x, 2.0), x.add_(1.0)));
    t("sub_", x -> List.of(x.sub_(1.0), x.sub_(x)));
    t("mul_", x -> List.of(x.mul_(x), x.mul_(2.0)));
    t("div_", x -> List.of(x.div_(2.0), x.div_(x)));
    t("pow_", x -> x.pow_(2.0));
    t("lerp_", x -> x.lerp_(x.mul(2.0), 0.5));
    t("copy_", x -> x.copy_(x.mul(2.0)));
    t("fill_", x -> x.fill_(3.0));
    t("uniform_", x -> x.uniform_(0, 1, null));
    t("normal_", x -> x.normal_(0, 1, null));
    t("requiresGrad_", x -> x.requiresGrad_(true));
    t("clamp", x -> x.clamp(-1, 1));
    t("clampMin", x -> x.clampMin(0));
    t("clampMax", x -> x.clampMax(0));
    // ---- reductions and linear algebra
    t("sum", x -> List.of(x.sum(), x.sum(new long[] {1}, true), x.sum(0), x.sum(new long[0], false)));
    t("mean", x -> List.of(x.mean(), x.mean(new long[] {1}, false), x.mean(2)));
    t("amax", x -> List.of(x.amax(), x.amax(new long[] {3}, true)));
    t("amin", x -> List.of(x.amin(), x.amin(new long[] {3}, false)));
    t("prod", x -> List.of(x.prod(), x.prod(new long[] {0}, false)));
    t("logsumexp", x -> x.logsumexp(new long[] {1}, false));
    t("var", x -> List.of(x.var(), x.var(new long[] {0}, 1, false)));
    t("std", x -> List.of(x.std(), x.std(new long[] {0}, 0, true)));
    t("norm", x -> List.of(x.norm(2), x.norm(1, new long[] {1}, false)));
    t("argmax", x -> List.of(x.argmax(), x.argmax(1, false)));
    t("argmin", x -> List.of(x.argmin(), x.argmin(1, true)));
    t("cumsum", x -> x.cumsum(1));
    t("cumprod", x -> x.cumprod(1));
    t("matmul", x -> x.matmul(x));
    t("bmm", x -> x.view(4, 4, 4).bmm(x.view(4, 4, 4)));
    t("softmax", x -> x.softmax(1));
    t("logSoftmax", x -> x.logSoftmax(1));
    // ---- dtype, device, copies and handles: several return their input unchanged
    t("to", x -> List.of(x.to(DType.FLOAT32), x.to(DType.FLOAT64), x.to(Device.CPU), x.to(DType.FLOAT32, Device.CPU)));
    t("cpu", Tensor::cpu);
    t("clone", Tensor::clone);
    t("contiguous", x -> List.of(x.contiguous(), x.transpose(0, 1).contiguous(), x.contiguous(MemoryFormat.CHANNELS_LAST),
        x.contiguous(MemoryFormat.CONTIGUOUS_FORMAT), x.contiguous(MemoryFormat.CHANNELS_LAST).contiguous(MemoryFormat.CHANNELS_LAST)));
    t("detach", Tensor::detach);
    t("alias", Tensor::alias);
    t("grad", x -> {
      x.requiresGrad_(true);
      x.mul(2.0).sum().backward();
      return x.grad();
    });
    // ---- views and indexing
    t("view", x -> x.view(8, 8));
    t("reshape", x -> List.of(x.reshape(64), x.transpose(2, 3).reshape(64)));
    t("permute", x -> x.permute(3, 2, 1, 0));
    t("expand", x -> x.unsqueeze(0).expand(3, 2, 2, 4, 4));
    t("repeat", x -> List.of(x.repeat(1, 1, 1, 1), x.repeat(2, 1, 1, 1)));
    t("flip", x -> List.of(x.flip(0), x.flip()));
    t("transpose", x -> x.transpose(1, 2));
    t("squeeze", x -> List.of(x.squeeze(), x.view(1, 64).squeeze(), x.squeeze(0)));
    t("unsqueeze", x -> x.unsqueeze(1));
    t("flatten", x -> List.of(x.flatten(), x.flatten(1, 2), x.flatten(0, 0)));
    t("slice", x -> List.of(x.slice(2, 1, 3), x.slice(3, 0, 4, 2), x.slice(0, 0, 2)));
    t("narrow", x -> x.narrow(1, 1, 1));
    t("select", x -> x.select(0, 1));
    t("indexSelect", x -> List.of(x.indexSelect(0, idx(1, 0)), x.indexSelect(0, idx(0, 1))));
    t("gather", x -> x.gather(3, Torch.zeros(new long[] {2, 2, 4, 1}, DType.INT64, Device.CPU)));
    t("maskedFill", x -> x.maskedFill(x.gt(0.0), 1.0));
    t("chunk", x -> List.of(x.chunk(2, 0), x.chunk(1, 1)));
    // ---- functions of several tensors
    s("cat", x -> List.of(Torch.cat(List.of(x), 0), Torch.cat(List.of(x, x), 1)));
    s("stack", x -> Torch.stack(List.of(x), 0));
    s("einsum", x -> List.of(Torch.einsum("ij->ji", x.view(8, 8)), Torch.einsum("ij->ij", x.view(8, 8)),
        Torch.einsum("ij,jk->ik", x.view(8, 8), x.view(8, 8))));
    s("where", x -> Torch.where(x.gt(0.0), x, x.neg()));
    s("onesLike", Torch::onesLike);
    s("zerosLike", Torch::zerosLike);
    s("randnLike", x -> Torch.randnLike(x, null));
    s("linear", x -> List.of(Functional.linear(x, Torch.ones(4, 4), null), Functional.linear(x, Torch.ones(3, 4), Torch.zeros(3))));
    s("conv2d", x -> List.of(Functional.conv2d(x, Torch.ones(2, 2, 1, 1), null, new long[] {1, 1}, new long[] {0, 0},
        new long[] {1, 1}, 1), Functional.conv2d(x, Torch.ones(3, 2, 3, 3), null, 1, 1)));
    s("convTranspose2d", x -> List.of(Functional.convTranspose2d(x, Torch.ones(2, 2, 1, 1), null, new long[] {1, 1},
        new long[] {0, 0}, new long[] {0, 0}, new long[] {1, 1}, 1), Functional.convTranspose2d(x, Torch.ones(2, 3, 2, 2), null, 2, 0)));
    s("groupNorm", x -> List.of(Functional.groupNorm(x, 2, null, null, 1e-5), Functional.groupNorm(x, 1, Torch.ones(2), Torch.zeros(2), 1e-5)));
    s("layerNorm", x -> List.of(Functional.layerNorm(x, new long[] {4, 4}, null, null, 1e-5),
        Functional.layerNorm(x, new long[] {4}, Torch.ones(4), Torch.zeros(4), 1e-5)));
    s("dropout", x -> List.of(Functional.dropout(x, 0.5, false), Functional.dropout(x, 0.0, true), Functional.dropout(x, 0.5, true),
        Functional.dropout(x, 0.5, false), Functional.dropout(x, 0.0, true), Functional.dropout(x, 1.0, true)));
    s("mseLoss", x -> List.of(Functional.mseLoss(x, x.mul(2.0), Functional.Reduction.NONE), Functional.mseLoss(x, x),
        Functional.mseLoss(x, x, Functional.Reduction.SUM)));
    s("interpolate", x -> List.of(Functional.interpolate(x, 4, 4, Functional.InterpolateMode.NEAREST, false),
        Functional.interpolate(x, 8, 8, Functional.InterpolateMode.BILINEAR, false),
        Functional.interpolate(x, 4, 4, Functional.InterpolateMode.BILINEAR), Functional.interpolate(x, 2, 2, Functional.InterpolateMode.BICUBIC, true)));
    s("upsample", x -> List.of(Functional.upsample(x, 1.0, Functional.InterpolateMode.NEAREST), Functional.upsample(x, 2.0, Functional.InterpolateMode.NEAREST)));
    s("silu", Functional::silu);
    s("sigmoid", Functional::sigmoid);
    s("relu", Functional::relu);
    s("gelu", Functional::gelu);
    s("softmax", x -> Functional.softmax(x, 1));
    s("logSoftmax", x -> Functional.logSoftmax(x, 1));
    // ---- modules, in both modes where the mode matters
    m(Identity.class, x -> new Identity().forward(x));
    m(Dropout.class, x -> List.of(((Dropout) new Dropout(0.5).eval()).forward(x), new Dropout(0.0).forward(x),
        new Dropout(0.5).forward(x)));
    m(Sequential.class, x -> List.of(new Sequential().forward(x), new Sequential(new Identity(), new Identity()).forward(x),
        new Sequential(new SiLU()).forward(x)));
    m(SiLU.class, x -> new SiLU().forward(x));
    m(Upsample.class, x -> List.of(new Upsample(1.0, Functional.InterpolateMode.NEAREST).forward(x),
        new Upsample(2.0, Functional.InterpolateMode.NEAREST).forward(x)));
    m(GroupNorm.class, x -> new GroupNorm(1, 2).forward(x));
    m(Linear.class, x -> new Linear(4, 3).forward(x));
    m(Conv2d.class, x -> new Conv2d(2, 3, ConvOptions.kernel(3).withPadding(1)).forward(x));
    m(ConvTranspose2d.class, x -> new ConvTranspose2d(2, 1, ConvOptions.kernel(2).withStride(2)).forward(x));
  }

  private static Object invoke(Tensor x, String name, Object... args) {
    try {
      for (Method method : Tensor.class.getMethods()) {
        if (method.getName().equals(name) && method.getParameterCount() == args.length
            && (args.length == 0 || method.getParameterTypes()[0] == (args[0] instanceof Tensor ? Tensor.class : double.class))) {
          return method.invoke(x, args);
        }
      }
    } catch (ReflectiveOperationException e) {
      throw new AssertionError(name, e);
    }
    throw new AssertionError("no method " + name);
  }

  // ------------------------------------------------------------------ completeness

  private static boolean returnsTensors(Method m) {
    return m.getReturnType() == Tensor.class || m.getReturnType() == List.class;
  }

  private static boolean takesTensors(Method m) {
    return Arrays.stream(m.getParameterTypes()).anyMatch(p -> p == Tensor.class || p == Tensor[].class || p == List.class);
  }

  @Test
  void everyOpThatTakesAndReturnsTensorsHasACase() {
    TreeSet<String> missing = new TreeSet<>();
    for (Method m : Tensor.class.getMethods()) {
      if (m.getDeclaringClass() == Tensor.class && !Modifier.isStatic(m.getModifiers()) && returnsTensors(m)
          && !TENSOR_OPS.containsKey(m.getName())) {
        missing.add("Tensor." + m.getName());
      }
    }
    for (Class<?> c : List.of(Torch.class, Functional.class)) {
      for (Method m : c.getMethods()) {
        if (m.getDeclaringClass() == c && Modifier.isStatic(m.getModifiers()) && returnsTensors(m) && takesTensors(m)
            && !STATIC_OPS.containsKey(m.getName())) {
          missing.add(c.getSimpleName() + "." + m.getName());
        }
      }
    }
    assertEquals(new TreeSet<>(), missing, "ops without an aliasing case");
  }

  @Test
  void everyUnaryModuleHasACase() throws IOException, URISyntaxException, ClassNotFoundException {
    Path dir = Path.of(UnaryModule.class.getProtectionDomain().getCodeSource().getLocation().toURI()).resolve("io/github/ddpm4j/nn");
    TreeSet<String> modules = new TreeSet<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.toList()) {
        String file = f.getFileName().toString();
        if (!file.endsWith(".class") || file.contains("$")) continue;
        Class<?> c = Class.forName("io.github.ddpm4j.nn." + file.substring(0, file.length() - 6));
        if (UnaryModule.class.isAssignableFrom(c) && !c.isInterface() && !Modifier.isAbstract(c.getModifiers())) {
          modules.add(c.getSimpleName());
        }
      }
    }
    assertFalse(modules.isEmpty(), "found the nn classes in " + dir);
    assertEquals(modules, new TreeSet<>(MODULES.keySet()), "modules without an aliasing case");
  }

  // ------------------------------------------------------------------ the checks

  @Test
  void tensorOpsEitherOwnTheirResultOrFailAfterTheSegmentIsFreed() {
    checkAll(TENSOR_OPS);
  }

  @Test
  void functionsEitherOwnTheirResultOrFailAfterTheSegmentIsFreed() {
    checkAll(STATIC_OPS);
  }

  @Test
  void modulesEitherOwnTheirResultOrFailAfterTheSegmentIsFreed() {
    checkAll(MODULES);
  }

  /** The ops known to return their input's memory in LibTorch do alias it, so the checks above see both kinds. */
  @Test
  void theKnownAliasingOpsAreSeenToAlias() {
    List<String> aliasing = new ArrayList<>();
    for (var e : Map.of("dropout eval", (Function<Tensor, Object>) x -> Functional.dropout(x, 0.5, false),
        "dropout p=0", x -> Functional.dropout(x, 0.0, true),
        "contiguous", Tensor::contiguous,
        "to same dtype", x -> x.to(DType.FLOAT32),
        "einsum ij->ji", x -> Torch.einsum("ij->ji", x.view(8, 8))).entrySet()) {
      try (Arena arena = Arena.ofConfined()) {
        MemorySegment seg = segment(arena, DType.FLOAT32);
        Tensor src = Torch.fromSegment(seg, DType.FLOAT32, SHAPE);
        if (inside((Tensor) e.getValue().apply(src), seg)) aliasing.add(e.getKey());
      }
    }
    assertEquals(5, aliasing.size(), "aliasing ops: " + aliasing);
  }

  @Test
  void anOptimizerOverSegmentParametersFailsOnceTheSegmentIsFreed() {
    Arena arena = Arena.ofConfined();
    Tensor p = Torch.fromSegment(segment(arena, DType.FLOAT32), DType.FLOAT32, SHAPE).requiresGrad_(true);
    try (NativeOptimizer opt = NativeOptimizer.adam(List.of(p), 0.1, 0.9, 0.999, 1e-8, 0, false, false)) {
      p.mul(2.0).sum().backward();
      opt.step();
      arena.close();
      IllegalStateException e = assertThrows(IllegalStateException.class, opt::step);
      assertTrue(e.getMessage().contains("freed"), e.getMessage());
      assertThrows(IllegalStateException.class, () -> opt.zeroGrad(false));
    }
  }

  @Test
  void aGradientOverASegmentIsRefused() {
    try (Arena arena = Arena.ofConfined()) {
      Tensor g = Torch.fromSegment(segment(arena, DType.FLOAT32), DType.FLOAT32, SHAPE);
      Tensor p = Torch.zeros(SHAPE).requiresGrad_(true);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> p.setGrad(g.view(64).view(SHAPE)));
      assertTrue(e.getMessage().contains("clone()"), e.getMessage());
      p.setGrad(g.clone());
      assertEquals(p.grad().sum().item(), g.sum().item(), 1e-6);
    }
  }

  private void checkAll(Map<String, Case> cases) {
    List<String> failures = new ArrayList<>();
    int aliased = 0, owned = 0;
    for (var e : cases.entrySet()) {
      try (Scope scope = Scope.open()) {
        Arena arena = Arena.ofConfined();
        MemorySegment seg = segment(arena, e.getValue().dtype());
        Tensor src = Torch.fromSegment(seg, e.getValue().dtype(), SHAPE);
        List<Tensor> results = flatten(e.getValue().op().apply(src));
        List<double[]> before = new ArrayList<>();
        List<Boolean> inside = new ArrayList<>();
        for (Tensor r : results) {
          inside.add(inside(r, seg));
          before.add(values(r));
        }
        arena.close();
        for (int i = 0; i < results.size(); i++) {
          Tensor r = results.get(i);
          String what = e.getKey() + " result " + i;
          if (inside.get(i)) {
            aliased++;
            try {
              r.sum();
              failures.add(what + " shares the freed segment but could still be used");
            } catch (IllegalStateException expected) {
              if (!expected.getMessage().contains("memory segment")) failures.add(what + ": " + expected.getMessage());
            }
            assertThrows(IllegalStateException.class, r::shape, what);
            assertThrows(IllegalStateException.class, () -> r.add(1.0), what);
            assertEquals("Tensor[memory segment freed]", r.toString(), what);
          } else {
            owned++;
            try {
              assertArrayEquals(before.get(i), values(r), what + " keeps its values");
            } catch (IllegalStateException ex) {
              failures.add(what + " owns its memory but became unusable: " + ex.getMessage());
            }
          }
        }
      }
    }
    assertEquals(List.of(), failures);
    assertTrue(aliased > 0 && owned > 0, "both kinds were exercised: " + aliased + " aliased, " + owned + " owned");
  }

  private static List<Tensor> flatten(Object result) {
    List<Tensor> out = new ArrayList<>();
    if (result instanceof Tensor t) {
      out.add(t);
    } else if (result instanceof List<?> list) {
      for (Object o : list) out.addAll(flatten(o));
    } else {
      fail("unexpected result " + result);
    }
    return out;
  }

  /** Whether {@code t}'s first element lies in {@code seg}: read from LibTorch's data pointer. */
  private static boolean inside(Tensor t, MemorySegment seg) {
    if (t.numel() == 0) return false;
    long at = t.dataAddress();
    return at >= seg.address() && at < seg.address() + seg.byteSize();
  }

  /** The elements as doubles, copied into memory that the test owns. */
  private static double[] values(Tensor t) {
    try (Scope s = Scope.open()) {
      return t.detach().to(DType.FLOAT64).clone().contiguous().toDoubleArray();
    }
  }

  private static MemorySegment segment(Arena arena, DType dtype) {
    long n = Arrays.stream(SHAPE).reduce(1, (a, b) -> a * b);
    MemorySegment seg = arena.allocate(n * dtype.elementSize(), 64);
    for (long i = 0; i < n; i++) {
      if (dtype == DType.BOOL) seg.set(ValueLayout.JAVA_BYTE, i, (byte) (i % 3 == 0 ? 1 : 0));
      else seg.set(ValueLayout.JAVA_FLOAT, 4 * i, (i - 20) * 0.125f);
    }
    return seg;
  }
}
