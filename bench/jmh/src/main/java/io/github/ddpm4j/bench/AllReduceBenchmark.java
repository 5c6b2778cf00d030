package io.github.ddpm4j.bench;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.distributed.DistributedDataParallel;
import io.github.ddpm4j.distributed.ProcessGroup;
import io.github.ddpm4j.distributed.ReduceOp;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One rank of the gradient all-reduce benchmark (bench/allreduce runs two on loopback):
 * {@code AllReduceBenchmark RANK WORLD_SIZE PORT REPS}. Builds the default CPU model, gives
 * every parameter a gradient, and times, each after ten warm-ups and with a barrier before each of its REPS
 * repetitions:
 * <ul>
 *   <li>{@code flat}: one {@code allReduce} of a single tensor as large as all gradients together;
 *   <li>{@code per-tensor}: one {@code allReduce} per gradient, without buckets;
 *   <li>{@code ddp}: {@link DistributedDataParallel#averageGradients()}, the bucketed average
 *       of every parameter's gradient (25 MiB buckets: one for this model), last, once the JIT
 *       compiler has settled.
 * </ul>
 * It prints {@code name=median min max} in milliseconds per line, and the parameter count and bytes.
 */
public final class AllReduceBenchmark {
  /** Untimed repetitions before the timed ones. */
  private static final int WARMUP = 10;

  private AllReduceBenchmark() {}

  public static void main(String[] args) {
    int rank = Integer.parseInt(args[0]);
    int worldSize = Integer.parseInt(args[1]);
    int port = Integer.parseInt(args[2]);
    int reps = Integer.parseInt(args[3]);
    try (UNet model = BenchModels.model("cpu-default", Device.CPU, 1);
         ProcessGroup group = ProcessGroup.initProcessGroup("gloo", "127.0.0.1", port, rank, worldSize, Duration.ofMinutes(2));
         Scope s = Scope.open()) {
      for (Tensor p : model.parameters()) p.setGrad(Torch.randnLike(p, null));
      DistributedDataParallel ddp = new DistributedDataParallel(model, group);
      long elements = model.parameterCount();
      System.out.println("parameters=" + elements);
      System.out.println("tensors=" + model.parameters().size());
      System.out.println("bytes=" + elements * 4);
      Tensor flat = Torch.randn(elements);
      List<Tensor> grads = new ArrayList<>();
      for (Tensor p : model.parameters()) grads.add(p.grad());
      time(group, "flat", reps, () -> group.allReduce(flat, ReduceOp.SUM));
      time(group, "per-tensor", reps, () -> {
        for (Tensor g : grads) group.allReduce(g, ReduceOp.SUM);
      });
      time(group, "ddp", reps, ddp::averageGradients);
    }
  }

  private static void time(ProcessGroup group, String name, int reps, Runnable work) {
    for (int i = 0; i < WARMUP; i++) work.run();
    double[] ms = new double[reps];
    for (int i = 0; i < reps; i++) {
      group.barrier();
      long t0 = System.nanoTime();
      work.run();
      ms[i] = (System.nanoTime() - t0) / 1e6;
    }
    Arrays.sort(ms);
    System.out.printf("%s=%.3f %.3f %.3f%n", name, ms[reps / 2], ms[0], ms[reps - 1]);
  }
}
