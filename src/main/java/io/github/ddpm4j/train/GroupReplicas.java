package io.github.ddpm4j.train;

import io.github.ddpm4j.distributed.DistributedDataParallel;
import io.github.ddpm4j.distributed.ProcessGroup;
import io.github.ddpm4j.distributed.ReduceOp;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;

/**
 * The replicas of a data-parallel run over a c10d {@link ProcessGroup}, with
 * {@link DistributedDataParallel} for the model; it also counts the time spent averaging gradients.
 */
final class GroupReplicas implements Replicas {
  private final ProcessGroup group;
  private DistributedDataParallel ddp;
  private long averageNanos;
  private long averages;

  /** @param group the group of the run's processes (not owned) */
  GroupReplicas(ProcessGroup group) {
    this.group = group;
  }

  @Override
  public int rank() {
    return group.rank();
  }

  @Override
  public int worldSize() {
    return group.worldSize();
  }

  @Override
  public void replicate(Module model) {
    ddp = new DistributedDataParallel(model, group);
  }

  @Override
  public void averageGradients() {
    long t0 = System.nanoTime();
    ddp.averageGradients();
    averageNanos += System.nanoTime() - t0;
    averages++;
  }

  @Override
  public void sum(Tensor values) {
    group.allReduce(values, ReduceOp.SUM);
  }

  @Override
  public double[] allGather(double value) {
    return group.allGather(value);
  }

  /**
   * @param device where the run trains
   * @throws IllegalArgumentException if the group's backend cannot reduce tensors on {@code device}
   */
  void checkDevice(Device device) {
    boolean nccl = group.backend().equals("nccl");
    if (nccl != device.isCuda()) {
      throw new IllegalArgumentException("the process group's backend " + group.backend() + " reduces " + (nccl ? "CUDA" : "CPU")
          + " tensors, but this run trains on " + device + ": use " + (nccl ? "gloo on the CPU" : "nccl on CUDA"));
    }
  }

  /** @return the mean time of one {@link #averageGradients()}, in milliseconds (NaN before the first) */
  double averageMillis() {
    return averages == 0 ? Double.NaN : averageNanos / 1e6 / averages;
  }
}
