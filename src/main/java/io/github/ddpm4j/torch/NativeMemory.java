package io.github.ddpm4j.torch;

import java.lang.management.ManagementFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bounds the native memory that tensors left to the garbage collector keep alive.
 *
 * <p>A {@link Tensor} that no {@link Scope} owns is freed by its owner's
 * {@code close()} or, as a backstop, after it becomes unreachable. The Java heap
 * never sees the LibTorch memory behind such a tensor: a loop that drops
 * unscoped results would fill native memory long before the (small) Java
 * objects fill the heap and start a collection. So ddpm4j counts the storage
 * bytes of every unscoped tensor while it is alive (a view counts its whole base
 * storage again: the count errs high). When the count passes
 * {@link #unscopedLimit()}, the allocating thread runs a garbage collection and
 * waits for the {@link java.lang.ref.Cleaner} to free what became unreachable (a few
 * milliseconds; at most half a second per collection, and two collections when the
 * first leaves the count above the limit), before it goes on; this is how JavaCPP bounds its
 * physical bytes and how the JDK bounds direct buffers. Tensors over Java-owned
 * memory ({@link Torch#fromSegment}) hold no LibTorch memory and are not counted.
 *
 * <p>The guarantee: the counted bytes stay below {@code max(limit, 2 x live)} plus
 * the tensor being created, where {@code live} is what was still reachable after
 * the last collection (the count right after it; when the Cleaner then frees the rest of what the collection
 * found and the count falls below half the trigger, the limit applies again). When live tensors legitimately hold more than the limit
 * (a large model's parameters), collections run only after the count has grown to
 * twice that, not on every allocation. {@code -XX:+DisableExplicitGC} disables the
 * collection that this bound relies on.
 *
 * <p>The default limit is an eighth of the memory this process may use
 * ({@link #processMemory()}), at least 64 MiB. The system property
 * {@value #UNSCOPED_LIMIT_PROPERTY} sets another when the library loads: a byte
 * count with an optional binary suffix ({@code 512m}, {@code 2g}, as
 * {@link CpuCache#parseSize}); {@code 0} collects whenever any unscoped tensor
 * is allocated, which is only useful in tests.
 *
 * <p>Thread-safe. Scoped tensors cost nothing here: their scope frees them.
 */
public final class NativeMemory {
  /** The system property read when the library loads. */
  public static final String UNSCOPED_LIMIT_PROPERTY = "ddpm4j.unscopedLimit";

  private static final long MIN_DEFAULT_LIMIT = 64L << 20;
  /** The longest a collection waits for the Cleaner, in milliseconds. */
  private static final int MAX_WAIT_MILLIS = 500;
  /** The Cleaner is done when the count has moved and then not moved for this many milliseconds. */
  private static final int STILL_MILLIS = 10;
  /** The quiet period when the count stands above half the limit (it would raise the trigger). */
  private static final int STILL_MILLIS_HIGH = 100;

  private static final AtomicLong held = new AtomicLong();
  private static final AtomicLong collections = new AtomicLong();
  private static volatile long limit = Math.max(MIN_DEFAULT_LIMIT, processMemory() / 8);
  private static volatile long trigger = limit;

  private NativeMemory() {}

  /**
   * The memory this process may use: the memory limit of the container (cgroup v1
   * or v2) it runs in when one is set, else the machine's physical memory, as the
   * JDK's container support reports it
   * ({@code com.sun.management.OperatingSystemMXBean.getTotalMemorySize()}).
   *
   * @return bytes
   */
  public static long processMemory() {
    var os = (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long bytes = os.getTotalMemorySize();
    return bytes > 0 ? bytes : 1L << 30;
  }

  /** @return storage bytes of the unscoped tensors alive now, as counted (see the class comment) */
  public static long unscopedBytes() {
    return held.get();
  }

  /** @return the count of unscoped bytes above which allocation first collects garbage */
  public static long unscopedLimit() {
    return limit;
  }

  /**
   * Sets the count of unscoped bytes above which allocating an unscoped tensor first
   * collects garbage.
   *
   * @param bytes the limit in bytes, &gt;= 0
   * @throws IllegalArgumentException if {@code bytes < 0}
   */
  public static void setUnscopedLimit(long bytes) {
    if (bytes < 0) throw new IllegalArgumentException("unscoped memory limit must be >= 0 bytes, got " + bytes);
    synchronized (NativeMemory.class) {
      limit = bytes;
      trigger = bytes;
    }
  }

  /** @return how many collections the limit has started since the process started */
  public static long collections() {
    return collections.get();
  }

  /** Counts the storage of a tensor that no scope owns; may collect garbage first. */
  static void reserve(long bytes) {
    if (held.addAndGet(bytes) > trigger) collect();
  }

  /** Uncounts the storage of a freed unscoped tensor. */
  static void release(long bytes) {
    long now = held.addAndGet(-bytes);
    // A collection sets the trigger from the count it leaves, which may still hold garbage that
    // the Cleaner frees just after the wait ended (a busy machine can pause it for longer than
    // the wait's quiet period): once the count falls below half the trigger, that garbage is gone
    // and the limit applies again (a live set above the limit raises it again at the next collection).
    long t = trigger;
    if (t > limit && now < t / 2) trigger = limit;
  }

  /** @return the count of unscoped bytes at which the next allocation collects (for tests) */
  static long trigger() {
    return trigger;
  }

  /**
   * Runs a garbage collection and waits for the Cleaner to free what it found (a
   * second round if the count is still above the limit), then sets the next trigger.
   * One thread collects at a time; the others wait for it.
   */
  private static synchronized void collect() {
    if (held.get() <= trigger) return; // another thread collected meanwhile
    collections.incrementAndGet();
    for (int round = 0; round < 2 && held.get() > limit; round++) {
      System.gc();
      if (!waitForCleaner()) break;
    }
    long live = held.get();
    long next = Math.max(limit, live > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : 2 * live);
    trigger = next;
    // The Cleaner may have freed the rest meanwhile, its releases seeing the old trigger.
    if (next > limit && held.get() < next / 2) trigger = limit;
  }

  /**
   * The Cleaner frees what a collection found on a thread of its own: waits until the
   * count has moved and then stood still for {@link #STILL_MILLIS}, or for at most
   * {@link #MAX_WAIT_MILLIS} when it never moves (nothing was garbage, or the Cleaner
   * has not been scheduled yet).
   *
   * @return false if interrupted (the interrupt status is kept)
   */
  private static boolean waitForCleaner() {
    long last = held.get();
    boolean moved = false;
    int still = 0;
    // A count left above half the limit raises the next trigger (to twice the count): before concluding that it is
    // live, wait for a longer quiet period, since a busy machine can pause the Cleaner for more than STILL_MILLIS
    // and the garbage it has yet to free would count as live (the trigger then let the count pass the limit).
    for (int waited = 0; waited < MAX_WAIT_MILLIS && !(moved && still >= (last > limit / 2 ? STILL_MILLIS_HIGH : STILL_MILLIS));
        waited++) {
      try {
        Thread.sleep(1);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      long now = held.get();
      if (now != last) {
        moved = true;
        still = 0;
      } else {
        still++;
      }
      last = now;
      if (now == 0) break;
    }
    return true;
  }

  /** Applies {@link #UNSCOPED_LIMIT_PROPERTY} if it is set; called once, when the library loads. */
  static void applyProperty() {
    long bytes = LibraryProperties.size(UNSCOPED_LIMIT_PROPERTY);
    if (bytes >= 0) setUnscopedLimit(bytes);
  }
}
