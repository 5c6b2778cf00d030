package io.github.ddpm4j.optim;

import io.github.ddpm4j.nn.Repr;
import io.github.ddpm4j.torch.NativeOptimizer;
import io.github.ddpm4j.torch.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A first-order optimizer over a fixed list of parameter tensors
 * ({@code torch.optim.Optimizer}), computed by LibTorch's own C++
 * implementation. One parameter group; the learning rate may change between
 * steps (for schedules). The optimizer keeps its state (step counts, moment
 * estimates) natively: {@link #close()} frees it.
 *
 * <p>It updates the parameters' storage, so it must be made after any
 * {@link Module#to(io.github.ddpm4j.torch.Device)} or
 * {@link Module#to(io.github.ddpm4j.torch.DType)}, which replace the tensors.
 */
public abstract sealed class Optimizer implements AutoCloseable permits Adam, AdamW {
  private final List<Tensor> params;
  private final NativeOptimizer opt;
  private final String name;

  Optimizer(String name, List<Tensor> params, AdamOptions options, boolean decoupled) {
    this.name = name;
    Objects.requireNonNull(params, "params");
    Objects.requireNonNull(options, "options");
    if (params.isEmpty()) throw new IllegalArgumentException(name + ": params is an empty list");
    for (int i = 0; i < params.size(); i++) {
      Tensor p = params.get(i);
      if (p == null) throw new NullPointerException(name + ": params[" + i + "] is null");
      if (p.isClosed()) throw new IllegalStateException(name + ": params[" + i + "] is closed");
      if (!p.dtype().isFloatingPoint()) {
        throw new IllegalArgumentException(name + ": params[" + i + "] has dtype " + p.dtype() + "; only floating-point tensors can be optimized");
      }
      if (!p.isLeaf() || !p.requiresGrad()) {
        throw new IllegalArgumentException(name + ": params[" + i + "] must be a leaf tensor that requires grad (a module parameter)");
      }
    }
    this.params = List.copyOf(params);
    this.opt = NativeOptimizer.adam(this.params, options.lr(), options.beta1(), options.beta2(), options.eps(),
        options.weightDecay(), options.amsgrad(), decoupled);
  }

  /**
   * Applies one update from the parameters' current gradients ({@code Optimizer.step()}).
   * Parameters without a gradient are skipped.
   *
   * @throws IllegalStateException if the optimizer is closed
   */
  public void step() {
    opt.step();
  }

  /**
   * Drops every parameter's gradient ({@code Optimizer.zero_grad()}, whose default is
   * {@code set_to_none=True} since PyTorch 2.0), on every LibTorch version; as
   * {@link io.github.ddpm4j.nn.Module#zeroGrad()} does. The next backward pass
   * allocates fresh gradients, and a parameter without one is skipped by {@link #step()}.
   *
   * @throws IllegalStateException if the optimizer is closed
   */
  public void zeroGrad() {
    opt.zeroGrad(true);
  }

  /**
   * Clears every parameter's gradient ({@code Optimizer.zero_grad(set_to_none)}).
   *
   * @param setToNone drop the gradients, as {@link #zeroGrad()} does; false zeroes them in place
   * @throws IllegalStateException if the optimizer is closed
   */
  public void zeroGrad(boolean setToNone) {
    opt.zeroGrad(setToNone);
  }

  /**
   * Sets the learning rate used from the next {@link #step()} on
   * ({@code param_group['lr'] = lr}).
   *
   * @param lr the learning rate, finite and &gt;= 0
   * @throws IllegalArgumentException if {@code lr} is negative or not finite
   * @throws IllegalStateException if the optimizer is closed
   */
  public void setLr(double lr) {
    if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("lr must be finite and >= 0, got " + lr);
    opt.setLr(lr);
  }

  /**
   * @return the current learning rate ({@code param_groups[0]['lr']})
   * @throws IllegalStateException if the optimizer is closed
   */
  public double getLr() {
    return opt.getLr();
  }

  /** @return the optimized tensors, in the order given, unmodifiable */
  public List<Tensor> parameters() {
    return params;
  }

  /**
   * Serialises the optimizer state (step counts, moment estimates and options)
   * in LibTorch's C++ archive format ({@code torch::save(optimizer, ...)}), for
   * checkpoints. It is not Python's {@code optimizer.state_dict()} pickle.
   *
   * @return the archive bytes
   * @throws IllegalStateException if the optimizer is closed
   */
  public byte[] saveState() {
    return opt.saveState();
  }

  /**
   * Restores a state written by {@link #saveState()} of an optimizer of the
   * same kind over parameters of the same shapes, in the same order; the next
   * {@link #step()} continues exactly where that optimizer left off.
   *
   * @param state the archive bytes
   * @throws IllegalArgumentException if {@code state} is empty
   * @throws io.github.ddpm4j.torch.TorchException if the archive is corrupt or does not fit the parameters
   * @throws IllegalStateException if the optimizer is closed
   */
  public void loadState(byte[] state) {
    Objects.requireNonNull(state, "state");
    if (state.length == 0) throw new IllegalArgumentException(name + ": state is empty");
    opt.loadState(state);
  }

  /** Frees the native optimizer and its state; the parameters stay. Closing twice does nothing. */
  @Override
  public void close() {
    opt.close();
  }

  /** @return the optimizer's name and learning rate, or that it is closed */
  @Override
  public String toString() {
    try {
      return name + "(lr=" + Repr.pyFloat(getLr()) + ", params=" + params.size() + ")";
    } catch (IllegalStateException e) {
      return name + "[closed]";
    }
  }
}
