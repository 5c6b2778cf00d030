package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The bound on native memory kept alive by tensors left to the garbage collector, and
 * the limits derived from the memory the process may use (cgroup-aware).
 */
class NativeMemoryTest extends TorchTestBase {
  private static final long MIB = 1L << 20;

  /**
   * 100,000 ops on 256 KiB tensors, none scoped or closed, under a 64 MiB Java heap that
   * never fills up: before the bound, every result stayed alive until the heap filled
   * (7 GB of RSS after 26,000 such ops). Now the counted bytes, the live handles and the
   * resident memory stay within the 256 MiB limit plus small margins.
   */
  @Test
  void unscopedOpsStayUnderTheLimit() throws Exception {
    ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-Xmx64m", "-D" + NativeMemory.UNSCOPED_LIMIT_PROPERTY + "=256m"),
        UnscopedOps.class, "100000");
    assertEquals(0, r.code(), r.output());
    long limit = ChildJvm.value(r, "limit");
    assertEquals(256 * MIB, limit);
    long tensor = 256 * 1024;
    assertTrue(ChildJvm.value(r, "peakBytes") <= limit + tensor, r.output());
    assertTrue(ChildJvm.value(r, "peakHandles") <= limit / tensor + 16, r.output());
    long grown = ChildJvm.value(r, "peakRss") - ChildJvm.value(r, "rssStart");
    assertTrue(grown <= limit + 128 * MIB, "resident memory grew by " + grown / MIB + " MiB:\n" + r.output());
    assertTrue(ChildJvm.value(r, "collections") > 0, r.output());
    System.out.println("unscoped ops: " + r.output().replace('\n', ' '));
  }

  @Test
  void limitsFollowTheMemoryTheProcessMayUse() throws Exception {
    ChildJvm.Result r = ChildJvm.run(List.of(), List.of(), MemoryLimits.class);
    assertEquals(0, r.code(), r.output());
    long memory = ChildJvm.value(r, "processMemory");
    assertEquals(physicalMemory(), memory, "without a cgroup limit: the machine's memory");
    assertEquals(memory / 4, ChildJvm.value(r, "cpuCacheLimit"));
    assertEquals(Math.max(64 * MIB, memory / 8), ChildJvm.value(r, "unscopedLimit"));
    assertEquals(5000, ChildJvm.value(r, "maxIdleMillis"));
  }

  /** A container's memory limit, not the machine's, sizes the CPU cache and the unscoped bound. */
  @Test
  void limitsFollowTheCgroupMemoryLimit() throws Exception {
    Path cgroup = MemoryCgroup.create(2048 * MIB);
    assumeTrue(cgroup != null, "cannot create a memory cgroup here (needs root and a writable cgroup v1 or v2 memory controller)");
    try {
      ChildJvm.Result r = ChildJvm.run(MemoryCgroup.join(cgroup), List.of(), MemoryLimits.class);
      assertEquals(0, r.code(), r.output());
      assertEquals(2048 * MIB, ChildJvm.value(r, "processMemory"));
      assertEquals(512 * MIB, ChildJvm.value(r, "cpuCacheLimit"));
      assertEquals(256 * MIB, ChildJvm.value(r, "unscopedLimit"));
    } finally {
      MemoryCgroup.remove(cgroup);
    }
  }

  @Test
  void propertiesOverrideTheDefaultsAndBadValuesNameTheProperty() throws Exception {
    ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-D" + NativeMemory.UNSCOPED_LIMIT_PROPERTY + "=1g",
        "-D" + CpuCache.LIMIT_PROPERTY + "=300m", "-D" + CpuCache.MAX_IDLE_PROPERTY + "=750ms"), MemoryLimits.class);
    assertEquals(0, r.code(), r.output());
    assertEquals(1024 * MIB, ChildJvm.value(r, "unscopedLimit"));
    assertEquals(300 * MIB, ChildJvm.value(r, "cpuCacheLimit"));
    assertEquals(750, ChildJvm.value(r, "maxIdleMillis"));
    r = ChildJvm.run(List.of(), List.of("-D" + NativeMemory.UNSCOPED_LIMIT_PROPERTY + "=plenty"), MemoryLimits.class);
    assertTrue(r.code() != 0 && r.output().contains(NativeMemory.UNSCOPED_LIMIT_PROPERTY) && r.output().contains("plenty"), r.output());
  }

  /**
   * The trigger that a collection sets from the count it leaves (twice that count) falls back to
   * the limit once the count drops below half of it, as it does when the Cleaner frees the rest of that collection's
   * garbage after the wait. Counted in tebibytes, so that real tensors freed meanwhile by other
   * tests' garbage do not matter.
   */
  @Test
  void theTriggerFollowsTheCountDownAfterACollection() {
    long tib = 1L << 40;
    long saved = NativeMemory.unscopedLimit();
    try {
      NativeMemory.setUnscopedLimit(tib);
      NativeMemory.reserve(tib + tib / 2); // above the limit: collects, and nothing of it is garbage
      assertTrue(NativeMemory.trigger() >= 3 * tib - tib / 8, "twice what stayed: " + NativeMemory.trigger());
      NativeMemory.release(tib + tib / 4);
      assertEquals(tib, NativeMemory.trigger(), "below half the trigger, the limit applies again");
      NativeMemory.release(tib / 4);
    } finally {
      NativeMemory.setUnscopedLimit(saved);
    }
  }

  @Test
  void setUnscopedLimitRejectsNegativeBytes() {
    long before = NativeMemory.unscopedLimit();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> NativeMemory.setUnscopedLimit(-5));
    assertTrue(e.getMessage().contains("-5"), e.getMessage());
    assertEquals(before, NativeMemory.unscopedLimit());
  }

  /** Scoped tensors are freed by their scope and cost nothing in the count; unscoped ones count until freed. */
  @Test
  void onlyUnscopedTensorsAreCounted() {
    long before = NativeMemory.unscopedBytes();
    Tensor scoped = Torch.zeros(1024, 256); // 1 MiB, owned by the test's scope
    assertEquals(before, NativeMemory.unscopedBytes());
    Tensor kept = Scope.release(Torch.zeros(1024, 256));
    assertEquals(before + MIB, NativeMemory.unscopedBytes());
    kept.close();
    assertEquals(before, NativeMemory.unscopedBytes());
    scoped.close();
  }

  private static long physicalMemory() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
      if (line.startsWith("MemTotal:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
    throw new AssertionError("no MemTotal in /proc/meminfo");
  }
}
