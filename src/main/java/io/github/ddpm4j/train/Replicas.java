package io.github.ddpm4j.train;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.Tensor;

/**
 * What the training loop asks of the processes that train one model together: its place among them,
 * and the few collectives of a data-parallel step. A single process is the group of one, whose
 * collectives change nothing.
 */
interface Replicas {
  /** The single process: rank 0 of 1. */
  Replicas SINGLE = new Replicas() {
    @Override
    public int rank() {
      return 0;
    }

    @Override
    public int worldSize() {
      return 1;
    }

    @Override
    public void replicate(Module model) {}

    @Override
    public void averageGradients() {}

    @Override
    public void sum(Tensor values) {}

    @Override
    public double[] allGather(double value) {
      return new double[] {value};
    }
  };

  /** @return this process's rank, 0..worldSize-1 */
  int rank();

  /** @return the number of processes */
  int worldSize();

  /**
   * Makes {@code model} the same on every rank (rank 0's parameters and buffers), and makes it the
   * model whose gradients {@link #averageGradients()} averages.
   *
   * @param model the trained model
   */
  void replicate(Module model);

  /** Replaces each gradient of the replicated model by its average over the ranks (after backward, before the step). */
  void averageGradients();

  /**
   * Sums a tensor over the ranks, in place.
   *
   * @param values a float tensor on the training device, the same shape on every rank
   */
  void sum(Tensor values);

  /**
   * @param value this rank's value
   * @return every rank's value, by rank
   */
  double[] allGather(double value);
}
