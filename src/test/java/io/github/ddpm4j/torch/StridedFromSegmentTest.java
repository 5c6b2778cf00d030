package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** {@link Torch#fromSegment(MemorySegment, DType, long[], long[])}: as_strided over Java memory. */
class StridedFromSegmentTest {
  @Test
  void stridedViewReadsTheAddressedElementsWithoutCopying() {
    try (Arena arena = Arena.ofConfined(); Scope s = Scope.open()) {
      MemorySegment seg = arena.allocateFrom(ValueLayout.JAVA_FLOAT, 0, 1, 2, 3, 4, 5);
      Tensor t = Torch.fromSegment(seg, DType.FLOAT32, new long[] {3, 2}, new long[] {1, 3}); // the transpose of [[0,1,2],[3,4,5]]
      assertArrayEquals(new long[] {1, 3}, t.stride());
      assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.contiguous().toFloatArray());
      seg.setAtIndex(ValueLayout.JAVA_FLOAT, 4, 40f);
      assertEquals(40f, t.contiguous().toFloatArray()[3]);
      Tensor scalar = Torch.fromSegment(seg.asSlice(8), DType.FLOAT32, new long[0], new long[0]);
      assertEquals(2.0, scalar.item());
      Tensor empty = Torch.fromSegment(seg.asSlice(0, 0), DType.FLOAT32, new long[] {0, 7}, new long[] {7, 1});
      assertEquals(0, empty.numel());
    }
  }

  @Test
  void addressesOutsideTheSegmentAreRefused() {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment seg = arena.allocate(24, 8);
      assertThrows(IllegalArgumentException.class, () -> Torch.fromSegment(seg, DType.FLOAT32, new long[] {3, 2}, new long[] {3, 1}));
      assertThrows(IllegalArgumentException.class, () -> Torch.fromSegment(seg, DType.FLOAT32, new long[] {2}, new long[] {-1}));
      assertThrows(IllegalArgumentException.class, () -> Torch.fromSegment(seg, DType.FLOAT32, new long[] {-2}, new long[] {1}));
      assertThrows(IllegalArgumentException.class, () -> Torch.fromSegment(seg, DType.FLOAT32, new long[] {2}, new long[] {1, 1}));
      IllegalArgumentException overflow = assertThrows(IllegalArgumentException.class,
          () -> Torch.fromSegment(seg, DType.FLOAT32, new long[] {1L << 40, 1L << 40}, new long[] {1L << 30, 1L << 30}));
      assertTrue(overflow.getMessage().contains("overflow"));
      assertThrows(IllegalArgumentException.class, () -> Torch.fromSegment(seg.asSlice(1), DType.FLOAT32, new long[] {1}, new long[] {1}));
      assertThrows(IllegalArgumentException.class,
          () -> Torch.fromSegment(MemorySegment.ofArray(new float[4]), DType.FLOAT32, new long[] {4}, new long[] {1}));
    }
    MemorySegment freed;
    try (Arena arena = Arena.ofConfined()) {
      freed = arena.allocate(16, 8);
    }
    assertThrows(IllegalStateException.class, () -> Torch.fromSegment(freed, DType.FLOAT32, new long[] {1}, new long[] {1}));
  }
}
