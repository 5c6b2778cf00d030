package io.github.ddpm4j.distributed;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Data-parallel training of one module replicated on every rank of a {@link ProcessGroup}, after
 * {@code torch.nn.parallel.DistributedDataParallel}: each rank computes the loss on its own
 * share of the batch, and {@link #averageGradients()} makes every rank's gradients the mean of
 * all ranks' before the optimizer step, so the replicas stay identical.
 *
 * {@snippet :
 * DistributedDataParallel ddp = new DistributedDataParallel(unet, group); // every rank: rank 0's weights
 * for (int step = 0; step < steps; step++) {
 *   try (Scope s = Scope.open()) {
 *     adam.zeroGrad();
 *     diffusion.loss(myShareOfTheBatch(), g).backward();
 *     ddp.averageGradients();   // all ranks: the mean gradient
 *     adam.step();              // the same update everywhere
 *   }
 * }
 * }
 *
 * <p>Unlike PyTorch's wrapper, this one does not hook into the backward pass: the gradients are
 * averaged in one call after it, in buckets of {@link ProcessGroup#BUCKET_BYTES} (PyTorch overlaps
 * its buckets with the backward pass). The module itself is used as it is, and its forward pass is
 * not wrapped.
 *
 * <p>Not thread-safe, like the module's training; the group serialises its own calls.
 */
public final class DistributedDataParallel {
  private final Module module;
  private final ProcessGroup group;

  /**
   * Wraps {@code module} for training over {@code group}, and makes every rank's copy equal to rank
   * 0's: broadcasts every tensor of its {@link Module#stateDict() state dict} (parameters and
   * buffers) from rank 0, in place, as PyTorch's constructor does. Every rank must construct it
   * with a module of the same structure; the ranks first compare the number of state-dict tensors
   * and their elements, and refuse to go on when they differ.
   *
   * @param module the replica on this rank; it stays the caller's to close
   * @param group the group whose ranks train together
   * @throws IllegalStateException if the module or the group is closed
   * @throws DistributedException if the ranks' modules differ in structure ({@link DistributedException.Reason#FAILED}),
   *     or the broadcast failed or timed out
   */
  public DistributedDataParallel(Module module, ProcessGroup group) {
    this.module = Objects.requireNonNull(module, "module");
    this.group = Objects.requireNonNull(group, "group");
    List<Tensor> state = distinct(module.stateDict().values());
    long elements = 0;
    for (Tensor t : state) elements += t.numel();
    checkSameOnEveryRank("state-dict tensors", state.size());
    checkSameOnEveryRank("state-dict elements", elements);
    group.broadcast(state, 0);
  }

  /** @return the wrapped module */
  public Module module() {
    return module;
  }

  /** @return the group the module trains over */
  public ProcessGroup group() {
    return group;
  }

  /**
   * Makes each parameter's gradient the mean over the ranks of their gradients for it
   * ({@code all_reduce(grad, AVG)} over the parameters that require grad, in buckets), in place.
   * Call it after {@code backward()} and before the optimizer's step, on every rank. A parameter
   * without a gradient on this rank (not used in its forward pass) gets a zero gradient first and
   * counts as zeros in the mean, so every rank reduces the same tensors.
   *
   * @throws IllegalStateException if the module or the group is closed
   * @throws DistributedException if a collective failed or timed out
   */
  public void averageGradients() {
    try (Scope s = Scope.open()) {
      List<Tensor> grads = new ArrayList<>();
      for (Tensor p : module.parameters()) {
        if (!p.requiresGrad()) continue;
        Tensor g = p.grad();
        if (g == null) {
          p.setGrad(Torch.zerosLike(p));
          g = p.grad();
        }
        grads.add(g);
      }
      group.allReduce(grads, ReduceOp.AVG);
    }
  }

  private void checkSameOnEveryRank(String what, double value) {
    double[] all = group.allGather(value);
    for (int r = 0; r < all.length; r++) {
      if (all[r] != value) {
        throw new DistributedException("DistributedDataParallel", group.rank(), DistributedException.Reason.FAILED, -1,
            "DistributedDataParallel on rank " + group.rank() + ": the ranks' modules differ: " + (long) value + " " + what
                + " here, " + (long) all[r] + " on rank " + r + " (every rank needs the same model)", null);
      }
    }
  }

  private static List<Tensor> distinct(Iterable<Tensor> tensors) {
    Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    List<Tensor> out = new ArrayList<>();
    for (Tensor t : tensors) {
      if (seen.add(t)) out.add(t);
    }
    return out;
  }
}
