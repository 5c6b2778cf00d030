package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Views, joins and indexing: PyTorch fixtures on arange inputs, plus view semantics by hand. */
class IndexingTest extends TorchTestBase {
  private static Fixtures fx;

  @BeforeAll
  static void load() {
    fx = Fixtures.load("indexing");
  }

  /** arange(24).reshape(2, 3, 4), float32. */
  private static Tensor x() {
    return Torch.arange(0, 24, 1, DType.FLOAT32, Device.CPU).reshape(2, 3, 4);
  }

  /** arange(12).reshape(3, 4), float32. */
  private static Tensor m() {
    return Torch.arange(0, 12, 1, DType.FLOAT32, Device.CPU).view(3, 4);
  }

  private static Tensor longs(long... v) {
    return Torch.tensor(v, v.length);
  }

  @Test
  void gatherMatchesPyTorch() {
    fx.assertExact("gather_1", m().gather(1, fx.tensor("gather_1_idx")));
    fx.assertExact("gather_0", m().slice(1, 0, 2).contiguous().gather(0, fx.tensor("gather_0_idx")));
  }

  @Test
  void indexSelectMatchesPyTorch() {
    fx.assertExact("index_select_0", x().indexSelect(0, longs(1, 0, 1)));
    fx.assertExact("index_select_2", x().indexSelect(2, longs(3, 0)));
    Tensor i32 = Torch.tensor(new int[] {2, 2}, 2);
    assertArrayEquals(new float[] {8, 9, 10, 11, 8, 9, 10, 11}, m().indexSelect(0, i32).toFloatArray(), "int32 indices work too");
  }

  @Test
  void catAndStackMatchPyTorch() {
    Tensor m = m();
    fx.assertExact("cat_0", Torch.cat(List.of(m, m.mul(10)), 0));
    fx.assertExact("cat_1", Torch.cat(List.of(m, m.slice(1, 0, 1)), 1));
    fx.assertExact("stack_0", Torch.stack(List.of(m, m.neg()), 0));
    fx.assertExact("stack_2", Torch.stack(List.of(m, m.neg()), 2));
  }

  @Test
  void sliceAndSelectMatchPyTorch() {
    fx.assertExact("slice_2_1_4_2", x().slice(2, 1, 4, 2));
    fx.assertExact("slice_1_neg", x().slice(1, -2, Long.MAX_VALUE));
    fx.assertExact("select_1_2", x().select(1, 2));
    fx.assertExact("select_0_neg1", x().select(0, -1));
  }

  @Test
  void permuteTransposeExpandFlipRepeatMatchPyTorch() {
    fx.assertExact("permute_201", x().permute(2, 0, 1));
    fx.assertExact("transpose_02", x().transpose(0, 2));
    fx.assertExact("expand", Torch.tensor(floats(1, 2, 3), 3, 1).expand(3, 4));
    fx.assertExact("flip_2", x().flip(2));
    fx.assertExact("flip_01", x().flip(0, 1));
    fx.assertExact("repeat_2_1", m().slice(0, 0, 2).repeat(2, 1));
    fx.assertExact("repeat_1_2_3", Torch.tensor(floats(1, 2), 2).repeat(1, 2, 3));
  }

  @Test
  void maskedFillAndWhereMatchPyTorch() {
    Tensor m = m();
    fx.assertExact("masked_fill", m.maskedFill(m.remainder(3).eq(0), -1));
    fx.assertExact("where", Torch.where(m.gt(5), m, m.neg()));
  }

  @Test
  void whereBroadcastsScalarsAndRows() {
    Tensor cond = Torch.tensor(new boolean[] {true, false, false, true}, 2, 2);
    Tensor r = Torch.where(cond, Torch.tensor(floats(1, 2), 2), Torch.scalarTensor(-1));
    assertArrayEquals(floats(1, -1, -1, 2), r.toFloatArray());
  }

  @Test
  void chunkSplitsIntoViews() {
    Tensor t = Torch.arange(0, 7, 1, DType.FLOAT32, Device.CPU);
    List<Tensor> parts = t.chunk(3, 0);
    assertEquals(3, parts.size());
    assertArrayEquals(floats(0, 1, 2), parts.get(0).toFloatArray());
    assertArrayEquals(floats(3, 4, 5), parts.get(1).toFloatArray());
    assertArrayEquals(floats(6), parts.get(2).toFloatArray());
    parts.get(1).fill_(-1);
    assertArrayEquals(floats(0, 1, 2, -1, -1, -1, 6), t.toFloatArray(), "chunks are views");
    List<Tensor> fewer = Torch.arange(0, 2, 1, DType.FLOAT32, Device.CPU).chunk(5, 0);
    assertEquals(2, fewer.size(), "chunk returns fewer parts when the dimension is short");
    List<Tensor> cols = m().chunk(2, 1);
    assertArrayEquals(new long[] {3, 2}, cols.get(1).shape());
    assertFalse(cols.get(1).isContiguous());
    assertArrayEquals(floats(2, 3, 6, 7, 10, 11), cols.get(1).contiguous().toFloatArray());
  }

  @Test
  void viewsShareStorage() {
    Tensor base = Torch.zeros(2, 3);
    Tensor flat = base.view(-1);
    assertArrayEquals(new long[] {6}, flat.shape());
    flat.select(0, 4).fill_(7);
    assertEquals(7, base.select(0, 1).select(0, 1).item());
    Tensor row = base.select(0, 0);
    row.add_(1.0);
    assertArrayEquals(floats(1, 1, 1, 0, 7, 0), base.toFloatArray());
    Tensor t = base.transpose(0, 1);
    assertArrayEquals(new long[] {1, 3}, t.stride());
    assertFalse(t.isContiguous());
    t.slice(0, 0, 1).mul_(5.0);
    assertArrayEquals(floats(5, 1, 1, 0, 7, 0), base.toFloatArray());
    base.expand(2, 2, 3).select(0, 1).narrow(1, 2, 1).fill_(-3);
    assertArrayEquals(floats(5, 1, -3, 0, 7, -3), base.toFloatArray(), "expanded views alias the base");
  }

  @Test
  void reshapeCopiesWhenViewCannot() {
    Tensor t = m().transpose(0, 1);
    TorchException e = assertThrows(TorchException.class, () -> t.view(12));
    assertEquals("dd_shape", e.function());
    assertTrue(e.torchMessage().contains("view size is not compatible with input tensor's size and stride"), e.torchMessage());
    Tensor r = t.reshape(12);
    assertArrayEquals(floats(0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11), r.toFloatArray());
    assertArrayEquals(new long[] {2, 6}, m().reshape(2, -1).shape());
  }

  @Test
  void squeezeUnsqueezeFlattenNarrow() {
    Tensor t = Torch.zeros(1, 3, 1, 2);
    assertArrayEquals(new long[] {3, 2}, t.squeeze().shape());
    assertArrayEquals(new long[] {3, 1, 2}, t.squeeze(0).shape());
    assertArrayEquals(new long[] {1, 3, 1, 2}, t.squeeze(1).shape(), "a dimension of size 3 stays");
    assertArrayEquals(new long[] {1, 3, 1, 1, 2}, t.unsqueeze(-2).shape());
    assertArrayEquals(new long[] {6}, t.flatten().shape());
    assertArrayEquals(new long[] {1, 3, 2}, t.flatten(1, 2).shape());
    Tensor n = Torch.arange(0, 10, 1, DType.FLOAT32, Device.CPU).narrow(0, 3, 4);
    assertArrayEquals(floats(3, 4, 5, 6), n.toFloatArray());
    assertArrayEquals(floats(1, 4, 7), Torch.arange(0, 10, 1, DType.FLOAT32, Device.CPU).slice(0, 1, 8, 3).contiguous().toFloatArray());
    assertArrayEquals(floats(8, 9), Torch.arange(0, 10, 1, DType.FLOAT32, Device.CPU).slice(0, -2, 100).toFloatArray(),
        "bounds are clamped as in Python");
  }

  @Test
  void everyFixtureCaseIsExercised() {
    var used = java.util.Set.of("gather_1_idx", "gather_1", "gather_0_idx", "gather_0", "index_select_0", "index_select_2", "cat_0",
        "cat_1", "stack_0", "stack_2", "slice_2_1_4_2", "slice_1_neg", "select_1_2", "select_0_neg1", "permute_201",
        "transpose_02", "expand", "flip_2", "flip_01", "repeat_2_1", "repeat_1_2_3", "masked_fill", "where");
    for (String name : fx.names()) assertTrue(used.contains(name), "fixture case " + name + " has no test");
  }
}
