package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A chain of one-tensor modules applied in order ({@code torch.nn.Sequential}).
 * The {@code i}-th module is registered under the name {@code "i"}, as in
 * PyTorch ({@code 0.weight}, {@code 2.bias}). The container owns its modules.
 */
public final class Sequential extends Module implements UnaryModule {
  private final List<UnaryModule> steps = new ArrayList<>();

  /**
   * @param modules the modules, each a {@link Module} that implements {@link UnaryModule}; the container
   *     takes ownership
   * @throws IllegalArgumentException if a module does not implement {@link UnaryModule} or appears twice
   * @throws NullPointerException if a module is null
   */
  public Sequential(Module... modules) {
    for (Module m : modules) add(m);
  }

  /**
   * Appends a module ({@code Sequential.append}).
   *
   * @param module a {@link Module} that implements {@link UnaryModule}; the container takes ownership
   * @return this container
   * @throws IllegalArgumentException if the module does not implement {@link UnaryModule} or is already here
   * @throws NullPointerException if {@code module} is null
   */
  public Sequential add(Module module) {
    Objects.requireNonNull(module, "module");
    if (!(module instanceof UnaryModule u)) {
      throw new IllegalArgumentException(module.getClass().getSimpleName() + " has no one-tensor forward (it does not implement UnaryModule)");
    }
    for (UnaryModule s : steps) {
      if (s == u) throw new IllegalArgumentException("module " + module + " is already in this Sequential");
    }
    registerModule(Integer.toString(steps.size()), module);
    steps.add(u);
    return this;
  }

  /**
   * @param index the position, 0-based
   * @return the module at {@code index}
   * @throws IndexOutOfBoundsException if {@code index} is not in {@code [0, size())}
   */
  public Module get(int index) {
    Objects.checkIndex(index, steps.size());
    return (Module) steps.get(index);
  }

  /** @return the number of modules */
  public int size() {
    return steps.size();
  }

  /** @return the modules in order, unmodifiable */
  public List<Module> modules() {
    List<Module> out = new ArrayList<>(steps.size());
    for (UnaryModule s : steps) out.add((Module) s);
    return Collections.unmodifiableList(out);
  }

  /**
   * Feeds {@code input} through every module in order. Intermediate results are
   * closed as soon as the next module has consumed them (autograd keeps what
   * it needs), so only the result remains.
   *
   * @param input whatever the first module accepts
   * @return the last module's output, or a new handle to {@code input} when the container is empty
   * @throws IllegalArgumentException if a module rejects its input; the message names that module
   */
  @Override
  public Tensor forward(Tensor input) {
    Checks.input(input, this);
    Tensor x = input;
    try {
      for (UnaryModule s : steps) {
        Tensor y = s.forward(x);
        if (x != input && x != y) x.close();
        x = y;
      }
    } catch (RuntimeException e) {
      if (x != input) x.close();
      throw e;
    }
    return x == input ? input.alias() : x;
  }
}
