package io.github.ddpm4j.distributed;

import java.util.OptionalInt;

/**
 * A process group's operation failed: the rendezvous did not assemble the group, a collective
 * timed out, a peer was lost, or the backend is not available. The message names the
 * operation, this process's rank, the reason, and c10d's (or Gloo's) own text, for example
 * {@code allReduce on rank 0 of 2 (gloo, tcp://127.0.0.1:29500) lost rank 1: [...pair.cc:537]
 * Read error [127.0.0.1]:41395: Connection reset by peer}.
 *
 * <p>After a timeout or a lost peer the group cannot be used again: every later collective on
 * it throws this exception again (with the first failure as its cause). Close it, and create
 * a new group if the job goes on.
 */
public class DistributedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** Why an operation failed. */
  public enum Reason {
    /** It did not finish within the group's timeout: a rank did not arrive, or did not answer. */
    TIMEOUT,
    /** A peer's connection broke: its process died, or its host became unreachable. */
    PEER_LOST,
    /** The backend cannot run here (NCCL without a CUDA build of LibTorch, or no Gloo in the shim). */
    UNAVAILABLE,
    /** Another failure, described by the message. */
    FAILED
  }

  private final String operation;
  private final int rank;
  private final Reason reason;
  private final int lostRank;

  /**
   * @param operation the operation that failed, as {@link ProcessGroup} names it ({@code "allReduce"})
   * @param rank the rank of the process where it failed
   * @param reason why it failed
   * @param lostRank the rank that was lost, or -1 when not known
   * @param message the whole message
   * @param cause the underlying failure, may be null
   */
  public DistributedException(String operation, int rank, Reason reason, int lostRank, String message, Throwable cause) {
    super(message, cause);
    this.operation = operation;
    this.rank = rank;
    this.reason = reason;
    this.lostRank = lostRank;
  }

  /** @return the operation that failed: {@code initProcessGroup}, {@code allReduce}, {@code broadcast}, {@code barrier} or {@code allGather} */
  public String operation() {
    return operation;
  }

  /** @return the rank of the process where it failed */
  public int rank() {
    return rank;
  }

  /** @return why it failed */
  public Reason reason() {
    return reason;
  }

  /**
   * @return the rank whose connection broke, when it is known: Gloo names a lost peer by its address,
   *     which the shim looks up among the addresses the ranks published when the group was created;
   *     a lost rank 0 is also recognised by its store being unreachable
   */
  public OptionalInt lostRank() {
    return lostRank >= 0 ? OptionalInt.of(lostRank) : OptionalInt.empty();
  }
}
