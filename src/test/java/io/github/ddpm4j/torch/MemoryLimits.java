package io.github.ddpm4j.torch;

/**
 * Prints the memory this process may use and the limits ddpm4j derived from it, in
 * {@code key=value} lines. Run by {@link NativeMemoryTest} in a JVM of its own,
 * inside and outside a memory cgroup.
 */
public final class MemoryLimits {
  private MemoryLimits() {}

  /** @param args unused */
  public static void main(String[] args) {
    System.out.println("processMemory=" + NativeMemory.processMemory());
    System.out.println("cpuCacheLimit=" + CpuCache.limit());
    System.out.println("unscopedLimit=" + NativeMemory.unscopedLimit());
    System.out.println("maxIdleMillis=" + CpuCache.maxIdle().toMillis());
  }
}
