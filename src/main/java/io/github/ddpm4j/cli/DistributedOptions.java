package io.github.ddpm4j.cli;

import io.github.ddpm4j.torch.Device;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/**
 * The options of data-parallel training: how many worker processes {@code train} starts on this
 * machine and where they stand among several machines, as torchrun names them ({@code --nproc-per-node},
 * {@code --nnodes}, {@code --node-rank}, {@code --master-addr}, {@code --master-port}), and the
 * process group's backend and collective timeout.
 *
 * <p>A process is one of three things: a single process (no option here, and neither {@code RANK} nor
 * {@code WORLD_SIZE} in the environment); a launcher ({@code --nproc-per-node} or one of the other
 * placement options), which starts the workers ({@link LocalLauncher}) and trains nothing itself; or a
 * worker, which finds its place in torchrun's environment variables ({@link WorkerEnvironment}) and
 * joins the process group.
 */
final class DistributedOptions {
  /** The placement options, which make {@code train} a launcher and which the workers do not get. */
  static final Set<String> LAUNCHER_OPTIONS = Set.of("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port");
  /** torchrun's default port of rank 0's store. */
  static final int DEFAULT_PORT = 29500;
  /** The collective timeout unless {@code --dist-timeout} says otherwise, in seconds. */
  static final long DEFAULT_TIMEOUT_SECONDS = 300;

  @Option(names = "--nproc-per-node", paramLabel = "N",
      description = {"Start N worker processes on this machine that train together, data-parallel: each takes 1/N of every",
          "batch (of all machines' workers: --batch-size is the global batch and must divide among them), and rank 0 alone",
          "writes the run's files. On the CPU each worker's --threads defaults to the cores / N."})
  Integer nprocPerNode;

  @Option(names = "--nnodes", paramLabel = "M",
      description = "Machines in the run, each starting --nproc-per-node workers (default: 1).")
  Integer nnodes;

  @Option(names = "--node-rank", paramLabel = "I", description = "This machine's place among the --nnodes machines, 0..M-1 (default: 0).")
  Integer nodeRank;

  @Option(names = "--master-addr", paramLabel = "HOST",
      description = "The host of machine 0, where rank 0 serves the group's store (default: 127.0.0.1; required with --nnodes > 1).")
  String masterAddr;

  @Option(names = "--master-port", paramLabel = "PORT",
      description = "The port of that store on --master-addr (default: " + DEFAULT_PORT + ").")
  Integer masterPort;

  @Option(names = "--dist-backend", paramLabel = "NAME",
      description = "The process group's backend: gloo or nccl (default: gloo on the CPU, nccl on CUDA).")
  String backend;

  @Option(names = "--dist-timeout", paramLabel = "SECONDS",
      description = {"How long the workers wait for each other: for the group to form, and in each collective; a worker lost",
          "for longer stops the others with an error. The others wait for rank 0's checkpoints and sample grids, so it must",
          "exceed the longest of those (default: " + DEFAULT_TIMEOUT_SECONDS + ")."})
  Long timeoutSeconds;

  /** @return whether an option makes this process a launcher of workers */
  boolean launches() {
    return nprocPerNode != null || nnodes != null || nodeRank != null || masterAddr != null || masterPort != null;
  }

  /**
   * Checks the options against each other and against the environment.
   *
   * @param env the process's environment
   * @throws IllegalArgumentException naming the option or variable at fault
   */
  void check(Map<String, String> env) {
    if (timeoutSeconds != null && timeoutSeconds < 1) {
      throw new IllegalArgumentException("--dist-timeout must be >= 1 second, got " + timeoutSeconds);
    }
    if (!launches() && !WorkerEnvironment.present(env) && (backend != null || timeoutSeconds != null)) {
      throw new IllegalArgumentException((backend != null ? "--dist-backend" : "--dist-timeout") + " is for a run of several processes: "
          + "give --nproc-per-node too, or launch with torchrun");
    }
    if (backend != null && !backend.equals("gloo") && !backend.equals("nccl")) {
      throw new IllegalArgumentException("--dist-backend must be gloo or nccl, got '" + backend + "'");
    }
    if (launches() && WorkerEnvironment.present(env)) {
      throw new IllegalArgumentException("--nproc-per-node, --nnodes, --node-rank, --master-addr and --master-port start workers, but this "
          + "process is one already (" + WorkerEnvironment.RANK + "=" + env.get(WorkerEnvironment.RANK) + ", " + WorkerEnvironment.WORLD_SIZE
          + "=" + env.get(WorkerEnvironment.WORLD_SIZE) + " from torchrun or another launcher): give either the options or the variables");
    }
    if (launches()) plan();
  }

  /**
   * @return the placement of this machine's workers
   * @throws IllegalArgumentException naming the option that is out of range, or {@code --master-addr} when
   *     several machines are asked for without it
   */
  LocalLauncher.Plan plan() {
    int machines = nnodes == null ? 1 : nnodes;
    if (machines > 1 && masterAddr == null) {
      throw new IllegalArgumentException("--nnodes " + machines + " needs --master-addr: the address of machine 0 (--node-rank 0), which "
          + "every machine can reach");
    }
    return new LocalLauncher.Plan(nprocPerNode == null ? 1 : nprocPerNode, machines, nodeRank == null ? 0 : nodeRank,
        masterAddr == null ? "127.0.0.1" : masterAddr, masterPort == null ? DEFAULT_PORT : masterPort);
  }

  /**
   * @param args the launcher's own arguments, after the command name
   * @return them without the placement options and their values, for the workers
   */
  static List<String> workerArgs(List<String> args) {
    List<String> out = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      int eq = a.indexOf('=');
      String name = eq > 0 ? a.substring(0, eq) : a;
      if (LAUNCHER_OPTIONS.contains(name)) {
        if (eq < 0) i++; // its value is the next argument
        continue;
      }
      if (a.equals("--")) {
        out.addAll(args.subList(i, args.size()));
        break;
      }
      out.add(a);
    }
    return out;
  }

  /**
   * @param device where the model trains
   * @return {@code --dist-backend}, else gloo on the CPU and nccl on CUDA
   */
  String backend(Device device) {
    return backend != null ? backend : device.isCuda() ? "nccl" : "gloo";
  }

  /** @return {@code --dist-timeout} */
  Duration timeout() {
    return Duration.ofSeconds(timeoutSeconds == null ? DEFAULT_TIMEOUT_SECONDS : timeoutSeconds);
  }
}
