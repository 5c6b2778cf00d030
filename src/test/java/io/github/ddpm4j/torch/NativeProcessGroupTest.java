package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;
import static org.junit.jupiter.api.Assertions.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link NativeProcessGroup} and the shim's {@code dd_dist_*} functions in one process (a group of one;
 * groups of several ranks are tested in {@code io.github.ddpm4j.distributed}): every reduction of
 * {@code dd_dist_reduce_op}, the backends of {@code dd_dist_backend}, codes outside the enums, NULL
 * arguments, and the live-handle count.
 */
class NativeProcessGroupTest extends TorchTestBase {
  @TempDir Path dir;

  private NativeProcessGroup alone() {
    return NativeProcessGroup.file(NativeProcessGroup.Backend.GLOO, dir.resolve("store").toString(),
        new NativeProcessGroup.Rendezvous(0, 1, 10_000, false, 0));
  }

  private static void assertFails(Native n, String part) {
    TorchException e = assertThrows(TorchException.class, n::check);
    assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
  }

  @Test
  void everyReductionOfAGroupOfOneKeepsTheValues() {
    long before = Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP);
    try (NativeProcessGroup g = alone()) {
      assertEquals(before + 1, Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP));
      Tensor t = Torch.tensor(new double[] {-1, 2.5}, 2);
      for (NativeProcessGroup.Op op : NativeProcessGroup.Op.values()) {
        g.allReduce(List.of(t), op, 1 << 20);
        assertArrayEquals(new double[] {-1, 2.5}, t.toDoubleArray(), op.name());
      }
      g.broadcast(List.of(t), 0, 1 << 20);
      g.barrier();
      assertArrayEquals(new double[] {7}, g.allGather(7, 1));
      assertEquals(-1, g.lostRank());
    }
    assertEquals(before, Torch.liveHandles(Torch.HandleKind.PROCESS_GROUP));
  }

  @Test
  void codesOutsideTheEnumsAndBadArgumentsAreRefused() {
    Native n = Native.get();
    try (Arena a = Arena.ofConfined(); NativeProcessGroup g = alone()) {
      MemorySegment reason = a.allocate(256);
      assertEquals(0, dd_dist_backend_available(1000, reason, reason.byteSize()));
      assertEquals("unknown distributed backend code 1000", reason.getString(0, StandardCharsets.UTF_8));
      MemorySegment path = a.allocateFrom(dir.resolve("other").toString());
      assertEquals(MemorySegment.NULL, dd_dist_group_file(n.ctx, 1000, path, 0, 1, 1000, 0, 0));
      assertFails(n, "unknown distributed backend code 1000");
      dd_dist_group_file(n.ctx, DD_DIST_GLOO(), path, 1, 1, 1000, 0, 0);
      assertFails(n, "rank must be in [0, 1), got 1");
      dd_dist_group_file(n.ctx, DD_DIST_GLOO(), path, 0, 1, 0, 0, 0);
      assertFails(n, "timeout must be > 0 ms, got 0");
      dd_dist_group_tcp(n.ctx, DD_DIST_GLOO(), a.allocateFrom("127.0.0.1"), 70000, 0, 1, 1000, 0, 0, 0, 0);
      assertFails(n, "master port must be in [1, 65535], got 70000");

      Tensor t = Torch.ones(2);
      MemorySegment list = n.handles(List.of(t));
      dd_dist_all_reduce(n.ctx, g.handle(), list, 1, 1000, 1 << 20);
      assertFails(n, "unknown reduce op code 1000");
      dd_dist_all_reduce(n.ctx, g.handle(), list, 1, DD_DIST_SUM(), 0);
      assertFails(n, "bucket_bytes must be > 0, got 0");
      dd_dist_all_reduce(n.ctx, MemorySegment.NULL, list, 1, DD_DIST_SUM(), 1 << 20);
      assertFails(n, "process group argument 'group' is NULL");
      dd_dist_broadcast(n.ctx, g.handle(), list, 1, 1, 1 << 20);
      assertFails(n, "src must be a rank in [0, 1), got 1");
      MemorySegment out = a.allocate(ValueLayout.JAVA_DOUBLE, 1);
      dd_dist_all_gather_double(n.ctx, g.handle(), 1, out, 0);
      assertFails(n, "output array holds 0 values, the world size is 1");
      dd_dist_barrier(n.ctx, MemorySegment.NULL);
      assertFails(n, "process group argument 'group' is NULL");
      assertEquals(-1, dd_dist_group_lost_rank(MemorySegment.NULL));
      dd_dist_group_free(MemorySegment.NULL);
      g.barrier(); // still usable after the refusals
    }
  }

  @Test
  void theBackendsSayWhetherTheyCanRun() {
    assertNull(NativeProcessGroup.unavailableReason(NativeProcessGroup.Backend.GLOO), "this build has Gloo");
    String nccl = NativeProcessGroup.unavailableReason(NativeProcessGroup.Backend.NCCL);
    if (Torch.build().cuda()) {
      assertTrue(nccl == null || nccl.contains("CUDA device"), String.valueOf(nccl));
    } else {
      assertTrue(nccl.contains("needs a LibTorch built with CUDA and NCCL"), nccl);
    }
  }

  @Test
  void aClosedGroupIsRefused() {
    NativeProcessGroup g = alone();
    g.close();
    g.close();
    assertThrows(IllegalStateException.class, g::barrier);
    assertEquals(-1, g.lostRank());
  }
}
