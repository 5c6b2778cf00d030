package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;

/**
 * One process group of LibTorch's c10d, as the native shim holds it: the store its ranks met
 * through and the communication backend. {@code io.github.ddpm4j.distributed.ProcessGroup}
 * wraps it with {@code torch.distributed}'s API and its errors; this class owns the native
 * object and makes the downcalls, throwing {@link TorchException} with c10d's (or Gloo's)
 * message when one fails.
 *
 * <p>The shim speaks {@code torch.distributed}'s protocol around the group (the store's key
 * prefixes, the store-based barrier, the sequence number), as the Python front end of the
 * LibTorch version in use does, so a Python process on the same LibTorch can be a rank.
 *
 * <p>Not thread-safe: calls on one group must not overlap, and every rank must issue the
 * same collectives in the same order. Each blocking call is bounded by the group's timeout
 * (plus one second of grace for the backend to report its own timeout first).
 */
public final class NativeProcessGroup implements AutoCloseable {
  static {
    NativeLibrary.load();
  }

  /** A communication backend ({@code torch.distributed.Backend}). */
  public enum Backend {
    /** Gloo: CPU tensors, over TCP. */
    GLOO(DD_DIST_GLOO()),
    /** NCCL: CUDA tensors; needs a LibTorch built with CUDA and NCCL. */
    NCCL(DD_DIST_NCCL());

    private final int code;

    Backend(int code) {
      this.code = code;
    }
  }

  /** A reduction ({@code torch.distributed.ReduceOp}). */
  public enum Op {
    /** The sum over the ranks. */
    SUM(DD_DIST_SUM()),
    /** The mean over the ranks (the sum divided by the world size); floating-point tensors only. */
    AVG(DD_DIST_AVG()),
    /** The element-wise maximum over the ranks. */
    MAX(DD_DIST_MAX()),
    /** The element-wise minimum over the ranks. */
    MIN(DD_DIST_MIN());

    private final int code;

    Op(int code) {
      this.code = code;
    }
  }

  /**
   * This process's place in a group, and the group's settings.
   *
   * @param rank this process's rank, in [0, worldSize)
   * @param worldSize the number of ranks, &gt;= 1
   * @param timeoutMillis the bound of the rendezvous and of every collective, &gt; 0
   * @param initBarrier {@code TORCH_DIST_INIT_BARRIER=1}: LibTorch 2.x runs its store-based barrier after
   *     creating the group only then (1.x always runs it)
   * @param deviceIndex the CUDA device of an NCCL group's own tensors; ignored by Gloo
   */
  public record Rendezvous(int rank, int worldSize, long timeoutMillis, boolean initBarrier, int deviceIndex) {}

  private final NativeHandle owned;

  private NativeProcessGroup(MemorySegment handle) {
    this.owned = NativeHandle.of(this, NativeHandle.Kind.PROCESS_GROUP, handle, null);
  }

  /**
   * @param backend a backend
   * @return why this build of the shim cannot create groups of {@code backend} (for NCCL: a CPU
   *     LibTorch, or no visible CUDA device), or {@code null} when it can
   */
  public static String unavailableReason(Backend backend) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment reason = a.allocate(1024);
      if (dd_dist_backend_available(backend.code, reason, reason.byteSize()) != 0) return null;
      return reason.getString(0, StandardCharsets.UTF_8);
    }
  }

  /**
   * Creates a group through a c10d {@code TCPStore} ({@code init_method="tcp://host:port"}): rank 0
   * hosts the store (unless {@code agentStore}) and waits for every rank to join.
   *
   * @param backend the backend
   * @param host the store's address (rank 0's, or the agent's)
   * @param port the store's port, in [1, 65535]
   * @param agentStore a torchelastic agent hosts the store ({@code TORCHELASTIC_USE_AGENT_STORE=True}):
   *     every rank, rank 0 included, is a client
   * @param restartCount {@code TORCHELASTIC_RESTART_COUNT}, part of the key prefix that LibTorch 1.x puts
   *     before an agent's store; ignored otherwise
   * @param rendezvous the rank, world size, timeout and options
   * @return the group, which the caller closes
   * @throws TorchException if the backend is unavailable, an argument is out of range, or the rendezvous
   *     failed (timed out, could not reach the store, a rank did not come)
   */
  public static NativeProcessGroup tcp(Backend backend, String host, int port, boolean agentStore, int restartCount,
      Rendezvous rendezvous) {
    Objects.requireNonNull(host, "host");
    Native n = Native.get();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment h = dd_dist_group_tcp(n.ctx, backend.code, a.allocateFrom(host), port, rendezvous.rank(),
          rendezvous.worldSize(), rendezvous.timeoutMillis(), agentStore ? 1 : 0, restartCount,
          rendezvous.initBarrier() ? 1 : 0, rendezvous.deviceIndex());
      n.check();
      return new NativeProcessGroup(h);
    }
  }

  /**
   * Creates a group through a c10d {@code FileStore} at {@code path} ({@code init_method="file://path"}),
   * a file that every rank can reach and that no earlier group used.
   *
   * @param backend the backend
   * @param path the store's file
   * @param rendezvous the rank, world size, timeout and options
   * @return the group, which the caller closes
   * @throws TorchException if the backend is unavailable, an argument is out of range, or the rendezvous failed
   */
  public static NativeProcessGroup file(Backend backend, String path, Rendezvous rendezvous) {
    Objects.requireNonNull(path, "path");
    Native n = Native.get();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment h = dd_dist_group_file(n.ctx, backend.code, a.allocateFrom(path), rendezvous.rank(),
          rendezvous.worldSize(), rendezvous.timeoutMillis(), rendezvous.initBarrier() ? 1 : 0, rendezvous.deviceIndex());
      n.check();
      return new NativeProcessGroup(h);
    }
  }

  /**
   * Reduces {@code tensors} over the ranks, in place ({@code all_reduce}), in buckets: consecutive
   * tensors of one dtype and device share a flat buffer of at most {@code bucketBytes} (a larger
   * tensor has one of its own; a bucket of one contiguous tensor is reduced without a copy).
   *
   * @param tensors the tensors, the same shapes and dtypes in the same order on every rank
   * @param op the reduction
   * @param bucketBytes the most bytes a bucket holds, &gt; 0
   * @throws IllegalStateException if the group or a tensor is closed
   * @throws TorchException if a collective failed or timed out
   */
  public void allReduce(List<Tensor> tensors, Op op, long bucketBytes) {
    Native n = Native.get();
    dd_dist_all_reduce(n.ctx, handle(), n.handles(tensors), tensors.size(), op.code, bucketBytes);
    n.check(this, tensors);
  }

  /**
   * Copies rank {@code src}'s {@code tensors} into every other rank's, in place ({@code broadcast}),
   * bucketed as {@link #allReduce}.
   *
   * @param tensors the tensors, the same shapes and dtypes in the same order on every rank
   * @param src the rank whose values everyone gets
   * @param bucketBytes the most bytes a bucket holds, &gt; 0
   * @throws IllegalStateException if the group or a tensor is closed
   * @throws TorchException if {@code src} is not a rank, or a collective failed or timed out
   */
  public void broadcast(List<Tensor> tensors, int src, long bucketBytes) {
    Native n = Native.get();
    dd_dist_broadcast(n.ctx, handle(), n.handles(tensors), tensors.size(), src, bucketBytes);
    n.check(this, tensors);
  }

  /**
   * Waits until every rank has called it ({@code barrier}).
   *
   * @throws IllegalStateException if the group is closed
   * @throws TorchException if it failed or timed out
   */
  public void barrier() {
    Native n = Native.get();
    dd_dist_barrier(n.ctx, handle());
    n.check(this);
  }

  /**
   * Gathers one value from every rank ({@code all_gather} of a float64 tensor of one element).
   *
   * @param value this rank's value
   * @param worldSize the group's world size
   * @return the ranks' values, by rank
   * @throws IllegalStateException if the group is closed
   * @throws TorchException if it failed or timed out
   */
  public double[] allGather(double value, int worldSize) {
    Native n = Native.get();
    try (Arena a = Arena.ofConfined()) {
      MemorySegment out = a.allocate(ValueLayout.JAVA_DOUBLE, worldSize);
      dd_dist_all_gather_double(n.ctx, handle(), value, out, worldSize);
      n.check(this);
      return out.toArray(ValueLayout.JAVA_DOUBLE);
    }
  }

  /**
   * @return the rank that the last failed collective lost, or -1 when the backend did not say (a
   *     timeout) or it could not be found: Gloo names a lost peer by its address, which the shim looks
   *     up among the addresses the ranks published at rendezvous
   */
  public int lostRank() {
    MemorySegment h = owned.peek();
    return h == null ? -1 : dd_dist_group_lost_rank(h);
  }

  /**
   * @throws IllegalStateException if closed
   */
  MemorySegment handle() {
    return owned.get();
  }

  /**
   * Destroys the group ({@code destroy_process_group}): waits for its work in flight (bounded by the
   * timeout), closes its connections, and on rank 0 stops the store it hosts. Closing twice does nothing.
   */
  @Override
  public void close() {
    owned.close();
  }
}
