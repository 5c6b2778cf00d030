package io.github.ddpm4j.distributed;

import io.github.ddpm4j.torch.NativeProcessGroup;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.TorchException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * A group of processes that run collectives together, each with a rank in
 * {@code [0, worldSize)}: {@code torch.distributed}'s default process group, created by
 * {@code init_process_group} and ended by {@code destroy_process_group}, on LibTorch's c10d.
 *
 * <p>The group speaks c10d's protocol as {@code torch.distributed}'s Python front end of the same
 * LibTorch version does (the store's key prefixes, the barrier after creation, the sequence
 * number), so a Python process can be one of its ranks:
 * {@snippet :
 * // rank 1 of 2 in Java; rank 0 may be Java or Python:
 * //   torch.distributed.init_process_group("gloo", init_method="tcp://10.0.0.1:29500", rank=0, world_size=2)
 * try (ProcessGroup group = ProcessGroup.initProcessGroup("gloo", "10.0.0.1", 29500, 1, 2, Duration.ofMinutes(5));
 *      Scope s = Scope.open()) {
 *   Tensor t = Torch.ones(4);
 *   group.allReduce(t, ReduceOp.SUM);  // [2, 2, 2, 2] on both ranks
 * }
 * }
 *
 * <p><b>Backends.</b> {@code "gloo"} reduces CPU tensors over TCP. {@code "nccl"} reduces CUDA
 * tensors; it needs a LibTorch built with CUDA and NCCL and a visible GPU, and elsewhere
 * {@code initProcessGroup} throws {@link DistributedException} with
 * {@link DistributedException.Reason#UNAVAILABLE}.
 *
 * <p><b>Timeouts and failures.</b> The timeout bounds the rendezvous and every collective. A
 * collective that does not finish in time, or whose peer dies, throws
 * {@link DistributedException} on the ranks that wait for it, within the timeout (a lost
 * connection is usually seen at once); after such a failure the group refuses further
 * collectives, and is to be closed. A collective never hangs past its timeout (plus one second
 * in which the backend reports its own timeout first), and never crashes the JVM.
 *
 * <p><b>Order.</b> Every rank must call the same collectives, with tensors of the same shapes and
 * dtypes, in the same order; a rank that calls another collective, or none, leaves the others
 * waiting until their timeout.
 *
 * <p><b>Threads.</b> The methods may be called from any thread, but one group runs one operation at
 * a time: a call waits while another thread's call on the same group runs ({@link #close()} too).
 * A thread blocked in a collective is not interruptible; the timeout bounds it.
 *
 * <p><b>The environment.</b> As in {@code torch.distributed}, {@code TORCHELASTIC_USE_AGENT_STORE=True}
 * (set by torchrun) makes every rank a client of the store that the launcher hosts,
 * {@code TORCH_DIST_INIT_BARRIER=1} adds the store-based barrier after creation on LibTorch 2.x
 * (1.x always runs it), and {@code GLOO_SOCKET_IFNAME} chooses Gloo's network interfaces.
 * One group per store at a time: a second group in the same job needs another port or file.
 */
public final class ProcessGroup implements AutoCloseable {
  /**
   * The most bytes that one bucket of the list forms of {@link #allReduce(List, ReduceOp)} and
   * {@link #broadcast(List, int)} holds: 25 MiB, {@code DistributedDataParallel}'s default
   * {@code bucket_cap_mb}.
   */
  public static final long BUCKET_BYTES = 25L << 20;

  /** The longest timeout accepted: {@code Integer.MAX_VALUE} milliseconds, about 24.8 days. */
  static final Duration MAX_TIMEOUT = Duration.ofMillis(Integer.MAX_VALUE);

  private static final Pattern LOST_PEER =
      Pattern.compile("(?i)connection (reset|closed) by peer|broken pipe|connection refused|end of file|\\bEOF\\b");
  private static final Pattern TIMED_OUT = Pattern.compile("(?i)timed? ?out|timeout");

  private final NativeProcessGroup group;
  private final String backend;
  private final int rank;
  private final int worldSize;
  private final int localRank;
  private final Duration timeout;
  /** Where the ranks met, for messages: {@code tcp://host:port} or {@code file:///path}. */
  private final String initMethod;
  private final ReentrantLock lock = new ReentrantLock();
  private boolean closed;
  /** The timeout or lost peer after which the group refuses collectives, or null. */
  private DistributedException failure;

  private ProcessGroup(NativeProcessGroup group, Settings s) {
    this.group = group;
    this.backend = s.backend.name().toLowerCase(Locale.ROOT);
    this.rank = s.rank;
    this.worldSize = s.worldSize;
    this.localRank = s.localRank;
    this.timeout = s.timeout;
    this.initMethod = s.initMethod;
  }

  /**
   * Joins a group whose ranks meet at a TCP store ({@code init_process_group(backend,
   * init_method="tcp://masterAddr:masterPort", rank=rank, world_size=worldSize, timeout=timeout)}).
   * Rank 0 hosts the store on {@code masterPort} and waits until every rank has connected; the
   * others connect to it, retrying until the timeout. Returns once all {@code worldSize} ranks
   * have joined.
   *
   * @param backend {@code "gloo"} or {@code "nccl"} (any case)
   * @param masterAddr rank 0's host name or address, as the other ranks reach it
   * @param masterPort the store's port on rank 0, in [1, 65535]
   * @param rank this process's rank, in [0, worldSize)
   * @param worldSize the number of processes, &gt;= 1
   * @param timeout the bound of the rendezvous and of every collective, from 1 ms to about 24.8 days
   *     ({@code torch.distributed}'s default is 30 minutes)
   * @return the group, which the caller closes
   * @throws IllegalArgumentException if an argument is out of range or the backend unknown
   * @throws DistributedException if the backend is unavailable, or the group did not assemble within
   *     the timeout (a rank did not come, or the address or port is wrong); the message says which
   */
  public static ProcessGroup initProcessGroup(String backend, String masterAddr, int masterPort, int rank, int worldSize,
      Duration timeout) {
    return tcp(backend, masterAddr, masterPort, rank, worldSize, timeout, System.getenv());
  }

  /**
   * Joins a group described by the environment that torchrun (or another launcher) sets
   * ({@code init_process_group(backend, init_method="env://", timeout=timeout)}):
   * {@code MASTER_ADDR}, {@code MASTER_PORT}, {@code RANK} and {@code WORLD_SIZE}, and
   * optionally {@code LOCAL_RANK} (this process's index on its node, {@link #localRank()}).
   * Otherwise as {@link #initProcessGroup(String, String, int, int, int, Duration)}.
   *
   * @param backend {@code "gloo"} or {@code "nccl"} (any case)
   * @param timeout the bound of the rendezvous and of every collective
   * @return the group, which the caller closes
   * @throws IllegalStateException if one of the four variables is not set
   * @throws IllegalArgumentException if a variable is not a number or out of range, or the backend unknown
   * @throws DistributedException if the backend is unavailable or the group did not assemble within the timeout
   */
  public static ProcessGroup initProcessGroup(String backend, Duration timeout) {
    return fromEnvironment(backend, timeout, System.getenv());
  }

  /**
   * Joins a group whose ranks meet at a c10d file store ({@code init_process_group(backend,
   * init_method="file://" + fileStore, rank=rank, world_size=worldSize, timeout=timeout)}): a file
   * that every rank can reach, on a file system with working locks, and that no earlier group used
   * (c10d removes it once the last rank is done). Meant for tests on one machine.
   *
   * @param backend {@code "gloo"} or {@code "nccl"} (any case)
   * @param fileStore the store's file
   * @param rank this process's rank, in [0, worldSize)
   * @param worldSize the number of processes, &gt;= 1
   * @param timeout the bound of the rendezvous and of every collective
   * @return the group, which the caller closes
   * @throws IllegalArgumentException if an argument is out of range or the backend unknown
   * @throws DistributedException if the backend is unavailable or the group did not assemble within the timeout
   */
  public static ProcessGroup initProcessGroup(String backend, Path fileStore, int rank, int worldSize, Duration timeout) {
    Objects.requireNonNull(fileStore, "fileStore");
    Map<String, String> env = System.getenv();
    Path file = fileStore.toAbsolutePath();
    Settings s = settings(backend, rank, worldSize, timeout, env, "file://" + file);
    return create(s, () -> NativeProcessGroup.file(s.backend, file.toString(), s.rendezvous()));
  }

  /** {@link #initProcessGroup(String, String, int, int, int, Duration)} in the environment {@code env}. */
  static ProcessGroup tcp(String backend, String masterAddr, int masterPort, int rank, int worldSize, Duration timeout,
      Map<String, String> env) {
    Objects.requireNonNull(masterAddr, "masterAddr");
    if (masterAddr.isBlank()) throw new IllegalArgumentException("initProcessGroup: masterAddr is empty");
    if (masterPort < 1 || masterPort > 65535) {
      throw new IllegalArgumentException("initProcessGroup: masterPort must be in [1, 65535], got " + masterPort);
    }
    Settings s = settings(backend, rank, worldSize, timeout, env, "tcp://" + hostPort(masterAddr, masterPort));
    boolean agentStore = "True".equals(env.get("TORCHELASTIC_USE_AGENT_STORE"));
    int restartCount = agentStore ? intVariable(env, "TORCHELASTIC_RESTART_COUNT", 0) : 0;
    return create(s, () -> NativeProcessGroup.tcp(s.backend, masterAddr, masterPort, agentStore, restartCount, s.rendezvous()));
  }

  /** {@link #initProcessGroup(String, Duration)} in the environment {@code env}. */
  static ProcessGroup fromEnvironment(String backend, Duration timeout, Map<String, String> env) {
    String addr = env.get("MASTER_ADDR");
    if (addr == null || addr.isBlank()) throw missing("MASTER_ADDR");
    return tcp(backend, addr, requiredInt(env, "MASTER_PORT"), requiredInt(env, "RANK"), requiredInt(env, "WORLD_SIZE"),
        timeout, env);
  }

  /** What every factory checks and derives before the rendezvous. */
  private record Settings(NativeProcessGroup.Backend backend, int rank, int worldSize, int localRank, Duration timeout,
      boolean initBarrier, String initMethod) {
    NativeProcessGroup.Rendezvous rendezvous() {
      return new NativeProcessGroup.Rendezvous(rank, worldSize, timeout.toMillis(), initBarrier, localRank);
    }
  }

  private static Settings settings(String backend, int rank, int worldSize, Duration timeout, Map<String, String> env,
      String initMethod) {
    NativeProcessGroup.Backend b = backend(backend);
    if (worldSize < 1) throw new IllegalArgumentException("initProcessGroup: worldSize must be >= 1, got " + worldSize);
    if (rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("initProcessGroup: rank must be in [0, " + worldSize + "), got " + rank);
    }
    checkTimeout(timeout);
    int localRank = intVariable(env, "LOCAL_RANK", rank);
    if (localRank < 0) throw new IllegalArgumentException("initProcessGroup: LOCAL_RANK must be >= 0, got " + localRank);
    boolean initBarrier = intVariable(env, "TORCH_DIST_INIT_BARRIER", 0) == 1;
    String unavailable = NativeProcessGroup.unavailableReason(b);
    if (unavailable != null) {
      throw new DistributedException("initProcessGroup", rank, DistributedException.Reason.UNAVAILABLE, -1,
          "initProcessGroup on rank " + rank + " of " + worldSize + " (" + backend + "): " + unavailable, null);
    }
    return new Settings(b, rank, worldSize, localRank, timeout, initBarrier, initMethod);
  }

  private static NativeProcessGroup.Backend backend(String name) {
    Objects.requireNonNull(name, "backend");
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "gloo" -> NativeProcessGroup.Backend.GLOO;
      case "nccl" -> NativeProcessGroup.Backend.NCCL;
      default -> throw new IllegalArgumentException(
          "initProcessGroup: unknown backend '" + name + "': ddpm4j supports gloo (CPU tensors) and nccl (CUDA tensors)");
    };
  }

  private static void checkTimeout(Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.compareTo(Duration.ofMillis(1)) < 0 || timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw new IllegalArgumentException("initProcessGroup: timeout must be from 1 ms to " + MAX_TIMEOUT.toMillis() + " ms, got "
          + timeout);
    }
  }

  private static ProcessGroup create(Settings s, Supplier<NativeProcessGroup> rendezvous) {
    NativeProcessGroup g;
    try {
      g = rendezvous.get();
    } catch (TorchException e) {
      throw initFailure(s, e);
    }
    return new ProcessGroup(g, s);
  }

  private static RuntimeException initFailure(Settings s, TorchException e) {
    if (e.kind() == TorchException.Kind.ARGUMENT) return new IllegalArgumentException("initProcessGroup: " + e.torchMessage(), e);
    String text = e.torchMessage();
    String where = "initProcessGroup on rank " + s.rank + " of " + s.worldSize + " ("
        + s.backend.name().toLowerCase(Locale.ROOT) + ", " + s.initMethod + ")";
    if (TIMED_OUT.matcher(text).find()) {
      return new DistributedException("initProcessGroup", s.rank, DistributedException.Reason.TIMEOUT, -1,
          where + " timed out after " + human(s.timeout) + ": " + initHint(s, text) + text, e);
    }
    return new DistributedException("initProcessGroup", s.rank, DistributedException.Reason.FAILED, -1,
        where + " failed: " + initHint(s, text) + text, e);
  }

  /** What a rendezvous failure most likely means, in words, before c10d's own text. */
  private static String initHint(Settings s, String text) {
    String t = text.toLowerCase(Locale.ROOT);
    if (s.initMethod.startsWith("tcp:") && s.rank != 0 && (t.contains("connect") || t.contains("refused"))) {
      return "could not reach the store at " + s.initMethod.substring("tcp://".length())
          + " (rank 0 not running, or a wrong address or port); ";
    }
    if (TIMED_OUT.matcher(text).find()) {
      return "not all " + s.worldSize + " ranks joined (a rank did not start, or uses another address, port or file); ";
    }
    return "";
  }

  // --------------------------------------------------------------------- accessors

  /** @return this process's rank in the group ({@code get_rank()}), in [0, {@link #worldSize()}) */
  public int rank() {
    return rank;
  }

  /** @return the number of processes in the group ({@code get_world_size()}) */
  public int worldSize() {
    return worldSize;
  }

  /**
   * @return this process's index among the ranks on its machine: the {@code LOCAL_RANK} environment
   *     variable that torchrun sets, or, where it is not set, the {@link #rank()}; for choosing a GPU
   */
  public int localRank() {
    return localRank;
  }

  /** @return the backend's name, {@code "gloo"} or {@code "nccl"} ({@code get_backend()}) */
  public String backend() {
    return backend;
  }

  /** @return the bound of every collective */
  public Duration timeout() {
    return timeout;
  }

  // --------------------------------------------------------------------- collectives

  /**
   * Replaces {@code tensor} on every rank, in place, by the reduction of all ranks' values
   * ({@code all_reduce(tensor, op)}).
   *
   * @param tensor the same shape and dtype on every rank: CPU tensors for Gloo, CUDA tensors for NCCL;
   *     {@link ReduceOp#AVG} needs a floating-point dtype
   * @param op how to combine the values
   * @throws IllegalArgumentException if {@code op} is {@code AVG} and the dtype is not floating-point
   * @throws IllegalStateException if the group or the tensor is closed
   * @throws DistributedException if it timed out or lost a peer (the group is then unusable), or c10d
   *     refused the tensor
   */
  public void allReduce(Tensor tensor, ReduceOp op) {
    allReduce(List.of(Objects.requireNonNull(tensor, "tensor")), op);
  }

  /**
   * Reduces every tensor of the list over the ranks, in place, as {@link #allReduce(Tensor, ReduceOp)} does
   * with each, in buckets as {@code DistributedDataParallel} reduces gradients: consecutive tensors of one
   * dtype and device are copied into one flat buffer of at most {@link #BUCKET_BYTES}, which one collective
   * reduces, and copied back (a larger tensor has a bucket of its own, and a bucket of one contiguous tensor
   * is reduced in place). Fewer, larger messages than a collective per tensor; the same result.
   *
   * @param tensors the same shapes and dtypes, in the same order, on every rank; an empty list does nothing
   * @param op how to combine the values
   * @throws IllegalArgumentException if {@code op} is {@code AVG} and a dtype is not floating-point
   * @throws IllegalStateException if the group or a tensor is closed
   * @throws DistributedException if a collective timed out or lost a peer (the group is then unusable), or
   *     c10d refused a tensor
   */
  public void allReduce(List<Tensor> tensors, ReduceOp op) {
    Objects.requireNonNull(op, "op");
    List<Tensor> list = List.copyOf(tensors);
    if (op == ReduceOp.AVG) {
      for (Tensor t : list) {
        if (!t.dtype().isFloatingPoint()) {
          throw new IllegalArgumentException("allReduce: AVG needs floating-point tensors, got " + t.dtype());
        }
      }
    }
    if (list.isEmpty()) return;
    run("allReduce", () -> group.allReduce(list, op.op(), BUCKET_BYTES));
  }

  /**
   * Copies rank {@code src}'s {@code tensor} into every other rank's, in place ({@code broadcast(tensor, src)}).
   *
   * @param tensor the same shape and dtype on every rank
   * @param src the rank whose values everyone gets, in [0, {@link #worldSize()})
   * @throws IllegalArgumentException if {@code src} is not a rank
   * @throws IllegalStateException if the group or the tensor is closed
   * @throws DistributedException if it timed out or lost a peer (the group is then unusable), or c10d refused the tensor
   */
  public void broadcast(Tensor tensor, int src) {
    broadcast(List.of(Objects.requireNonNull(tensor, "tensor")), src);
  }

  /**
   * Copies rank {@code src}'s tensors into every other rank's, in place, in buckets of at most
   * {@link #BUCKET_BYTES} as {@link #allReduce(List, ReduceOp)} does.
   *
   * @param tensors the same shapes and dtypes, in the same order, on every rank; an empty list does nothing
   * @param src the rank whose values everyone gets, in [0, {@link #worldSize()})
   * @throws IllegalArgumentException if {@code src} is not a rank
   * @throws IllegalStateException if the group or a tensor is closed
   * @throws DistributedException if a collective timed out or lost a peer (the group is then unusable), or
   *     c10d refused a tensor
   */
  public void broadcast(List<Tensor> tensors, int src) {
    if (src < 0 || src >= worldSize) {
      throw new IllegalArgumentException("broadcast: src must be a rank in [0, " + worldSize + "), got " + src);
    }
    List<Tensor> list = List.copyOf(tensors);
    if (list.isEmpty()) return;
    run("broadcast", () -> group.broadcast(list, src, BUCKET_BYTES));
  }

  /**
   * Returns once every rank has called it ({@code barrier()}).
   *
   * @throws IllegalStateException if the group is closed
   * @throws DistributedException if it timed out or lost a peer (the group is then unusable)
   */
  public void barrier() {
    run("barrier", group::barrier);
  }

  /**
   * Gathers one number from every rank ({@code all_gather} of a one-element float64 tensor): losses,
   * counts, checks that the ranks agree.
   *
   * @param value this rank's value
   * @return a new array of {@link #worldSize()} values, element {@code r} from rank {@code r}
   * @throws IllegalStateException if the group is closed
   * @throws DistributedException if it timed out or lost a peer (the group is then unusable)
   */
  public double[] allGather(double value) {
    double[][] out = new double[1][];
    run("allGather", () -> out[0] = group.allGather(value, worldSize));
    return out[0];
  }

  /** Runs one collective under the group's lock, turning c10d's errors into {@link DistributedException}. */
  private void run(String operation, Runnable collective) {
    lock.lock();
    try {
      if (closed) throw new IllegalStateException(operation + ": process group is closed");
      if (failure != null) {
        throw new DistributedException(operation, rank, failure.reason(), failure.lostRank().orElse(-1),
            where(operation) + " refused: the group failed earlier and cannot be used again (close it): "
                + failure.getMessage(), failure);
      }
      try {
        collective.run();
      } catch (TorchException e) {
        RuntimeException f = collectiveFailure(operation, e);
        if (f instanceof DistributedException d && d.reason() != DistributedException.Reason.FAILED) failure = d;
        throw f;
      }
    } finally {
      lock.unlock();
    }
  }

  private RuntimeException collectiveFailure(String operation, TorchException e) {
    if (e.kind() == TorchException.Kind.ARGUMENT) return new IllegalArgumentException(operation + ": " + e.torchMessage(), e);
    String text = e.torchMessage();
    int lost = group.lostRank();
    if (lost >= 0 || LOST_PEER.matcher(text).find()) {
      String who = lost >= 0 ? "lost rank " + lost : "lost a peer";
      return new DistributedException(operation, rank, DistributedException.Reason.PEER_LOST, lost,
          where(operation) + " " + who + ": " + text, e);
    }
    if (TIMED_OUT.matcher(text).find()) {
      return new DistributedException(operation, rank, DistributedException.Reason.TIMEOUT, -1,
          where(operation) + " timed out after " + human(timeout) + " (a rank did not take part in time): " + text, e);
    }
    return new DistributedException(operation, rank, DistributedException.Reason.FAILED, -1,
        where(operation) + " failed: " + text, e);
  }

  private String where(String operation) {
    return operation + " on rank " + rank + " of " + worldSize + " (" + backend + ", " + initMethod + ")";
  }

  /**
   * Destroys the group ({@code destroy_process_group()}): waits for a collective that another thread runs
   * on it, closes the connections, and on rank 0 stops the store it hosts (which ends the other ranks'
   * access to it: close rank 0 last, or after a final {@link #barrier()}). Closing twice does nothing.
   */
  @Override
  public void close() {
    lock.lock();
    try {
      if (closed) return;
      closed = true;
      group.close();
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    return "ProcessGroup[" + backend + ", rank " + rank + " of " + worldSize + ", " + initMethod + ", timeout "
        + human(timeout) + (closed ? ", closed" : "") + "]";
  }

  // --------------------------------------------------------------------- helpers

  private static String hostPort(String host, int port) {
    return (host.indexOf(':') >= 0 && !host.startsWith("[") ? "[" + host + "]" : host) + ":" + port;
  }

  /** A duration in one unit, as people write it: {@code 250 ms}, {@code 5 s}, {@code 1.5 s}, {@code 30 min}. */
  static String human(Duration d) {
    long ms = d.toMillis();
    if (ms < 1000) return ms + " ms";
    if (ms % 60_000 == 0) return ms / 60_000 + " min";
    if (ms % 1000 == 0) return ms / 1000 + " s";
    return String.format(Locale.ROOT, "%.3f s", ms / 1000.0).replaceAll("0+ s$", " s");
  }

  private static IllegalStateException missing(String name) {
    return new IllegalStateException("initProcessGroup: environment variable " + name + " expected, but not set "
        + "(torchrun sets MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK)");
  }

  private static int requiredInt(Map<String, String> env, String name) {
    String v = env.get(name);
    if (v == null || v.isBlank()) throw missing(name);
    return intVariable(env, name, 0);
  }

  private static int intVariable(Map<String, String> env, String name, int absent) {
    String v = env.get(name);
    if (v == null || v.isBlank()) return absent;
    try {
      return Integer.parseInt(v.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("initProcessGroup: environment variable " + name + "=" + v + " is not an integer", e);
    }
  }
}
