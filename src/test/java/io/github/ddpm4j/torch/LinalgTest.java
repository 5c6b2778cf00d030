package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** matmul, bmm and einsum against PyTorch fixtures and hand-derived products. */
class LinalgTest extends TorchTestBase {
  private static final double RTOL = 1e-5;
  private static final double ATOL = 1e-6;
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("linalg");
  }

  @Test
  void matmulMatchesPyTorch() {
    Tensor m = fx.tensor("m"), n = fx.tensor("n"), v = fx.tensor("v");
    fx.assertClose("mm", m.matmul(n), RTOL, ATOL);
    fx.assertClose("mv", m.matmul(v), RTOL, ATOL);
    fx.assertClose("vv", v.matmul(v), RTOL, ATOL);
    fx.assertClose("broadcast_matmul", fx.tensor("ba").matmul(fx.tensor("bc")), RTOL, ATOL);
  }

  @Test
  void bmmMatchesPyTorch() {
    fx.assertClose("bmm", fx.tensor("ba").bmm(fx.tensor("bb")), RTOL, ATOL);
  }

  @Test
  void einsumMatchesPyTorch() {
    Tensor m = fx.tensor("m"), v = fx.tensor("v"), ba = fx.tensor("ba"), bb = fx.tensor("bb");
    fx.assertClose("einsum_bij_bjk", Torch.einsum("bij,bjk->bik", ba, bb), RTOL, ATOL);
    fx.assertClose("einsum_ij_ji", Torch.einsum("ij->ji", m), 0, 0);
    fx.assertClose("einsum_dot", Torch.einsum("i,i->", v, v), RTOL, ATOL);
    fx.assertClose("einsum_outer", Torch.einsum("i,j->ij", v, v), RTOL, ATOL);
    fx.assertClose("einsum_trace_sum", Torch.einsum("bij->b", ba), RTOL, ATOL);
  }

  @Test
  void handDerivedProducts() {
    Tensor a = Torch.tensor(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
    Tensor b = Torch.tensor(new double[] {7, 8, 9, 10, 11, 12}, 3, 2);
    Tensor c = a.matmul(b);
    assertArrayEquals(new long[] {2, 2}, c.shape());
    assertArrayEquals(new double[] {58, 64, 139, 154}, c.toDoubleArray());
    Tensor batch = Torch.stack(java.util.List.of(a, a.mul(2)), 0);
    Tensor bb = Torch.stack(java.util.List.of(b, b), 0);
    assertArrayEquals(new double[] {58, 64, 139, 154, 116, 128, 278, 308}, batch.bmm(bb).toDoubleArray());
    assertArrayEquals(new double[] {58, 64, 139, 154}, Torch.einsum("ij,jk->ik", a, b).toDoubleArray());
    assertEquals(91, Torch.einsum("ij,ij->", a, a).item());
    assertArrayEquals(new double[] {1, 4, 2, 5, 3, 6}, a.transpose(0, 1).contiguous().toDoubleArray());
  }
}
