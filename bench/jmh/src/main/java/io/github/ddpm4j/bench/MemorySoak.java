package io.github.ddpm4j.bench;

import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.optim.AdamOptions;
import io.github.ddpm4j.nn.Utils;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The memory soak: thousands of real DDPM training steps (loss, backward,
 * gradient clipping, Adam) of the default CPU model, reporting resident memory
 * at the start and end, the live native-handle count, and Java heap allocated
 * per step. Exits with status 1 when RSS grows by 2% or more, or handles leak.
 *
 * <p>Usage: {@code MemorySoak [steps=2000] [batch=8] [size=16] [threads=2]}.
 * The first 10% of the steps (at least 50) are a warm-up that fills LibTorch's
 * and the allocator's caches; growth is measured after it.
 */
public final class MemorySoak {
  private MemorySoak() {}

  private static long rssKib() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    throw new IOException("no VmRSS in /proc/self/status");
  }

  private static long allocatedBytes() {
    var bean = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    return bean.getCurrentThreadAllocatedBytes();
  }

  /**
   * @param args optional: steps, batch, image size, threads
   * @throws IOException if /proc cannot be read
   */
  public static void main(String[] args) throws IOException {
    int steps = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
    int batch = args.length > 1 ? Integer.parseInt(args[1]) : 8;
    int size = args.length > 2 ? Integer.parseInt(args[2]) : 16;
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    int warmup = Math.max(50, steps / 10);
    Torch.setNumThreads(threads);
    Torch.manualSeed(0);
    long handles0 = Torch.liveHandles();
    long rssStart = 0;
    long alloc0 = 0;
    long handlesWarm = 0;
    double lastLoss = Double.NaN;
    boolean ok;
    long t0 = System.nanoTime();
    try (UNet model = new UNet(BenchModels.config("cpu-default"));
         NoiseSchedule schedule = NoiseSchedule.linear();
         Adam adam = new Adam(model.parameters(), AdamOptions.adam(1e-3));
         Generator g = new Generator(1)) {
      GaussianDiffusion diffusion = new GaussianDiffusion(model, schedule);
      var params = model.parameters();
      for (int step = 0; step < warmup + steps; step++) {
        if (step == warmup) {
          System.gc();
          rssStart = rssKib();
          handlesWarm = Torch.liveHandles();
          alloc0 = allocatedBytes();
          t0 = System.nanoTime();
        }
        try (Scope s = Scope.open()) {
          Tensor x0 = Torch.rand(new long[] {batch, 1, size, size}, DType.FLOAT32, Device.CPU, g).mul(2).sub(1);
          adam.zeroGrad();
          Tensor loss = diffusion.loss(x0, g);
          loss.backward();
          Utils.clipGradNorm(params, 1.0);
          adam.step();
          lastLoss = loss.item();
        }
      }
      long alloc = allocatedBytes() - alloc0;
      double seconds = (System.nanoTime() - t0) / 1e9;
      System.gc();
      long rssEnd = rssKib();
      long handlesEnd = Torch.liveHandles();
      double growth = 100.0 * (rssEnd - rssStart) / rssStart;
      System.out.printf(Locale.ROOT, "memory soak: %d steps (after %d warm-up), batch %d, %dx%d, %d threads, %.1f s, last loss %.4f%n",
          steps, warmup, batch, size, size, threads, seconds, lastLoss);
      System.out.printf(Locale.ROOT, "  RSS start %,d KiB, end %,d KiB, growth %+.2f%% (target < 2%%)%n", rssStart, rssEnd, growth);
      System.out.printf(Locale.ROOT, "  live handles: before model %d, after warm-up %d, at end %d%n", handles0, handlesWarm, handlesEnd);
      System.out.printf(Locale.ROOT, "  Java heap allocated per step: %,d bytes%n", alloc / steps);
      ok = growth < 2.0 && handlesEnd == handlesWarm;
    }
    long afterClose = Torch.liveHandles();
    System.out.printf(Locale.ROOT, "  live handles after closing everything: %d (baseline %d)%n", afterClose, handles0);
    if (!ok || afterClose != handles0) {
      System.out.println("memory soak: FAILED");
      System.exit(1);
    }
    System.out.println("memory soak: passed");
  }
}
