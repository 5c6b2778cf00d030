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

/** Reductions, cumulative ops and softmax on a [2, 3, 4] input, against PyTorch fixtures. */
class ReductionTest extends TorchTestBase {
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("reductions");
  }

  private static long[] d(long... dims) {
    return dims;
  }

  private static Map<String, Function<Tensor, Tensor>> cases() {
    Map<String, Function<Tensor, Tensor>> c = new LinkedHashMap<>();
    c.put("sum_all", Tensor::sum);
    c.put("sum_1", x -> x.sum(1));
    c.put("sum_02_keep", x -> x.sum(d(0, 2), true));
    c.put("mean_all", Tensor::mean);
    c.put("mean_m1", x -> x.mean(-1));
    c.put("mean_01_keep", x -> x.mean(d(0, 1), true));
    c.put("var_all", Tensor::var);
    c.put("var_1_keep", x -> x.var(d(1), 1, true));
    c.put("var_2_c0", x -> x.var(d(2), 0, false));
    c.put("std_all", Tensor::std);
    c.put("std_02", x -> x.std(d(0, 2), 1, false));
    c.put("amax_all", Tensor::amax);
    c.put("amax_2", x -> x.amax(d(2), false));
    c.put("amax_01_keep", x -> x.amax(d(0, 1), true));
    c.put("amin_1", x -> x.amin(d(1), false));
    c.put("prod_all", Tensor::prod);
    c.put("prod_1", x -> x.prod(d(1), false));
    c.put("prod_12_keep", x -> x.prod(d(1, 2), true));
    c.put("prod_02", x -> x.prod(d(0, -1), false));
    c.put("logsumexp_2", x -> x.logsumexp(d(2), false));
    c.put("logsumexp_1_keep", x -> x.logsumexp(d(1), true));
    c.put("norm2_all", x -> x.norm(2));
    c.put("norm1_all", x -> x.norm(1));
    c.put("norm2_1", x -> x.norm(2, d(1), false));
    c.put("norm1_2_keep", x -> x.norm(1, d(2), true));
    c.put("cumsum_1", x -> x.cumsum(1));
    c.put("cumsum_2", x -> x.cumsum(2));
    c.put("cumprod_2", x -> x.cumprod(2));
    c.put("cumprod_0", x -> x.cumprod(0));
    c.put("argmax_all", Tensor::argmax);
    c.put("argmax_2", x -> x.argmax(2, false));
    c.put("argmin_1_keep", x -> x.argmin(1, true));
    c.put("softmax_2", x -> x.softmax(2));
    c.put("softmax_0", x -> x.softmax(0));
    c.put("log_softmax_1", x -> x.logSoftmax(1));
    return c;
  }

  @TestFactory
  Stream<DynamicTest> matchesPyTorch() {
    return cases().entrySet().stream().map(e -> DynamicTest.dynamicTest(e.getKey(), () -> {
      try (Scope s = Scope.open()) {
        fx.assertClose(e.getKey(), e.getValue().apply(fx.tensor("x")), 1e-6, 1e-6);
      }
    }));
  }

  @Test
  void everyFixtureCaseIsExercised() {
    var covered = cases().keySet();
    for (String name : fx.names()) {
      if (!name.equals("x")) assertTrue(covered.contains(name), "fixture case " + name + " has no test");
    }
  }

  @Test
  void handDerivedReductions() {
    Tensor m = Torch.tensor(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
    assertEquals(21, m.sum().item());
    assertEquals(0, m.sum().dim());
    assertArrayEquals(new double[] {5, 7, 9}, m.sum(0).toDoubleArray());
    Tensor rows = m.sum(new long[] {1}, true);
    assertArrayEquals(new long[] {2, 1}, rows.shape());
    assertArrayEquals(new double[] {6, 15}, rows.toDoubleArray());
    assertEquals(3.5, m.mean().item());
    assertArrayEquals(new double[] {2, 5}, m.mean(1).toDoubleArray());
    assertEquals(3.5, m.var().item(), 1e-12, "sum of squares 17.5 over 5");
    assertEquals(17.5 / 6, m.var(new long[0], 0, false).item(), 1e-12);
    assertEquals(Math.sqrt(3.5), m.std().item(), 1e-12);
    assertArrayEquals(new double[] {2.25, 2.25, 2.25}, m.var(new long[] {0}, 0, false).toDoubleArray(), 1e-12);
    assertEquals(720, m.prod().item());
    assertArrayEquals(new double[] {4, 10, 18}, m.prod(new long[] {0}, false).toDoubleArray());
    assertEquals(6, m.amax().item());
    assertEquals(1, m.amin().item());
    assertEquals(Math.sqrt(91), m.norm(2).item(), 1e-12);
    assertEquals(6, m.norm(Double.POSITIVE_INFINITY).item());
    assertEquals(Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)), m.logsumexp(new long[] {1}, false).toDoubleArray()[0], 1e-12);
    assertArrayEquals(new double[] {1, 3, 6, 4, 9, 15}, m.cumsum(1).toDoubleArray());
    assertArrayEquals(new double[] {1, 2, 3, 4, 10, 18}, m.cumprod(0).toDoubleArray());
    assertEquals(5, m.argmax().itemLong());
    assertEquals(0, m.argmin().itemLong());
    assertArrayEquals(new long[] {1, 1, 1}, m.argmax(0, false).toLongArray());
  }

  @Test
  void reducingAZeroDimensionalTensorGivesANewTensor() {
    Tensor s = Torch.scalarTensor(2);
    for (Tensor r : new Tensor[] {s.prod(new long[0], true), s.sum(new long[0], true), s.amax(new long[0], true)}) {
      assertEquals(0, r.dim());
      assertEquals(2, r.item());
      r.fill_(5);
      assertEquals(2, s.item(), "the result does not share the input's memory");
    }
    Tensor b = Torch.tensor(new boolean[] {true}).squeeze();
    Tensor all = b.all();
    all.fill_(0);
    assertEquals(1, b.item());
  }

  @Test
  void logicalReductions() {
    Tensor b = Torch.tensor(new boolean[] {true, false, true, true}, 2, 2);
    assertEquals(DType.BOOL, b.all().dtype());
    assertEquals(0, b.all().item());
    assertEquals(1, b.any().item());
    assertEquals(1, Torch.ones(3).all().item());
    assertEquals(0, Torch.zeros(3).any().item());
  }

  @Test
  void integerSumsWidenToInt64() {
    Tensor u8 = Torch.tensor(new byte[] {(byte) 200, (byte) 200}, 2);
    Tensor s = u8.sum();
    assertEquals(DType.INT64, s.dtype());
    assertEquals(400, s.itemLong());
  }

  @Test
  void softmaxRowsSumToOne() {
    Tensor x = Torch.tensor(new double[] {1, 2, 3, -1, 0, 1000}, 2, 3);
    Tensor s = x.softmax(1);
    double[] v = s.toDoubleArray();
    double z = Math.exp(1) + Math.exp(2) + Math.exp(3);
    assertArrayEquals(new double[] {Math.exp(1) / z, Math.exp(2) / z, Math.exp(3) / z, 0, 0, 1}, v, 1e-12);
    assertArrayEquals(new double[] {1, 1}, s.sum(1).toDoubleArray(), 1e-12);
    assertEquals(-1001, x.logSoftmax(1).toDoubleArray()[3], 1e-9, "log-softmax stays finite");
  }
}
