package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The caching CPU allocator: blocks of freed tensors come back for the same
 * size, the limit and emptyCache give memory back, and small tensors bypass it.
 * Sizes are odd multiples of pages so that other tests' tensors, freed by the
 * GC backstop meanwhile, cannot be handed out instead.
 */
class CpuCacheTest extends TorchTestBase {
  private static final long MIB = 1 << 20;
  private long savedLimit;
  private java.time.Duration savedMaxIdle;

  @BeforeEach
  void saveLimit() {
    savedLimit = CpuCache.limit();
    savedMaxIdle = CpuCache.maxIdle();
    CpuCache.setLimit(1L << 30);
    CpuCache.setMaxIdle(java.time.Duration.ZERO); // no block leaves by age unless a test asks for it
  }

  @AfterEach
  void restoreLimit() {
    CpuCache.setLimit(savedLimit);
    CpuCache.setMaxIdle(savedMaxIdle);
  }

  /** A float32 tensor of exactly {@code bytes} bytes (a multiple of 4). */
  private static Tensor block(long bytes) {
    return Torch.empty(new long[] {bytes / 4}, DType.FLOAT32, Device.CPU);
  }

  private static long address(Tensor t) {
    return t.data().address();
  }

  /** Allocates a block of {@code bytes}, frees it, and returns its address. */
  private static long allocateAndFree(long bytes) {
    Tensor t = block(bytes);
    long at = address(t);
    t.close();
    return at;
  }

  /**
   * Blocks the cache gives back leave the process's resident memory. They used to go to glibc's free(), which
   * kept them: once a freed mmap-served block raises glibc's dynamic mmap threshold (here 16 MiB), malloc serves
   * the blocks below it from its heaps, and live small allocations between them keep those pages resident
   * after free. A server under load grew by 500 MB of such memory with the cache empty (bench/load, README).
   */
  @Test
  void releasedBlocksLeaveTheResidentMemory() throws java.io.IOException {
    allocateAndFree(16 * MIB);
    CpuCache.releaseIdle(java.time.Duration.ZERO);
    java.util.List<Tensor> blocks = new java.util.ArrayList<>();
    for (int i = 0; i < 64; i++) {
      blocks.add(Torch.ones(MIB));      // 4 MiB, written: resident
      Torch.ones(16);                   // 64 bytes from malloc, between the blocks, alive until the test ends
    }
    long resident = UnscopedOps.rss();
    blocks.forEach(Tensor::close);
    long released = CpuCache.releaseIdle(java.time.Duration.ZERO);
    long after = UnscopedOps.rss();
    System.out.printf("RSS %d MiB with 256 MiB of blocks, %d MiB once the cache gave %d MiB back%n", resident / MIB, after / MIB, released / MIB);
    assertTrue(released >= 256 * MIB, "the cache gave back " + released);
    assertTrue(resident - after >= 192 * MIB, "RSS fell by " + (resident - after) / MIB + " MiB, not by the 256 MiB given back");
  }

  @Test
  void freedBlockServesTheNextRequestOfTheSameSize() {
    long bytes = 3 * MIB + 7 * 4096;
    long first = allocateAndFree(bytes);
    CpuCache.Stats before = CpuCache.stats();
    assertTrue(before.cachedBytes() >= bytes, "the freed block is kept: " + before);
    Tensor b = block(bytes);
    assertEquals(first, address(b), "the same block is handed out again");
    CpuCache.Stats after = CpuCache.stats();
    assertEquals(before.hits() + 1, after.hits());
    assertEquals(before.cachedBytes() - bytes, after.cachedBytes());
    assertTrue(after.allocatedBytes() >= bytes);
  }

  @Test
  void amongBlocksOfOneSizeTheMostRecentlyFreedComesBackFirst() {
    long bytes = 3 * MIB + 11 * 4096;
    Tensor older = block(bytes);
    Tensor newer = block(bytes);
    long olderAt = address(older);
    long newerAt = address(newer);
    older.close();
    newer.close();
    Tensor first = block(bytes);
    Tensor second = block(bytes);
    assertEquals(newerAt, address(first), "the block freed last is handed out first");
    assertEquals(olderAt, address(second), "then the one freed before it");
  }

  @Test
  void aSlightlySmallerRequestReusesTheBlockButAHalfSizeOneDoesNot() {
    long bytes = 5 * MIB + 3 * 4096;
    long first = allocateAndFree(bytes);
    Tensor smaller = block(bytes - bytes / 16); // within 1/8
    assertEquals(first, address(smaller));
    smaller.close();
    Tensor half = block(bytes / 2 + 4096 * 5);
    assertNotEquals(first, address(half), "a block more than 1/8 larger than the request is not used");
  }

  @Test
  void reusedBlockHoldsWhatTheNewTensorWrites() {
    long n = (2 * MIB + 4096 * 9) / 4;
    Tensor a = Torch.full(new long[] {n}, 7.0, DType.FLOAT32, Device.CPU);
    a.close();
    Tensor z = Torch.zeros(new long[] {n}, DType.FLOAT32, Device.CPU);
    assertEquals(0.0, z.sum().item(), 0.0, "zeros() on a recycled block is all zeros");
    Tensor r = Torch.arange(0, n, 1, DType.FLOAT32, Device.CPU);
    assertArrayEquals(new float[] {0f, 1f, 2f}, r.slice(0, 0, 3, 1).toFloatArray());
  }

  @Test
  void limitZeroTurnsCachingOffAndEmptiesTheCache() {
    Tensor a = block(4 * MIB + 4096 * 11);
    a.close();
    assertTrue(CpuCache.stats().cachedBytes() > 0);
    CpuCache.setLimit(0);
    assertEquals(0, CpuCache.limit());
    assertEquals(0, CpuCache.stats().cachedBytes());
    long evictions = CpuCache.stats().evictions();
    block(4 * MIB + 4096 * 11).close();
    CpuCache.Stats s = CpuCache.stats();
    assertEquals(0, s.cachedBytes(), "nothing is kept with limit 0");
    assertEquals(evictions + 1, s.evictions());
  }

  @Test
  void limitEvictsLeastRecentlyFreedBlocksFirst() {
    CpuCache.emptyCache();
    long bytes = MIB + 4096 * 13;
    CpuCache.setLimit(3 * bytes);
    Tensor[] ts = new Tensor[4];
    long[] addresses = new long[4];
    for (int i = 0; i < 4; i++) {
      ts[i] = block(bytes);
      addresses[i] = address(ts[i]);
    }
    for (Tensor t : ts) t.close();
    CpuCache.Stats s = CpuCache.stats();
    assertTrue(s.cachedBytes() <= 3 * bytes, "idle bytes stay within the limit: " + s);
    // the first block freed was given back; the three freed after it serve the next three requests
    java.util.Set<Long> kept = java.util.Set.of(addresses[1], addresses[2], addresses[3]);
    java.util.Set<Long> got = new java.util.HashSet<>();
    for (int i = 0; i < 3; i++) got.add(address(block(bytes)));
    assertEquals(kept, got);
    assertEquals(s.hits() + 3, CpuCache.stats().hits());
  }

  @Test
  void emptyCacheGivesEveryIdleBlockBack() {
    block(2 * MIB + 4096 * 17).close();
    assertTrue(CpuCache.stats().cachedBlocks() > 0);
    long evictions = CpuCache.stats().evictions();
    CpuCache.emptyCache();
    CpuCache.Stats s = CpuCache.stats();
    assertEquals(0, s.cachedBytes());
    assertEquals(0, s.cachedBlocks());
    assertTrue(s.evictions() > evictions);
    assertEquals(1L << 30, s.limit(), "emptyCache keeps the limit");
  }

  @Test
  void smallTensorsBypassTheCache() {
    long minBlock = CpuCache.stats().minBlock();
    assertEquals(32 * 1024, minBlock);
    CpuCache.Stats before = CpuCache.stats();
    Tensor small = block(minBlock - 4096);
    CpuCache.Stats during = CpuCache.stats();
    assertEquals(before.allocatedBytes(), during.allocatedBytes());
    assertEquals(before.misses(), during.misses());
    small.close();
  }

  @Test
  void negativeLimitIsRejectedAndChangesNothing() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CpuCache.setLimit(-1));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
    assertEquals(1L << 30, CpuCache.limit());
  }

  @Test
  void parseSizeReadsBytesAndBinarySuffixes() {
    assertEquals(1073741824L, CpuCache.parseSize("1073741824"));
    assertEquals(512L * 1024 * 1024, CpuCache.parseSize("512m"));
    assertEquals(2L * 1024 * 1024 * 1024, CpuCache.parseSize(" 2G "));
    assertEquals(64L * 1024, CpuCache.parseSize("64k"));
    assertEquals(0L, CpuCache.parseSize("0"));
    for (String bad : new String[] {"", "m", "12x", "1.5g", "-1", "-2m", "9999999999999g", "99999999999999999999"}) {
      assertThrows(IllegalArgumentException.class, () -> CpuCache.parseSize(bad), bad);
    }
  }

  @Test
  void systemPropertySetsTheLimitAndABadValueNamesTheProperty() {
    try {
      System.setProperty(CpuCache.LIMIT_PROPERTY, "256m");
      CpuCache.applyProperties();
      assertEquals(256L << 20, CpuCache.limit());
      System.setProperty(CpuCache.LIMIT_PROPERTY, "lots");
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, CpuCache::applyProperties);
      assertTrue(e.getMessage().contains(CpuCache.LIMIT_PROPERTY) && e.getMessage().contains("lots"), e.getMessage());
      assertEquals(256L << 20, CpuCache.limit(), "a bad value changes nothing");
    } finally {
      System.clearProperty(CpuCache.LIMIT_PROPERTY);
    }
  }

  /** Blocks not reused for the idle period go back to the system, without any call from the user. */
  @Test
  void idleBlocksGoBackAfterTheIdlePeriod() throws InterruptedException {
    long bytes = 5 * MIB + 3 * 4096;
    allocateAndFree(bytes);
    CpuCache.Stats kept = CpuCache.stats();
    assertTrue(kept.cachedBytes() >= bytes, kept.toString());
    CpuCache.setMaxIdle(java.time.Duration.ofMillis(200));
    long deadline = System.nanoTime() + 5_000_000_000L;
    CpuCache.Stats now = CpuCache.stats();
    while (now.cachedBytes() >= bytes && System.nanoTime() < deadline) {
      Thread.sleep(50);
      now = CpuCache.stats();
    }
    assertTrue(now.cachedBytes() < bytes, "the idle block was given back: " + now);
    assertTrue(now.evictions() > kept.evictions(), now.toString());
  }

  /** releaseIdle gives back the blocks idle for the period and keeps those freed since. */
  @Test
  void releaseIdleKeepsRecentlyFreedBlocks() throws InterruptedException {
    long old = 7 * MIB + 5 * 4096, recent = 9 * MIB + 11 * 4096;
    allocateAndFree(old);
    Thread.sleep(300);
    allocateAndFree(recent);
    long released = CpuCache.releaseIdle(java.time.Duration.ofMillis(200));
    assertTrue(released >= old, "released " + released);
    CpuCache.Stats before = CpuCache.stats();
    Tensor r = block(recent);
    CpuCache.Stats afterRecent = CpuCache.stats();
    assertEquals(before.hits() + 1, afterRecent.hits(), "the recent block was kept and served again");
    Tensor o = block(old);
    assertEquals(afterRecent.misses() + 1, CpuCache.stats().misses(), "the old block was given back");
    r.close();
    o.close();
    assertTrue(CpuCache.releaseIdle(java.time.Duration.ZERO) >= old + recent, "zero releases every idle block");
  }

  @Test
  void idlePeriodsParseAndRejectNonsense() {
    assertEquals(java.time.Duration.ofMillis(500), CpuCache.parseDuration("500ms"));
    assertEquals(java.time.Duration.ofSeconds(5), CpuCache.parseDuration(" 5s "));
    assertEquals(java.time.Duration.ofMinutes(2), CpuCache.parseDuration("2M"));
    assertEquals(java.time.Duration.ofMillis(250), CpuCache.parseDuration("250"));
    for (String bad : new String[] {"", "s", "1.5s", "-1s", "5h", "soon"}) {
      assertThrows(IllegalArgumentException.class, () -> CpuCache.parseDuration(bad), bad);
    }
    assertThrows(IllegalArgumentException.class, () -> CpuCache.setMaxIdle(java.time.Duration.ofMillis(-1)));
  }
}
