package io.github.ddpm4j.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Starts the worker processes of one machine of a data-parallel run, as {@code torchrun
 * --nproc-per-node N} does, and looks after them: each worker is the same command with
 * torchrun's environment ({@code MASTER_ADDR}, {@code MASTER_PORT}, {@code RANK}, {@code WORLD_SIZE},
 * {@code LOCAL_RANK}, {@code LOCAL_WORLD_SIZE}, {@code GROUP_RANK}), and shares this process's standard
 * input, output and error.
 *
 * <p>{@link #run()} waits for every worker. When one fails (exits with a code other than 0), the others
 * get SIGTERM, and SIGKILL if they have not exited after the grace period; the result names the worker
 * that failed first. When this process is asked to stop (SIGTERM, or Ctrl-C, which a terminal sends to
 * the workers as well), its shutdown hook sends SIGTERM to every worker still running and waits for
 * them, up to the grace period, before the JVM exits, so that no worker outlives it.
 */
final class LocalLauncher {
  /** Where the workers of one machine stand in the run. */
  record Plan(int nprocPerNode, int nnodes, int nodeRank, String masterAddr, int masterPort) {
    /**
     * @throws IllegalArgumentException naming the option that is out of range
     */
    Plan {
      if (nprocPerNode < 1) throw new IllegalArgumentException("--nproc-per-node must be >= 1, got " + nprocPerNode);
      if (nnodes < 1) throw new IllegalArgumentException("--nnodes must be >= 1, got " + nnodes);
      if (nodeRank < 0 || nodeRank >= nnodes) {
        throw new IllegalArgumentException("--node-rank must be in 0.." + (nnodes - 1) + " (--nnodes " + nnodes + "), got " + nodeRank);
      }
      if (masterAddr == null || masterAddr.isBlank()) throw new IllegalArgumentException("--master-addr must name a host");
      if (masterPort < 1 || masterPort > 65535) throw new IllegalArgumentException("--master-port must be in 1..65535, got " + masterPort);
    }

    /** @return the number of workers on all machines */
    int worldSize() {
      return nprocPerNode * nnodes;
    }

    /**
     * @param localRank a worker's rank on this machine
     * @return its rank in the run
     */
    int rank(int localRank) {
      return nodeRank * nprocPerNode + localRank;
    }

    /**
     * @param localRank a worker's rank on this machine
     * @return the variables that place it in the run, as torchrun sets them
     */
    Map<String, String> environment(int localRank) {
      Map<String, String> env = new LinkedHashMap<>();
      env.put(WorkerEnvironment.MASTER_ADDR, masterAddr);
      env.put(WorkerEnvironment.MASTER_PORT, Integer.toString(masterPort));
      env.put(WorkerEnvironment.WORLD_SIZE, Integer.toString(worldSize()));
      env.put(WorkerEnvironment.RANK, Integer.toString(rank(localRank)));
      env.put(WorkerEnvironment.LOCAL_RANK, Integer.toString(localRank));
      env.put(WorkerEnvironment.LOCAL_WORLD_SIZE, Integer.toString(nprocPerNode));
      env.put("GROUP_RANK", Integer.toString(nodeRank));
      return env;
    }
  }

  /** How the workers ended. */
  record Outcome(int exitCode, String message) {}

  /** A worker that has been started, and how it ended once it has. */
  private static final class Worker {
    final int rank;
    final Process process;
    Integer exit;

    Worker(int rank, Process process) {
      this.rank = rank;
      this.process = process;
    }
  }

  private final List<String> command;
  private final Plan plan;
  private final Duration grace;
  private final PrintWriter err;
  private final List<Worker> workers = new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile boolean stopping;

  /**
   * @param command the worker's command line, the program and every argument
   * @param plan where this machine's workers stand in the run
   * @param grace how long a worker may take to stop after SIGTERM before it gets SIGKILL
   * @param err where the launcher reports a failed worker
   */
  LocalLauncher(List<String> command, Plan plan, Duration grace, PrintWriter err) {
    this.command = List.copyOf(command);
    this.plan = plan;
    this.grace = grace;
    this.err = err;
  }

  /**
   * Starts every worker and waits for all of them (see the class comment).
   *
   * @return exit code 0 and no message when every worker succeeded; else 1 and a message that names the
   *     worker that failed first and how, or that the launcher was stopped
   * @throws IOException if a worker cannot be started (the workers already started are stopped)
   * @throws InterruptedException if the waiting thread is interrupted (the workers are stopped)
   */
  Outcome run() throws IOException, InterruptedException {
    Thread hook = new Thread(this::stopAll, "ddpm4j-stop-workers");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      for (int local = 0; local < plan.nprocPerNode(); local++) {
        ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
        pb.environment().remove("TORCHELASTIC_USE_AGENT_STORE"); // rank 0 serves the store itself
        pb.environment().putAll(plan.environment(local));
        try {
          workers.add(new Worker(plan.rank(local), pb.start()));
        } catch (IOException e) {
          stopAll();
          throw new IOException("cannot start worker " + plan.rank(local) + " (" + command.getFirst() + "): " + e.getMessage(), e);
        }
      }
      return supervise();
    } catch (InterruptedException e) {
      stopAll();
      throw e;
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running and stops the workers
      }
    }
  }

  private Outcome supervise() throws InterruptedException {
    Worker failed = null;
    long deadline = Long.MAX_VALUE;
    while (true) {
      boolean running = false;
      for (Worker w : workers) {
        if (w.exit == null && !w.process.isAlive()) {
          w.exit = w.process.exitValue();
          if (w.exit != 0 && failed == null && !stopping) {
            failed = w;
            err.printf(Locale.ROOT, "ddpm4j train: worker %d (pid %d) %s; stopping the others%n", w.rank, w.process.pid(), how(w.exit));
            err.flush();
            for (Worker other : workers) if (other.process.isAlive()) other.process.destroy();
            deadline = System.nanoTime() + grace.toNanos();
          }
        }
        running |= w.exit == null;
      }
      if (!running) break;
      if (System.nanoTime() > deadline) {
        for (Worker w : workers) if (w.process.isAlive()) w.process.destroyForcibly();
        deadline = Long.MAX_VALUE;
      }
      Thread.sleep(50);
    }
    if (failed != null) {
      return new Outcome(1, String.format(Locale.ROOT, "worker %d of %d %s", failed.rank, plan.worldSize(), how(failed.exit)));
    }
    if (stopping) return new Outcome(1, "stopped");
    for (Worker w : workers) {
      if (w.exit != 0) return new Outcome(1, String.format(Locale.ROOT, "worker %d of %d %s", w.rank, plan.worldSize(), how(w.exit)));
    }
    return new Outcome(0, null);
  }

  /** Sends SIGTERM to every worker still running, waits up to the grace period, then sends SIGKILL. */
  private void stopAll() {
    stopping = true;
    List<Worker> started = List.copyOf(workers);
    for (Worker w : started) if (w.process.isAlive()) w.process.destroy();
    long deadline = System.nanoTime() + grace.toNanos();
    for (Worker w : started) {
      try {
        long left = deadline - System.nanoTime();
        if (left <= 0 || !w.process.waitFor(left, java.util.concurrent.TimeUnit.NANOSECONDS)) w.process.destroyForcibly().waitFor();
      } catch (InterruptedException e) {
        w.process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * @param exit a process's exit value
   * @return how it ended: {@code "failed with exit code 1"} or {@code "was killed by SIGKILL"}
   */
  static String how(int exit) {
    if (exit > 128 && exit < 160) {
      String name = switch (exit - 128) {
        case 1 -> "SIGHUP";
        case 2 -> "SIGINT";
        case 6 -> "SIGABRT";
        case 9 -> "SIGKILL";
        case 11 -> "SIGSEGV";
        case 15 -> "SIGTERM";
        default -> "signal " + (exit - 128);
      };
      return "was killed by " + name + " (exit code " + exit + ")";
    }
    return "failed with exit code " + exit;
  }

  /**
   * The command line that runs {@code mainClass} with {@code workerArgs} in a JVM like this one: the same
   * {@code java}, JVM options and class or module path. It is this process's own command line (as the
   * system reports it) with {@code mainArgs} replaced, where that is known; else it is rebuilt from the
   * JVM's input arguments and class path.
   *
   * @param mainClass the class whose {@code main} this process runs
   * @param mainArgs the arguments this process's {@code main} received
   * @param workerArgs the arguments of the workers' {@code main}
   * @return the command line
   */
  static List<String> thisJvm(Class<?> mainClass, List<String> mainArgs, List<String> workerArgs) {
    ProcessHandle.Info info = ProcessHandle.current().info();
    Optional<String[]> args = info.arguments();
    List<String> out = new ArrayList<>();
    if (info.command().isPresent() && args.isPresent() && args.get().length > mainArgs.size()) {
      List<String> all = List.of(args.get());
      int head = all.size() - mainArgs.size();
      if (all.subList(head, all.size()).equals(mainArgs) && all.get(head - 1).endsWith(mainClass.getName())) {
        out.add(info.command().get());
        out.addAll(all.subList(0, head));
        out.addAll(workerArgs);
        return out;
      }
    }
    out.add(info.command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!a.startsWith("-agentlib:jdwp")) out.add(a); // a debugger's port can serve one JVM only
    }
    out.add("-cp");
    out.add(System.getProperty("java.class.path"));
    out.add(mainClass.getName());
    out.addAll(workerArgs);
    return out;
  }
}
