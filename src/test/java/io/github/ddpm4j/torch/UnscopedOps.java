package io.github.ddpm4j.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs N ops on 256 KiB tensors, none in a scope and none closed, leaving every
 * result to the garbage collector, as a careless caller would. Prints the peaks of
 * the counted unscoped bytes, live tensor handles and resident memory, in
 * {@code key=value} lines. Run by {@link NativeMemoryTest} in a JVM of its own.
 */
public final class UnscopedOps {
  private UnscopedOps() {}

  /** @param args the number of ops */
  public static void main(String[] args) throws IOException {
    int ops = Integer.parseInt(args[0]);
    Torch.setNumThreads(1);
    Tensor base = Torch.ones(256, 256); // 256 KiB of float32
    long rss0 = rss();
    long peakBytes = 0, peakHandles = 0, peakRss = 0;
    for (int i = 0; i < ops; i++) {
      Tensor t = base.add(1.0);
      if (t.numel() != 65536) throw new AssertionError();
      peakBytes = Math.max(peakBytes, NativeMemory.unscopedBytes());
      if (i % 64 == 0) {
        peakHandles = Math.max(peakHandles, Torch.liveHandles(Torch.HandleKind.TENSOR));
        peakRss = Math.max(peakRss, rss());
      }
    }
    System.out.println("limit=" + NativeMemory.unscopedLimit());
    System.out.println("peakBytes=" + peakBytes);
    System.out.println("peakHandles=" + peakHandles);
    System.out.println("rssStart=" + rss0);
    System.out.println("peakRss=" + peakRss);
    System.out.println("collections=" + NativeMemory.collections());
  }

  /** @return resident set size in bytes, from /proc/self/status */
  static long rss() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
    }
    return -1;
  }
}
