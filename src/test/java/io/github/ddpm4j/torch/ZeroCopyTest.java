package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Tensor.data() and Torch.fromSegment share memory with Java, both ways, and fail safely once it is gone. */
class ZeroCopyTest extends TorchTestBase {
  private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

  @Test
  void dataIsExactlyNbytesLong() {
    assertEquals(24, Torch.zeros(2, 3).data().byteSize());
    assertEquals(8 * 5, Torch.arange(5).data().byteSize());
    assertEquals(7, Torch.zeros(new long[] {7}, DType.BOOL, Device.CPU).data().byteSize());
    assertEquals(0, Torch.zeros(0, 3).data().byteSize());
    Tensor row = Torch.zeros(4, 5).select(0, 2);
    assertEquals(20, row.data().byteSize(), "a view's data covers the view, not its whole storage");
  }

  @Test
  void writesThroughDataShowInTheTensor() {
    Tensor t = Torch.zeros(2, 3);
    MemorySegment d = t.data();
    d.setAtIndex(F, 4, 2.5f);
    d.setAtIndex(F, 0, -1f);
    assertEquals(2.5, t.select(0, 1).select(0, 1).item());
    assertArrayEquals(floats(-1, 0, 0, 0, 2.5, 0), t.toFloatArray());
    assertEquals(1.5, t.sum().item());
  }

  @Test
  void tensorWritesShowInData() {
    Tensor t = Torch.arange(0, 4, 1, DType.FLOAT64, Device.CPU);
    MemorySegment d = t.data();
    t.mul_(10.0);
    assertEquals(30.0, d.getAtIndex(ValueLayout.JAVA_DOUBLE, 3));
    t.fill_(7);
    assertEquals(7.0, d.getAtIndex(ValueLayout.JAVA_DOUBLE, 0));
  }

  @Test
  void dataOfAViewStartsAtTheViewsFirstElement() {
    Tensor base = Torch.arange(0, 12, 1, DType.FLOAT32, Device.CPU).view(3, 4);
    Tensor row = base.select(0, 1);
    MemorySegment d = row.data();
    assertEquals(4f, d.getAtIndex(F, 0));
    d.setAtIndex(F, 3, -7f);
    assertEquals(-7, base.select(0, 1).select(0, 3).item());
    assertEquals(base.data().address() + 16, d.address());
  }

  @Test
  void dataNeedsAContiguousTensor() {
    Tensor t = Torch.zeros(2, 3).transpose(0, 1);
    IllegalStateException e = assertThrows(IllegalStateException.class, t::data);
    assertTrue(e.getMessage().contains("contiguous"), e.getMessage());
  }

  @Test
  void dataBecomesUnusableWhenTheTensorIsClosed() {
    Tensor t = Torch.ones(4);
    MemorySegment first = t.data();
    MemorySegment second = t.data();
    assertEquals(1f, first.getAtIndex(F, 3));
    t.close();
    assertThrows(IllegalStateException.class, () -> first.getAtIndex(F, 0));
    assertThrows(IllegalStateException.class, () -> second.setAtIndex(F, 0, 1f));
    assertThrows(IllegalStateException.class, t::data);
  }

  @Test
  void dataBecomesUnusableWhenItsScopeCloses() {
    MemorySegment d;
    try (Scope s = Scope.open()) {
      d = Torch.ones(3).data();
      assertEquals(1f, d.getAtIndex(F, 2));
    }
    MemorySegment gone = d;
    assertThrows(IllegalStateException.class, () -> gone.getAtIndex(F, 0));
  }

  @Test
  void fromSegmentSeesJavaWritesAndJavaSeesTensorWrites() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment seg = arena.allocate(F, 6);
      Tensor t = Torch.fromSegment(seg, DType.FLOAT32, 2, 3);
      assertArrayEquals(new long[] {2, 3}, t.shape());
      assertEquals(seg.address(), t.data().address(), "no copy");
      assertEquals(0, t.sum().item());
      for (int i = 0; i < 6; i++) seg.setAtIndex(F, i, i + 1);
      assertArrayEquals(floats(1, 2, 3, 4, 5, 6), t.toFloatArray());
      assertEquals(21, t.sum().item());
      seg.setAtIndex(F, 5, 100f);
      assertEquals(100, t.select(0, 1).select(0, 2).item());
      t.mul_(2.0);
      assertEquals(200f, seg.getAtIndex(F, 5));
      assertEquals(2f, seg.getAtIndex(F, 0));
    }
  }

  @Test
  void fromSegmentWorksForOtherDtypes() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment longs = arena.allocateFrom(ValueLayout.JAVA_LONG, 5, -6, 7);
      Tensor l = Torch.fromSegment(longs, DType.INT64, 3);
      assertEquals(6, l.sum().itemLong());
      longs.setAtIndex(ValueLayout.JAVA_LONG, 1, 0);
      assertEquals(12, l.sum().itemLong());
      MemorySegment bytes = arena.allocate(4);
      Tensor b = Torch.fromSegment(bytes, DType.UINT8, 2, 2);
      bytes.set(ValueLayout.JAVA_BYTE, 3, (byte) 200);
      assertEquals(200, b.sum().itemLong());
      MemorySegment doubles = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, 0.5, 0.25);
      assertEquals(0.75, Torch.fromSegment(doubles, DType.FLOAT64, 2).sum().item());
      assertEquals(0, Torch.fromSegment(arena.allocate(0, 4), DType.FLOAT32, 0).numel());
    }
  }

  @Test
  void fromSegmentFailsOnceTheArenaIsClosed() {
    Arena arena = Arena.ofShared();
    MemorySegment seg = arena.allocateFrom(F, 1, 2, 3, 4);
    Tensor t = Torch.fromSegment(seg, DType.FLOAT32, 2, 2);
    Tensor view = t.view(4);
    Tensor transposed = t.transpose(0, 1);
    Tensor detached = t.detach();
    Tensor contiguous = t.contiguous();
    Tensor sameType = t.to(DType.FLOAT32);
    Tensor onCpu = t.cpu();
    Tensor viaEinsum = Torch.einsum("ij->ji", t);
    List<Tensor> chunks = t.chunk(2, 0);
    Tensor copy = t.clone();
    Tensor sum = t.add(t);
    assertEquals(10, viaEinsum.sum().item(), "views work while the arena is open");
    arena.close();
    List<Tensor> dead = List.of(t, view, transposed, detached, contiguous, sameType, onCpu, viaEinsum, chunks.get(0), chunks.get(1));
    for (Tensor d : dead) {
      assertFalse(d.isClosed());
      assertThrows(IllegalStateException.class, d::item);
      assertThrows(IllegalStateException.class, d::toFloatArray);
      assertThrows(IllegalStateException.class, d::sum);
      assertThrows(IllegalStateException.class, d::data);
      assertThrows(IllegalStateException.class, d::shape);
      assertThrows(IllegalStateException.class, () -> d.add(1.0));
      assertThrows(IllegalStateException.class, () -> copy.add(d), "as an argument too");
    }
    IllegalStateException e = assertThrows(IllegalStateException.class, t::sum);
    assertTrue(e.getMessage().contains("memory segment"), e.getMessage());
    assertEquals("Tensor[memory segment freed]", t.toString(), "printing a dead tensor does not throw");
    assertArrayEquals(floats(1, 2, 3, 4), copy.toFloatArray(), "copies made before stay valid");
    assertArrayEquals(floats(2, 4, 6, 8), sum.toFloatArray());
    t.close();
    view.close();
  }

  @Test
  void fromSegmentRejectsBadSegments() {
    Consumer<Runnable> iae = r -> assertThrows(IllegalArgumentException.class, r::run);
    IllegalArgumentException heap = assertThrows(IllegalArgumentException.class,
        () -> Torch.fromSegment(MemorySegment.ofArray(new float[4]), DType.FLOAT32, 4));
    assertTrue(heap.getMessage().contains("native"), heap.getMessage());
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment seg = arena.allocate(64, 16);
      IllegalArgumentException size = assertThrows(IllegalArgumentException.class,
          () -> Torch.fromSegment(seg, DType.FLOAT32, 3, 5));
      assertTrue(size.getMessage().contains("holds 15 elements but the segment has 16"), size.getMessage());
      iae.accept(() -> Torch.fromSegment(seg, DType.FLOAT64, 2, 2));
      iae.accept(() -> Torch.fromSegment(seg, DType.FLOAT32, 4, -4));
      IllegalArgumentException misaligned = assertThrows(IllegalArgumentException.class,
          () -> Torch.fromSegment(seg.asSlice(2, 16), DType.FLOAT32, 4));
      assertTrue(misaligned.getMessage().contains("not aligned"), misaligned.getMessage());
      iae.accept(() -> Torch.fromSegment(seg.asSlice(4, 16), DType.INT64, 2));
      IllegalArgumentException ragged = assertThrows(IllegalArgumentException.class,
          () -> Torch.fromSegment(seg.asSlice(0, 10), DType.FLOAT32, 2));
      assertTrue(ragged.getMessage().contains("not a multiple"), ragged.getMessage());
      assertEquals(4, Torch.fromSegment(seg.asSlice(2, 4), DType.UINT8, 4).numel(), "bytes need no alignment");
    }
    Arena closed = Arena.ofConfined();
    MemorySegment gone = closed.allocate(16, 4);
    closed.close();
    assertThrows(IllegalStateException.class, () -> Torch.fromSegment(gone, DType.FLOAT32, 4));
  }
}
