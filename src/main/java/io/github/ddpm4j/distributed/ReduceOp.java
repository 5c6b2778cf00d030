package io.github.ddpm4j.distributed;

import io.github.ddpm4j.torch.NativeProcessGroup;

/**
 * How {@link ProcessGroup#allReduce(io.github.ddpm4j.torch.Tensor, ReduceOp)} combines the
 * ranks' tensors, element by element ({@code torch.distributed.ReduceOp}).
 */
public enum ReduceOp {
  /** The sum over the ranks ({@code ReduceOp.SUM}). */
  SUM(NativeProcessGroup.Op.SUM),
  /**
   * The mean over the ranks ({@code ReduceOp.AVG}), for floating-point tensors. Gloo has no
   * average of its own: it runs as {@link #SUM}, then a division by the world size, as
   * {@code DistributedDataParallel} averages gradients.
   */
  AVG(NativeProcessGroup.Op.AVG),
  /** The maximum over the ranks ({@code ReduceOp.MAX}). */
  MAX(NativeProcessGroup.Op.MAX),
  /** The minimum over the ranks ({@code ReduceOp.MIN}). */
  MIN(NativeProcessGroup.Op.MIN);

  private final NativeProcessGroup.Op op;

  ReduceOp(NativeProcessGroup.Op op) {
    this.op = op;
  }

  NativeProcessGroup.Op op() {
    return op;
  }
}
