package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Comparisons and logical ops against PyTorch fixtures. */
class ComparisonTest extends TorchTestBase {
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("comparison");
  }

  @Test
  void comparisonsMatchPyTorch() {
    Tensor a = fx.tensor("a"), b = fx.tensor("b");
    fx.assertExact("eq", a.eq(b));
    fx.assertExact("ne", a.ne(b));
    fx.assertExact("lt", a.lt(b));
    fx.assertExact("le", a.le(b));
    fx.assertExact("gt", a.gt(b));
    fx.assertExact("ge", a.ge(b));
    fx.assertExact("gt_scalar", a.gt(2.5));
    fx.assertExact("logical_and", a.gt(1.5).logicalAnd(b.gt(2.5)));
    fx.assertExact("logical_or", a.gt(4.5).logicalOr(b.lt(1.5)));
    fx.assertExact("logical_not", a.gt(2.5).logicalNot());
  }

  @Test
  void scalarComparisonsByHand() {
    Tensor t = Torch.tensor(floats(1, 2, 3), 3);
    assertArrayEquals(new byte[] {0, 1, 0}, t.eq(2).toByteArray());
    assertArrayEquals(new byte[] {1, 0, 1}, t.ne(2).toByteArray());
    assertArrayEquals(new byte[] {1, 0, 0}, t.lt(2).toByteArray());
    assertArrayEquals(new byte[] {1, 1, 0}, t.le(2).toByteArray());
    assertArrayEquals(new byte[] {0, 1, 1}, t.ge(2).toByteArray());
    assertEquals(DType.BOOL, t.lt(2).dtype());
  }

  @Test
  void nanAndInfinityPredicates() {
    Tensor t = Torch.tensor(floats(1, Float.NaN, Float.POSITIVE_INFINITY, -0.0), 4);
    assertArrayEquals(new byte[] {0, 1, 0, 0}, t.isnan().toByteArray());
    assertArrayEquals(new byte[] {1, 0, 0, 1}, t.isfinite().toByteArray());
    assertArrayEquals(new byte[] {1, 0, 1, 1}, t.eq(t).toByteArray(), "NaN is not equal to itself");
    assertFalse(t.equal(t), "torch.equal is false with a NaN");
    Tensor u = Torch.tensor(floats(1, 2), 2);
    assertTrue(u.equal(u.clone()));
    assertFalse(u.equal(Torch.tensor(floats(1, 2, 3), 3)));
  }

  @Test
  void signTruncAndFriends() {
    Tensor t = Torch.tensor(floats(-2.5, -0.5, 0, 0.5, 2.5), 5);
    assertArrayEquals(floats(-1, -1, 0, 1, 1), t.sign().toFloatArray());
    assertArrayEquals(floats(-2, -0.0, 0, 0, 2), t.trunc().toFloatArray());
    assertArrayEquals(floats(-2, -0.0, 0, 0, 2), t.round().toFloatArray(), "round half to even");
    assertArrayEquals(floats(6.25, 0.25, 0, 0.25, 6.25), t.square().toFloatArray());
  }
}
