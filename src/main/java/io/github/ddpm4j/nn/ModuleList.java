package io.github.ddpm4j.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;

/**
 * An indexed list of child modules ({@code torch.nn.ModuleList}): the
 * {@code i}-th module is registered under the name {@code "i"}, so its
 * parameters appear as {@code i.weight}, {@code blocks.i.conv.bias} and so on,
 * as in PyTorch. The list owns its modules: closing it closes them.
 *
 * @param <M> the element type
 */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
  private final List<M> items = new ArrayList<>();

  /** Creates an empty list. */
  public ModuleList() {}

  /**
   * Creates a list holding {@code modules}, in order.
   *
   * @param modules the modules; the list takes ownership
   * @throws NullPointerException if {@code modules} or one of them is null
   * @throws IllegalArgumentException if a module appears twice
   */
  public ModuleList(List<? extends M> modules) {
    for (M m : Objects.requireNonNull(modules, "modules")) add(m);
  }

  /**
   * Appends a module, registered under the name {@code String.valueOf(size())}
   * ({@code ModuleList.append}).
   *
   * @param module the module; the list takes ownership
   * @return this list
   * @throws NullPointerException if {@code module} is null
   * @throws IllegalArgumentException if {@code module} is already in this list
   */
  public ModuleList<M> add(M module) {
    Objects.requireNonNull(module, "module");
    for (M m : items) {
      if (m == module) throw new IllegalArgumentException("module " + module + " is already at index " + items.indexOf(m));
    }
    registerModule(Integer.toString(items.size()), module);
    items.add(module);
    return this;
  }

  /**
   * @param index the position, 0-based
   * @return the module at {@code index}
   * @throws IndexOutOfBoundsException if {@code index} is not in {@code [0, size())}
   */
  public M get(int index) {
    Objects.checkIndex(index, items.size());
    return items.get(index);
  }

  /** @return the number of modules */
  public int size() {
    return items.size();
  }

  /** @return whether the list holds no modules */
  public boolean isEmpty() {
    return items.isEmpty();
  }

  /** @return the modules, in order, as an unmodifiable list */
  public List<M> asList() {
    return Collections.unmodifiableList(items);
  }

  /** @return an iterator over the modules, in order; it does not support removal */
  @Override
  public Iterator<M> iterator() {
    return asList().iterator();
  }
}
