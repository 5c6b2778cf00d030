package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import io.github.ddpm4j.ffi.dd_cpu_cache_stats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Locale;

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
 * <p>The default limit is a quarter of physical memory. The system property
 * {@code ddpm4j.cpuCacheLimit} sets another when the library loads: a byte count
 * with an optional binary suffix {@code k}, {@code m} or {@code g}
 * ({@code 512m}); {@code 0} turns caching off.
 *
 * <p>Thread-safe: every method may be called from any thread at any time.
 */
public final class CpuCache {
  static {
    NativeLibrary.load();
  }

  /** The system property read when the library loads. */
  public static final String LIMIT_PROPERTY = "ddpm4j.cpuCacheLimit";

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
    MemorySegment ctx = Native.ctx();
    dd_cpu_cache_set_limit(ctx, bytes);
    Native.check(ctx);
  }

  /**
   * Gives every idle block back to the system, as {@code torch.cuda.empty_cache()}
   * does for CUDA memory; the limit stays as it is.
   */
  public static void emptyCache() {
    dd_cpu_cache_empty();
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
    String s = text.strip().toLowerCase(Locale.ROOT);
    int shift = 0;
    if (!s.isEmpty()) {
      switch (s.charAt(s.length() - 1)) {
        case 'k' -> shift = 10;
        case 'm' -> shift = 20;
        case 'g' -> shift = 30;
        default -> { }
      }
    }
    String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
    long value;
    try {
      value = Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a size in bytes (e.g. 1073741824, 512m, 2g): '" + text + "'");
    }
    if (value < 0) throw new IllegalArgumentException("size must be >= 0, got '" + text + "'");
    if (value > (Long.MAX_VALUE >> shift)) throw new IllegalArgumentException("size overflows: '" + text + "'");
    return value << shift;
  }

  /** Applies {@link #LIMIT_PROPERTY} if it is set; called once, when the library loads. */
  static void applyProperty() {
    String value = System.getProperty(LIMIT_PROPERTY);
    if (value == null || value.isBlank()) return;
    long bytes;
    try {
      bytes = parseSize(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("system property " + LIMIT_PROPERTY + ": " + e.getMessage(), e);
    }
    setLimit(bytes);
  }
}
