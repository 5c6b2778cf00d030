package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import io.github.ddpm4j.ffi.dd_cpu_cache_stats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/**
 * The caching allocator behind LibTorch's CPU tensors in this process.
 *
 * <p>glibc gives large freed blocks back to the kernel, so a loop that allocates
 * the same activations every step (training, sampling) touches fresh pages, and
 * takes a page fault per 4 KiB, on every step. When the shim loads it installs an
 * allocator that keeps freed blocks of at least {@link Stats#minBlock()} bytes
 * (32 KiB) mapped, up to {@link #limit()} idle bytes, least recently freed given
 * back first, and serves later requests of the same size (or up to 1/8 smaller)
 * from them, the smallest fitting size first and, among blocks of that size, the
 * most recently freed (its pages are the likeliest to be in the CPU's caches):
 * the CPU counterpart of PyTorch's CUDA caching allocator
 * ({@code torch.cuda.memory}). Smaller requests go to LibTorch's default
 * allocator unchanged. CUDA memory is not affected.
 *
 * <h2>What it keeps, and for how long</h2>
 * <ul>
 *   <li>At most {@link #limit()} idle bytes. The default is a quarter of the memory
 *       this process may use: the container's (cgroup v1 or v2) memory limit when
 *       one is set, else physical memory ({@link NativeMemory#processMemory()}). The
 *       system property {@value #LIMIT_PROPERTY} sets another when the library
 *       loads: a byte count with an optional binary suffix {@code k}, {@code m} or
 *       {@code g} ({@code 512m}); {@code 0} turns caching off.</li>
 *   <li>An idle block that has not been reused for {@link #maxIdle()} (default 5
 *       seconds) goes back to the system, so a process that stops training or
 *       sampling (or drops its tensors to the garbage collector) returns its memory
 *       within seconds. A daemon thread, {@code ddpm4j-cpu-cache-trim}, checks twice
 *       per period. The system property {@value #MAX_IDLE_PROPERTY} sets another
 *       period when the library loads ({@code 500ms}, {@code 10s}, {@code 2m}; a bare
 *       number is milliseconds); {@code 0} keeps idle blocks until the limit or
 *       {@link #emptyCache()} evicts them.</li>
 * </ul>
 *
 * <p>Thread-safe: every method may be called from any thread at any time.
 */
public final class CpuCache {
  /** The system property for the limit, read when the library loads. */
  public static final String LIMIT_PROPERTY = "ddpm4j.cpuCacheLimit";
  /** The system property for the idle period, read when the library loads. */
  public static final String MAX_IDLE_PROPERTY = "ddpm4j.cpuCacheMaxIdle";
  /** How long an idle block is kept without reuse, unless {@value #MAX_IDLE_PROPERTY} says otherwise. */
  public static final Duration DEFAULT_MAX_IDLE = Duration.ofSeconds(5);

  private static volatile long maxIdleNanos = DEFAULT_MAX_IDLE.toNanos();
  private static Thread trimmer;

  // After the fields above: loading the library configures them.
  static {
    NativeLibrary.load();
  }

  private CpuCache() {}

  /**
   * A snapshot of the cache's counters. Sizes are in bytes; the counters run from process start.
   *
   * @param limit most idle bytes kept ({@code 0}: caching off)
   * @param minBlock smallest request, in bytes, that goes through the cache
   * @param cachedBytes idle bytes held for reuse
   * @param cachedBlocks idle blocks held for reuse
   * @param allocatedBytes bytes of live tensors' blocks handed out through the cache
   * @param hits requests served by an idle block
   * @param misses requests that allocated from the system
   * @param evictions idle blocks given back to the system (over the limit, or {@link #emptyCache()})
   */
  public record Stats(long limit, long minBlock, long cachedBytes, long cachedBlocks, long allocatedBytes,
      long hits, long misses, long evictions) {}

  /** @return the current counters */
  public static Stats stats() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment s = a.allocate(dd_cpu_cache_stats.layout());
      dd_cpu_cache_stats_get(s);
      return new Stats(dd_cpu_cache_stats.limit(s), dd_cpu_cache_stats.min_block(s),
          dd_cpu_cache_stats.cached_bytes(s), dd_cpu_cache_stats.cached_blocks(s),
          dd_cpu_cache_stats.allocated_bytes(s), dd_cpu_cache_stats.hits(s), dd_cpu_cache_stats.misses(s),
          dd_cpu_cache_stats.evictions(s));
    }
  }

  /** @return the most idle bytes the cache keeps; {@code 0} when caching is off */
  public static long limit() {
    return stats().limit();
  }

  /**
   * Sets the most idle bytes the cache keeps, giving back least recently freed
   * blocks until the idle bytes fit. Live tensors are never affected.
   *
   * @param bytes the limit in bytes; {@code 0} turns caching off and empties the cache
   * @throws IllegalArgumentException if {@code bytes < 0}
   */
  public static void setLimit(long bytes) {
    if (bytes < 0) throw new IllegalArgumentException("CPU cache limit must be >= 0 bytes, got " + bytes);
    Native n = Native.get();
    dd_cpu_cache_set_limit(n.ctx, bytes);
    n.check();
  }

  /**
   * Gives every idle block back to the system, as {@code torch.cuda.empty_cache()}
   * does for CUDA memory; the limit stays as it is.
   */
  public static void emptyCache() {
    dd_cpu_cache_empty();
  }

  /**
   * Gives back the idle blocks that have not been reused for at least {@code idle}.
   *
   * @param idle how long a block must have been idle; zero or negative gives back every idle block
   * @return the bytes given back
   */
  public static long releaseIdle(Duration idle) {
    return dd_cpu_cache_release_idle(idle.isNegative() ? 0 : saturatedNanos(idle));
  }

  /** @return how long an idle block is kept without reuse; {@link Duration#ZERO} when kept until evicted */
  public static Duration maxIdle() {
    return Duration.ofNanos(maxIdleNanos);
  }

  /**
   * Sets how long an idle block is kept without reuse before it goes back to the system.
   *
   * @param idle the period; {@link Duration#ZERO} keeps idle blocks until the limit or
   *     {@link #emptyCache()} evicts them
   * @throws IllegalArgumentException if {@code idle} is negative
   */
  public static void setMaxIdle(Duration idle) {
    if (idle.isNegative()) throw new IllegalArgumentException("idle period must be >= 0, got " + idle);
    maxIdleNanos = saturatedNanos(idle);
    Thread t = trimmer;
    if (t != null) LockSupport.unpark(t);
  }

  private static long saturatedNanos(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /**
   * Parses a duration such as {@code 500ms}, {@code 5s} or {@code 2m}; a bare number is milliseconds.
   *
   * @param text the duration
   * @return the duration
   * @throws IllegalArgumentException if {@code text} is not such a duration, or is negative
   */
  public static Duration parseDuration(String text) {
    return LibraryProperties.parseDuration(text);
  }

  /**
   * Parses a size such as {@code 1073741824}, {@code 512m} or {@code 2G} (binary
   * suffixes {@code k}, {@code m}, {@code g}, either case).
   *
   * @param text the size
   * @return the size in bytes
   * @throws IllegalArgumentException if {@code text} is not such a size, is negative, or overflows a long
   */
  public static long parseSize(String text) {
    return LibraryProperties.parseSize(text);
  }

  /**
   * Applies the properties, then starts the thread that gives back idle blocks; called
   * once, when the library loads.
   *
   * @throws IllegalArgumentException if a property is malformed
   */
  static void configure() {
    Thread t = new Thread(CpuCache::trimLoop, "ddpm4j-cpu-cache-trim");
    t.setDaemon(true);
    trimmer = t;
    t.start();
    applyProperties();
  }

  /**
   * Sets the limit from {@link #LIMIT_PROPERTY}, or a quarter of the memory this process
   * may use, and the idle period from {@link #MAX_IDLE_PROPERTY}, or its default. A
   * malformed property changes nothing.
   *
   * @throws IllegalArgumentException if a property is malformed
   */
  static void applyProperties() {
    long bytes = LibraryProperties.size(LIMIT_PROPERTY);
    Duration idle = LibraryProperties.duration(MAX_IDLE_PROPERTY);
    setLimit(bytes >= 0 ? bytes : NativeMemory.processMemory() / 4);
    setMaxIdle(idle != null ? idle : DEFAULT_MAX_IDLE);
  }

  /** Gives back blocks idle for longer than the period, checking twice per period (at most every 50 ms). */
  private static void trimLoop() {
    while (true) {
      long idle = maxIdleNanos;
      LockSupport.parkNanos(idle <= 0 ? 1_000_000_000L : Math.max(50_000_000L, idle / 2));
      idle = maxIdleNanos;
      if (idle > 0) dd_cpu_cache_release_idle(idle);
    }
  }
}
