import io.github.ddpm4j.distributed.ProcessGroup;
import io.github.ddpm4j.distributed.ReduceOp;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * One rank of bench/distributed's allreduce timing: {@code allReduce(SUM)} of one float32 tensor of
 * {@code FLOATS} elements (the default model's gradients fit in one 25 MiB bucket of
 * DistributedDataParallel), {@code REPS} times after 5 warm-ups, each after a barrier so that no rank's
 * lateness is timed. Rank 0 prints the median milliseconds and the algorithm bandwidth (bytes / time).
 *
 * <p>Run: {@code java --enable-native-access=ALL-UNNAMED -cp 'target/ddpm4j.jar:target/lib/*'
 * bench/AllReduceTiming.java RANK WORLD PORT FLOATS REPS THREADS}
 */
public class AllReduceTiming {
  public static void main(String[] args) {
    int rank = Integer.parseInt(args[0]), world = Integer.parseInt(args[1]), port = Integer.parseInt(args[2]);
    long floats = Long.parseLong(args[3]);
    int reps = Integer.parseInt(args[4]);
    Torch.setNumThreads(Integer.parseInt(args[5]));
    try (ProcessGroup g = ProcessGroup.initProcessGroup("gloo", "127.0.0.1", port, rank, world, Duration.ofMinutes(2)); Scope s = Scope.open()) {
      Tensor t = Torch.ones(floats);
      double[] ms = new double[reps];
      for (int i = -5; i < reps; i++) {
        g.barrier();
        long t0 = System.nanoTime();
        g.allReduce(t, ReduceOp.SUM);
        if (i >= 0) ms[i] = (System.nanoTime() - t0) / 1e6;
      }
      Arrays.sort(ms);
      double median = ms[reps / 2];
      if (rank == 0) {
        System.out.printf(Locale.ROOT, "allreduce of %.2f MB on %d ranks: median %.2f ms (min %.2f), %.2f GB/s of the tensor's bytes%n",
            floats * 4 / 1e6, world, median, ms[0], floats * 4 / 1e6 / median);
      }
    }
  }
}
