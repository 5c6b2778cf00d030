package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Base class of layers and models, after {@code torch.nn.Module}: it owns named
 * parameters, buffers and child modules, and names them with PyTorch's dotted
 * paths ({@code down.0.res.conv1.weight}) so that state dicts move between
 * ddpm4j and PyTorch unchanged.
 *
 * <p>Registered tensors belong to the module and to no {@link Scope}; closing
 * the module frees all of them, children included.
 */
public abstract class Module implements AutoCloseable {
  private final LinkedHashMap<String, Tensor> parameters = new LinkedHashMap<>();
  private final LinkedHashMap<String, Tensor> buffers = new LinkedHashMap<>();
  private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
  private boolean training = true;
  private MemoryFormat memoryFormat = MemoryFormat.CONTIGUOUS_FORMAT;
  private boolean closed;

  /** Creates an empty module in training mode. */
  protected Module() {}

  private static void checkName(String name, Map<String, ?> a, Map<String, ?> b, Map<String, ?> c) {
    if (name == null || name.isEmpty() || name.contains(".")) {
      throw new IllegalArgumentException("a module member name must be non-empty and contain no '.', got '" + name + "'");
    }
    if (a.containsKey(name) || b.containsKey(name) || c.containsKey(name)) {
      throw new IllegalArgumentException("'" + name + "' is already registered");
    }
  }

  /**
   * Registers a trainable tensor ({@code register_parameter}). It becomes a
   * leaf that requires grad, owned by this module.
   *
   * @param name the attribute name, without dots
   * @param value a floating-point tensor; the module takes ownership
   * @return the registered tensor (a detached leaf)
   * @throws IllegalArgumentException if the name is taken or contains a dot, or the tensor is not floating point
   * @throws NullPointerException if {@code value} is null
   * @throws IllegalStateException if {@code value} is closed
   */
  protected final Tensor registerParameter(String name, Tensor value) {
    checkName(name, parameters, buffers, children);
    Objects.requireNonNull(value, "value");
    if (!value.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException("parameter '" + name + "' must be floating point, got " + value.dtype());
    }
    Tensor leaf = leaf(value, true);
    parameters.put(name, leaf);
    return leaf;
  }

  /**
   * Registers a non-trainable tensor that is part of the state dict ({@code register_buffer}).
   *
   * @param name the attribute name, without dots
   * @param value the tensor; the module takes ownership
   * @return the registered tensor
   * @throws IllegalArgumentException if the name is taken or contains a dot
   * @throws NullPointerException if {@code value} is null
   * @throws IllegalStateException if {@code value} is closed
   */
  protected final Tensor registerBuffer(String name, Tensor value) {
    checkName(name, parameters, buffers, children);
    Objects.requireNonNull(value, "value");
    Tensor leaf = leaf(value, false);
    buffers.put(name, leaf);
    return leaf;
  }

  /**
   * Registers a child module ({@code add_module}); its members appear under {@code name.}.
   *
   * @param name the attribute name (for lists, the index as a string)
   * @param module the child; this module takes ownership
   * @param <M> the child type
   * @return {@code module}
   * @throws IllegalArgumentException if the name is taken or contains a dot, or {@code module} is this module
   * @throws NullPointerException if {@code module} is null
   */
  protected final <M extends Module> M registerModule(String name, M module) {
    checkName(name, parameters, buffers, children);
    Objects.requireNonNull(module, "module");
    if (module == this) throw new IllegalArgumentException("a module cannot be its own child ('" + name + "')");
    children.put(name, module);
    return module;
  }

  private static Tensor leaf(Tensor value, boolean requiresGrad) {
    Scope.release(value);
    Tensor leaf = value;
    if (!value.isLeaf() || value.requiresGrad() != requiresGrad) {
      try (GradMode g = GradMode.noGrad()) {
        leaf = Scope.release(value.detach());
      }
      value.close();
      if (requiresGrad) leaf.requiresGrad_(true);
    }
    return leaf;
  }

  /**
   * @param name a parameter registered on this module (not a child)
   * @return the current tensor of that parameter
   * @throws IllegalArgumentException if there is none of that name
   */
  protected final Tensor parameter(String name) {
    Tensor t = parameters.get(name);
    if (t == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no parameter '" + name + "'");
    return t;
  }

  /**
   * @param name a buffer registered on this module (not a child)
   * @return the current tensor of that buffer
   * @throws IllegalArgumentException if there is none of that name
   */
  protected final Tensor buffer(String name) {
    Tensor t = buffers.get(name);
    if (t == null) throw new IllegalArgumentException(getClass().getSimpleName() + " has no buffer '" + name + "'");
    return t;
  }

  /** @return the direct children, by name, in registration order ({@code named_children()}), unmodifiable */
  public final Map<String, Module> namedChildren() {
    return Collections.unmodifiableMap(children);
  }

  /**
   * This module and all its descendants, depth first in registration order,
   * by dotted path ({@code named_modules()}): this module under {@code ""}. A
   * module registered twice appears once, under its first path, as in PyTorch.
   *
   * @return path to module
   * @throws IllegalStateException if this module is closed
   */
  public final Map<String, Module> namedModules() {
    checkOpen();
    LinkedHashMap<String, Module> out = new LinkedHashMap<>();
    walk("", out, Collections.newSetFromMap(new IdentityHashMap<>()));
    return out;
  }

  private void walk(String prefix, Map<String, Module> out, Set<Module> seen) {
    if (!seen.add(this)) return;
    out.put(prefix, this);
    children.forEach((k, m) -> m.walk(prefix.isEmpty() ? k : prefix + "." + k, out, seen));
  }

  private Map<String, Tensor> namedMembers(boolean params) {
    LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
    Set<Tensor> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    namedModules().forEach((path, m) -> (params ? m.parameters : m.buffers).forEach((k, t) -> {
      if (seen.add(t)) out.put(path.isEmpty() ? k : path + "." + k, t);
    }));
    return out;
  }

  /**
   * Every parameter of this module and its descendants, by dotted name, in
   * PyTorch's {@code named_parameters()} order: each module's own parameters
   * (in registration order) before its children's. A tensor shared by two
   * modules appears once. The tensors are the module's own: do not close them.
   *
   * @return dotted name to parameter
   * @throws IllegalStateException if this module is closed
   */
  public final Map<String, Tensor> namedParameters() {
    return namedMembers(true);
  }

  /**
   * @return every buffer of this module and its descendants, by dotted name ({@code named_buffers()})
   * @throws IllegalStateException if this module is closed
   */
  public final Map<String, Tensor> namedBuffers() {
    return namedMembers(false);
  }

  /**
   * @return every parameter, in PyTorch's {@code parameters()} order (what an optimizer takes)
   * @throws IllegalStateException if this module is closed
   */
  public final List<Tensor> parameters() {
    return new ArrayList<>(namedParameters().values());
  }

  /**
   * The tensors of the state dict ({@code state_dict()}): each module's
   * parameters, then its buffers, then its children's, depth first. The tensors
   * are the module's own (no copies): do not close them.
   *
   * @return dotted name to tensor
   */
  public final Map<String, Tensor> stateDict() {
    LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
    collect("", out, true, true);
    return out;
  }

  private void collect(String prefix, Map<String, Tensor> out, boolean params, boolean bufs) {
    checkOpen();
    if (params) parameters.forEach((k, v) -> out.put(prefix + k, v));
    if (bufs) buffers.forEach((k, v) -> out.put(prefix + k, v));
    children.forEach((k, m) -> m.collect(prefix + k + ".", out, params, bufs));
  }

  /**
   * @return the number of parameter elements ({@code sum(p.numel() for p in parameters())})
   * @throws IllegalStateException if this module is closed
   */
  public final long parameterCount() {
    long n = 0;
    for (Tensor p : parameters()) n += p.numel();
    return n;
  }

  /**
   * Sets training mode on this module and its descendants ({@code Module.train}).
   *
   * @param mode true for training (dropout active), false for evaluation
   * @return this module
   */
  public Module train(boolean mode) {
    training = mode;
    for (Module m : children.values()) m.train(mode);
    return this;
  }

  /** @return this module, in training mode ({@code Module.train()}) */
  public final Module train() {
    return train(true);
  }

  /** @return this module, in evaluation mode ({@code Module.eval}) */
  public final Module eval() {
    return train(false);
  }

  /**
   * Whether this module behaves as in training mode on the calling thread ({@code Module.training}): its
   * flag, unless an {@link EvalMode} is open on this thread, which makes every module behave as in
   * evaluation mode there.
   *
   * @return the flag set by {@link #train(boolean)}, and false inside an {@link EvalMode}
   */
  public final boolean isTraining() {
    return training && !EvalMode.active();
  }

  /**
   * Moves every parameter and buffer to {@code device} ({@code Module.to(device)}),
   * replacing the tensors (so gradients are dropped, and accessors return the
   * new tensors). Optimizers made before the move keep the old tensors: make
   * them after. Parameters keep their {@code requires_grad}.
   *
   * @param device the target device
   * @return this module
   * @throws io.github.ddpm4j.torch.TorchException if the device is not available
   */
  public final Module to(Device device) {
    return apply(t -> t.to(device));
  }

  /**
   * Converts every floating-point parameter and buffer to {@code dtype}
   * ({@code Module.to(dtype)}); integer buffers keep theirs. As with
   * {@link #to(Device)}, the tensors are replaced and gradients dropped.
   *
   * @param dtype a floating-point type
   * @return this module
   * @throws IllegalArgumentException if {@code dtype} is not floating point
   */
  public final Module to(DType dtype) {
    if (!dtype.isFloatingPoint()) throw new IllegalArgumentException("modules can only be cast to floating-point dtypes, got " + dtype);
    return apply(t -> t.dtype().isFloatingPoint() ? t.to(dtype) : t.alias());
  }

  /**
   * Lays out every 4-d parameter and buffer (convolution weights) in {@code format}
   * ({@code Module.to(memory_format=)}); others are kept. With {@link MemoryFormat#CHANNELS_LAST}
   * and a channels-last input, convolutions keep their activations channels-last. As with
   * {@link #to(Device)}, the tensors are replaced and gradients dropped.
   *
   * @param format the layout
   * @return this module
   */
  public final Module to(MemoryFormat format) {
    java.util.Objects.requireNonNull(format, "format");
    apply(t -> t.dim() == 4 ? t.contiguous(format) : t.alias());
    for (Module m : namedModules().values()) m.memoryFormat = format;
    return this;
  }

  /**
   * @return the layout {@link #to(MemoryFormat)} last gave this module's 4-d tensors
   *     ({@link MemoryFormat#CONTIGUOUS_FORMAT} until then)
   */
  public final MemoryFormat memoryFormat() {
    return memoryFormat;
  }

  /**
   * Replaces every parameter and buffer of the tree by {@code f} of it, as
   * {@code Module._apply} does: each shared module and each shared tensor is
   * converted once, parameters stay leaves with their {@code requires_grad},
   * and the old handles are closed only after every conversion succeeded.
   */
  private Module apply(UnaryOperator<Tensor> f) {
    checkOpen();
    Map<Tensor, Tensor> converted = new IdentityHashMap<>();
    try (GradMode g = GradMode.noGrad()) {
      try {
        for (Module m : namedModules().values()) {
          for (Tensor t : m.parameters.values()) convert(t, f, converted, t.requiresGrad());
          for (Tensor t : m.buffers.values()) convert(t, f, converted, false);
        }
      } catch (RuntimeException e) {
        converted.values().forEach(Tensor::close);
        throw e;
      }
    }
    for (Module m : namedModules().values()) {
      m.parameters.replaceAll((k, t) -> converted.get(t));
      m.buffers.replaceAll((k, t) -> converted.get(t));
    }
    converted.keySet().forEach(Tensor::close);
    return this;
  }

  private static void convert(Tensor old, UnaryOperator<Tensor> f, Map<Tensor, Tensor> converted, boolean requiresGrad) {
    if (converted.containsKey(old)) return;
    Tensor moved = Scope.release(f.apply(old));
    converted.put(old, moved);
    if (requiresGrad) moved.requiresGrad_(true);
  }

  /**
   * Sets whether autograd records operations on every parameter
   * ({@code Module.requires_grad_}), for example to freeze a model or an EMA copy.
   *
   * @param requiresGrad whether the parameters require grad
   * @return this module
   * @throws IllegalStateException if this module is closed
   */
  public final Module requiresGrad_(boolean requiresGrad) {
    for (Tensor p : parameters()) p.requiresGrad_(requiresGrad);
    return this;
  }

  /**
   * Drops every parameter's gradient ({@code Module.zero_grad(set_to_none=True)},
   * PyTorch 2's default).
   *
   * @throws IllegalStateException if this module is closed
   */
  public final void zeroGrad() {
    zeroGrad(true);
  }

  /**
   * Clears every parameter's gradient ({@code Module.zero_grad(set_to_none)}).
   *
   * @param setToNone drop the gradient tensors instead of zeroing them in place
   * @throws IllegalStateException if this module is closed
   */
  public final void zeroGrad(boolean setToNone) {
    for (Tensor p : parameters()) p.zeroGrad(setToNone);
  }

  /**
   * A strict {@link #loadStateDict(Map, boolean)}: the keys must match exactly.
   *
   * @param state dotted name to tensor; tensors are copied, not taken over
   * @throws StateDictMismatchException listing missing, unexpected and mis-shaped keys
   */
  public final void loadStateDict(Map<String, Tensor> state) {
    loadStateDict(state, true);
  }

  /**
   * Copies values into this module's parameters and buffers
   * ({@code load_state_dict}), converting dtype and device as {@code copy_}
   * does, without recording autograd history. Nothing is copied unless every
   * check passes. As in PyTorch, a shape mismatch fails even when not strict.
   *
   * @param state dotted name to tensor; tensors are copied, not taken over
   * @param strict require the same keys
   * @return the keys that were missing and unexpected (both empty after a strict load)
   * @throws StateDictMismatchException listing missing, unexpected and mis-shaped keys, when
   *     strict and the keys differ, or when any shared key has another shape
   * @throws NullPointerException if {@code state} or one of its values is null
   * @throws IllegalStateException if this module or a tensor of {@code state} is closed
   */
  public final LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
    Objects.requireNonNull(state, "state");
    state.forEach((k, v) -> Objects.requireNonNull(v, () -> "state dict entry '" + k + "' is null"));
    Map<String, Tensor> own = stateDict();
    List<String> missing = new ArrayList<>();
    List<String> unexpected = new ArrayList<>();
    List<String> misshaped = new ArrayList<>();
    for (String k : own.keySet()) if (!state.containsKey(k)) missing.add(k);
    for (Map.Entry<String, Tensor> e : state.entrySet()) {
      Tensor mine = own.get(e.getKey());
      if (mine == null) {
        unexpected.add(e.getKey());
      } else if (!Arrays.equals(mine.shape(), e.getValue().shape())) {
        misshaped.add(e.getKey() + ": checkpoint " + Arrays.toString(e.getValue().shape()) + ", model "
            + Arrays.toString(mine.shape()));
      }
    }
    if (!misshaped.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
      throw new StateDictMismatchException(missing, unexpected, misshaped);
    }
    try (GradMode g = GradMode.noGrad()) {
      for (Map.Entry<String, Tensor> e : own.entrySet()) {
        Tensor src = state.get(e.getKey());
        if (src != null) e.getValue().copy_(src);
      }
    }
    return new LoadResult(List.copyOf(missing), List.copyOf(unexpected));
  }

  /**
   * The outcome of a non-strict {@link #loadStateDict}.
   *
   * @param missingKeys keys of this module absent from the loaded dict
   * @param unexpectedKeys keys of the loaded dict that this module lacks
   */
  public record LoadResult(List<String> missingKeys, List<String> unexpectedKeys) {}

  private void checkOpen() {
    if (closed) throw new IllegalStateException(getClass().getSimpleName() + " is closed");
  }

  /**
   * The module's own configuration, as PyTorch's {@code extra_repr}: for
   * example {@code in_features=3, out_features=4, bias=True}. May span lines.
   *
   * @return the description; empty when there is none
   */
  protected String extraRepr() {
    return "";
  }

  /**
   * The module tree in exactly PyTorch's {@code Module.__repr__} layout: the
   * class name, then the extra repr on one line when there are no children,
   * otherwise one indented line per extra-repr line and per child.
   *
   * @return the description
   */
  @Override
  public String toString() {
    List<String> lines = new ArrayList<>();
    String extra = extraRepr();
    int extraLines = 0;
    if (extra != null && !extra.isEmpty()) {
      for (String l : extra.split("\n", -1)) lines.add(l);
      extraLines = lines.size();
    }
    children.forEach((k, m) -> lines.add("(" + k + "): " + m.toString().replace("\n", "\n  ")));
    StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append('(');
    if (!lines.isEmpty()) {
      if (extraLines == 1 && children.isEmpty()) {
        sb.append(lines.get(0));
      } else {
        sb.append("\n  ").append(String.join("\n  ", lines)).append('\n');
      }
    }
    return sb.append(')').toString();
  }

  /** Frees every parameter, buffer and child. Closing twice does nothing. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    parameters.values().forEach(Tensor::close);
    buffers.values().forEach(Tensor::close);
    children.values().forEach(Module::close);
  }
}
