package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import io.github.ddpm4j.ffi.dd_tensor_info;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * An n-dimensional array owned by LibTorch ({@code at::Tensor}), named and
 * behaving as in PyTorch, with method names in camelCase ({@code index_select}
 * becomes {@link #indexSelect}). Trailing underscores mark in-place methods, as
 * in PyTorch ({@link #add_(Tensor)}).
 *
 * <h2>Lifetime</h2>
 * A {@code Tensor} owns exactly one native handle, freed exactly once: when
 * the {@link Scope} that owns it closes, when {@link #close()} is called, or,
 * as a backstop only, after it becomes unreachable while no scope owns it ({@link NativeMemory}
 * bounds the native memory such tensors keep alive). Every method of a closed
 * tensor throws {@link IllegalStateException} and never touches freed memory. A
 * tensor made over Java-owned memory ({@link Torch#fromSegment}), and every result
 * that shares that memory (views, and ops that return their input unchanged), throws
 * {@link IllegalStateException} once the memory is freed.
 * New tensors join the innermost open {@link Scope} of the creating thread.
 *
 * <h2>Errors</h2>
 * Shape, dtype and device errors found by LibTorch throw {@link TorchException}
 * with LibTorch's message and the failing shim function; the tensor and the
 * JVM remain usable.
 *
 * <h2>Threads</h2>
 * A tensor may be used from any thread, but not concurrently with its own
 * {@link #close()}. In-place methods on one tensor from several threads at once
 * race as they do in PyTorch.
 */
public final class Tensor implements AutoCloseable {
  static {
    NativeLibrary.load();
  }

  private static final int NEG = DD_NEG(), ABS = DD_ABS(), EXP = DD_EXP(), LOG = DD_LOG(), SQRT = DD_SQRT(),
      RSQRT = DD_RSQRT(), SIN = DD_SIN(), COS = DD_COS(), TANH = DD_TANH(), SIGMOID = DD_SIGMOID(),
      RELU = DD_RELU(), SILU = DD_SILU(), GELU = DD_GELU(), SQUARE = DD_SQUARE(), SIGN = DD_SIGN(),
      FLOOR = DD_FLOOR(), CEIL = DD_CEIL(), ROUND = DD_ROUND(), RECIPROCAL = DD_RECIPROCAL(), ERF = DD_ERF(),
      LOG1P = DD_LOG1P(), EXPM1 = DD_EXPM1(), LOGICAL_NOT = DD_LOGICAL_NOT(), ISNAN = DD_ISNAN(),
      ISFINITE = DD_ISFINITE(), TRUNC = DD_TRUNC();
  private static final int ADD = DD_ADD(), SUB = DD_SUB(), MUL = DD_MUL(), DIV = DD_DIV(), POW = DD_POW(),
      MAXIMUM = DD_MAXIMUM(), MINIMUM = DD_MINIMUM(), EQ = DD_EQ(), NE = DD_NE(), LT = DD_LT(), LE = DD_LE(),
      GT = DD_GT(), GE = DD_GE(), LOGICAL_AND = DD_LOGICAL_AND(), LOGICAL_OR = DD_LOGICAL_OR(),
      REMAINDER = DD_REMAINDER(), ATAN2 = DD_ATAN2(), FLOOR_DIVIDE = DD_FLOOR_DIVIDE(), RSUB = DD_RSUB(),
      RDIV = DD_RDIV(), RPOW = DD_RPOW();
  private static final int SUM = DD_SUM(), MEAN = DD_MEAN(), AMAX = DD_AMAX(), AMIN = DD_AMIN(), PROD = DD_PROD(),
      LOGSUMEXP = DD_LOGSUMEXP(), ALL = DD_ALL(), ANY = DD_ANY();
  private static final int VIEW = DD_VIEW(), RESHAPE = DD_RESHAPE(), PERMUTE = DD_PERMUTE(), EXPAND = DD_EXPAND(),
      REPEAT = DD_REPEAT(), FLIP = DD_FLIP();
  private static final long[] NO_DIMS = new long[0];

  /** The native handle: freed once, by close(), the scope or the Cleaner; also the data views and the accounting. */
  private final NativeHandle owned;
  private long[] sizes;
  private DType dtype;
  private Device device;

  /**
   * Wraps a new handle; it joins the innermost open scope of the thread, or else gets the GC backstop.
   *
   * @param backing Java-owned memory the tensor reads (made over, or sharing, a segment), or null
   */
  Tensor(Native thread, MemorySegment handle, MemorySegment[] backing) {
    this.owned = new NativeHandle(NativeHandle.Kind.TENSOR, handle, backing);
    Scope s = thread.scope;
    if (s != null) {
      s.add(owned);
    } else {
      owned.backstop(this);
    }
  }

  /** @return the owner of this tensor's handle, for {@link Scope} */
  NativeHandle owned() {
    return owned;
  }

  /** Wraps the handle a creating downcall (one without tensor inputs) returned, after checking the call's error record. */
  static Tensor wrap(Native thread, MemorySegment handle) {
    thread.check();
    return new Tensor(thread, handle, null);
  }

  /**
   * {@link #wrap(Native, MemorySegment)} for a creating downcall that read the handle of
   * {@code owner} (a {@link Generator}), which it keeps reachable until the call has returned.
   */
  static Tensor wrap(Native thread, MemorySegment handle, Object owner) {
    thread.check(owner);
    return new Tensor(thread, handle, null);
  }

  /**
   * Wraps the handle an op on {@code a} returned, after checking the call's error
   * record; keeps {@code a} reachable until the call has returned, so that no op on a
   * tensor needs a reachability fence of its own. Any op may return its input or a view
   * of it (dropout in evaluation mode, {@code contiguous} on a contiguous tensor,
   * {@code to} an unchanged dtype), so a result that shares the storage of an input made
   * over Java-owned memory ({@link Torch#fromSegment}) inherits that input's liveness
   * check: using it after the memory is freed throws {@link IllegalStateException}
   * instead of reading freed memory. Every op with tensor inputs goes through one of these
   * methods.
   */
  static Tensor result(Native thread, MemorySegment handle, Tensor a) {
    thread.check(a);
    return new Tensor(thread, handle, backingOf(handle, a));
  }

  /** {@link #result(Native, MemorySegment, Tensor)} for an op on two tensors, either may be null. */
  static Tensor result(Native thread, MemorySegment handle, Tensor a, Tensor b) {
    thread.check(a, b);
    MemorySegment[] m = backingOf(handle, a);
    return new Tensor(thread, handle, m != null ? m : backingOf(handle, b));
  }

  /** {@link #result(Native, MemorySegment, Tensor)} for an op on three tensors, any may be null. */
  static Tensor result(Native thread, MemorySegment handle, Tensor a, Tensor b, Tensor c) {
    Reference.reachabilityFence(c);
    thread.check(a, b);
    MemorySegment[] m = backingOf(handle, a);
    if (m == null) m = backingOf(handle, b);
    return new Tensor(thread, handle, m != null ? m : backingOf(handle, c));
  }

  /** {@link #result(Native, MemorySegment, Tensor)} for an op on a list of tensors. */
  static Tensor result(Native thread, MemorySegment handle, List<Tensor> inputs) {
    thread.check(inputs);
    MemorySegment[] m = null;
    for (int i = 0; i < inputs.size() && m == null; i++) m = backingOf(handle, inputs.get(i));
    return new Tensor(thread, handle, m);
  }

  /**
   * @return {@code input}'s Java-owned memory if the new handle shares its storage, else null;
   *     asks LibTorch only when {@code input} is over Java-owned memory
   */
  private static MemorySegment[] backingOf(MemorySegment handle, Tensor input) {
    if (input == null || input.owned.backing() == null) return null;
    MemorySegment h = input.owned.peek();
    return h != null && Critical.tensorIsAliasOf(handle, h) != 0 ? input.owned.backing() : null;
  }

  /** @return the Java-owned memory this tensor reads (made over, or sharing, a segment), or null */
  MemorySegment[] backing() {
    return owned.backing();
  }

  /** @return the address of the first element, 0 for an empty tensor (for tests of aliasing) */
  long dataAddress() {
    return dd_tensor_info.data_ptr(info(Native.get())).address();
  }

  /**
   * The live native handle, for a downcall; the caller keeps this tensor reachable until the
   * call has returned ({@link Native#check(Object)}, or {@link #result}).
   *
   * @throws IllegalStateException if this tensor is closed, or the Java memory it was made over is freed
   */
  MemorySegment handle() {
    return owned.get();
  }

  // ------------------------------------------------------------------ metadata

  /** @return whether this tensor's handle has been freed */
  public boolean isClosed() {
    return owned.isClosed();
  }

  /** @return this tensor's {@code dd_tensor_info}, in scratch slot 2 of {@code n} */
  private MemorySegment info(Native n) {
    MemorySegment out = n.words(2, 8);
    Critical.tensorInfoGet(n.ctx, handle(), out);
    n.check(this);
    return out;
  }

  private long[] sizes() {
    handle(); // a closed tensor has no metadata either
    long[] s = sizes;
    if (s == null) {
      Native n = Native.get();
      MemorySegment buf = n.words(0, Native.SLOT_LONGS);
      long nd = Critical.tensorShape(n.ctx, handle(), buf, MemorySegment.NULL, Native.SLOT_LONGS);
      n.check(this);
      if (nd > Native.SLOT_LONGS) throw new IllegalStateException("tensor has more than " + Native.SLOT_LONGS + " dimensions");
      s = buf.asSlice(0, nd * 8).toArray(ValueLayout.JAVA_LONG);
      sizes = s;
    }
    return s;
  }

  /** @return a copy of the sizes, outermost first ({@code Tensor.shape}) */
  public long[] shape() {
    return sizes().clone();
  }

  /**
   * @param dim a dimension, negative counts from the end
   * @return the size of {@code dim} ({@code Tensor.size(dim)})
   * @throws IndexOutOfBoundsException if {@code dim} is out of range
   */
  public long size(int dim) {
    long[] s = sizes();
    int d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) {
      throw new IndexOutOfBoundsException("dimension " + dim + " is out of range for a " + s.length + "-d tensor");
    }
    return s[d];
  }

  /** @return the number of dimensions ({@code Tensor.dim()}) */
  public int dim() {
    return sizes().length;
  }

  /** @return the number of elements ({@code Tensor.numel()}) */
  public long numel() {
    long n = 1;
    for (long s : sizes()) n *= s;
    return n;
  }

  /** @return the strides in elements ({@code Tensor.stride()}) */
  public long[] stride() {
    Native n = Native.get();
    MemorySegment buf = n.words(0, Native.SLOT_LONGS);
    long nd = Critical.tensorShape(n.ctx, handle(), MemorySegment.NULL, buf, Native.SLOT_LONGS);
    n.check(this);
    return buf.asSlice(0, Math.min(nd, Native.SLOT_LONGS) * 8).toArray(ValueLayout.JAVA_LONG);
  }

  /** @return the element type ({@code Tensor.dtype}) */
  public DType dtype() {
    handle();
    if (dtype == null) loadTypeAndDevice();
    return dtype;
  }

  /** @return where the data lives ({@code Tensor.device}) */
  public Device device() {
    handle();
    if (device == null) loadTypeAndDevice();
    return device;
  }

  private void loadTypeAndDevice() {
    MemorySegment i = info(Native.get());
    DType dt = DType.fromCode(dd_tensor_info.dtype(i));
    int type = dd_tensor_info.device_type(i);
    if (type == DD_CPU()) {
      device = Device.CPU;
    } else if (type == DD_CUDA()) {
      device = Device.cuda(Math.max(0, dd_tensor_info.device_index(i)));
    } else {
      throw new IllegalStateException("tensor is on a device that ddpm4j does not map");
    }
    dtype = dt;
  }

  /** @return bytes per element ({@code Tensor.element_size()}) */
  public long elementSize() {
    return dtype().elementSize();
  }

  /** @return {@code numel() * elementSize()} ({@code Tensor.nbytes}) */
  public long nbytes() {
    return numel() * elementSize();
  }

  /** @return whether the elements are laid out contiguously in row-major order */
  public boolean isContiguous() {
    return dd_tensor_info.is_contiguous(info(Native.get())) != 0;
  }

  /** @return whether autograd records operations on this tensor ({@code Tensor.requires_grad}) */
  public boolean requiresGrad() {
    return dd_tensor_info.requires_grad(info(Native.get())) != 0;
  }

  /** @return whether this is a leaf of the autograd graph ({@code Tensor.is_leaf}) */
  public boolean isLeaf() {
    return dd_tensor_info.is_leaf(info(Native.get())) != 0;
  }

  // ------------------------------------------------------------------ raw data

  /**
   * A global-scope segment over the contiguous CPU data; valid only while this tensor is kept
   * reachable ({@link Reference#reachabilityFence}) until the last access.
   */
  private MemorySegment rawData(String what) {
    Native n = Native.get();
    MemorySegment i = info(n);
    if (dd_tensor_info.device_type(i) != DD_CPU()) throw new IllegalStateException(what + " needs a CPU tensor; call cpu() first");
    if (dd_tensor_info.is_contiguous(i) == 0) {
      throw new IllegalStateException(what + " needs a contiguous tensor; call contiguous() first");
    }
    long bytes = dd_tensor_info.numel(i) * dd_tensor_info.element_size(i);
    if (bytes == 0) return MemorySegment.NULL;
    return dd_tensor_info.data_ptr(i).reinterpret(bytes);
  }

  /**
   * A zero-copy view of this CPU tensor's elements: exactly {@link #nbytes()}
   * bytes, in native byte order, laid out row-major. Writes through the view
   * change the tensor (bypassing autograd, as {@code Tensor.numpy()} does). The
   * view becomes unusable (any access throws {@link IllegalStateException})
   * once this tensor is freed.
   *
   * @return the view
   * @throws IllegalStateException if the tensor is closed, not on the CPU, or not contiguous
   */
  public MemorySegment data() {
    MemorySegment view = rawData("data()").reinterpret(nbytes(), owned.views(), null);
    // Until the view is bound to the views arena, which freeing the handle closes.
    Reference.reachabilityFence(this);
    return view;
  }

  /**
   * Copies the elements of this CPU tensor out with {@code copy}, a non-capturing lambda (so
   * that no call allocates one), while the tensor is kept reachable.
   */
  private <A> A copyOut(DType expected, String what, Function<MemorySegment, A> copy) {
    if (dtype() != expected) {
      throw new IllegalStateException(what + " needs dtype " + expected + " but the tensor is " + dtype() + "; call to(" + expected + ") first");
    }
    A out = copy.apply(rawData(what));
    Reference.reachabilityFence(this);
    return out;
  }

  /**
   * @return the elements of this {@code float32} CPU tensor, row-major
   * @throws IllegalStateException if the dtype is not float32, or not CPU/contiguous
   */
  public float[] toFloatArray() {
    return copyOut(DType.FLOAT32, "toFloatArray()", s -> s.toArray(ValueLayout.JAVA_FLOAT));
  }

  /**
   * @return the elements of this {@code float64} CPU tensor, row-major
   * @throws IllegalStateException if the dtype is not float64, or not CPU/contiguous
   */
  public double[] toDoubleArray() {
    return copyOut(DType.FLOAT64, "toDoubleArray()", s -> s.toArray(ValueLayout.JAVA_DOUBLE));
  }

  /**
   * @return the elements of this {@code int64} CPU tensor, row-major
   * @throws IllegalStateException if the dtype is not int64, or not CPU/contiguous
   */
  public long[] toLongArray() {
    return copyOut(DType.INT64, "toLongArray()", s -> s.toArray(ValueLayout.JAVA_LONG));
  }

  /**
   * @return the elements of this {@code int32} CPU tensor, row-major
   * @throws IllegalStateException if the dtype is not int32, or not CPU/contiguous
   */
  public int[] toIntArray() {
    return copyOut(DType.INT32, "toIntArray()", s -> s.toArray(ValueLayout.JAVA_INT));
  }

  /**
   * @return the elements of this {@code uint8} or {@code bool} CPU tensor, row-major
   * @throws IllegalStateException if the dtype is neither, or not CPU/contiguous
   */
  public byte[] toByteArray() {
    DType d = dtype() == DType.BOOL ? DType.BOOL : DType.UINT8;
    return copyOut(d, "toByteArray()", s -> s.toArray(ValueLayout.JAVA_BYTE));
  }

  /** Copies {@code bytes} bytes from {@code src} into this freshly created CPU tensor. */
  void fill(MemorySegment src) {
    MemorySegment dst = rawData("fill");
    if (dst.byteSize() > 0) MemorySegment.copy(src, 0, dst, 0, dst.byteSize());
    Reference.reachabilityFence(this);
  }

  /**
   * @return the value of a one-element tensor as a double ({@code Tensor.item()})
   * @throws TorchException if the tensor has more than one element
   */
  public double item() {
    Native n = Native.get();
    double v = dd_item_double(n.ctx, handle());
    n.check(this);
    return v;
  }

  /**
   * @return the value of a one-element tensor as a long ({@code Tensor.item()} on an integer tensor)
   * @throws TorchException if the tensor has more than one element
   */
  public long itemLong() {
    Native n = Native.get();
    long v = dd_item_int64(n.ctx, handle());
    n.check(this);
    return v;
  }

  /**
   * @param other another tensor
   * @return whether both have the same shape and elements ({@code torch.equal})
   */
  public boolean equal(Tensor other) {
    Native n = Native.get();
    int v = dd_equal(n.ctx, handle(), other.handle());
    n.check(this, other);
    return v != 0;
  }

  // -------------------------------------------------------- dtype and device

  /**
   * @param dtype the target element type
   * @return this tensor converted to {@code dtype} ({@code Tensor.to(dtype)}); a new handle even if unchanged
   */
  public Tensor to(DType dtype) {
    return to(dtype, device());
  }

  /**
   * @param device the target device
   * @return this tensor on {@code device} ({@code Tensor.to(device)})
   * @throws TorchException if the device is not available
   */
  public Tensor to(Device device) {
    return to(dtype(), device);
  }

  /**
   * @param dtype the target element type
   * @param device the target device
   * @return this tensor converted and moved ({@code Tensor.to(device, dtype)})
   * @throws TorchException if the device is not available
   */
  public Tensor to(DType dtype, Device device) {
    Native n = Native.get();
    // LibTorch returns the tensor itself when nothing changes: result() sees that it shares this memory.
    return result(n, dd_to(n.ctx, handle(), dtype.code(), device.type().code(), device.index(), 0, 0), this);
  }

  /** @return this tensor on the CPU ({@code Tensor.cpu()}) */
  public Tensor cpu() {
    return to(Device.CPU);
  }

  /** @return a copy with its own storage and autograd history ({@code Tensor.clone()}) */
  public Tensor clone() {
    Native n = Native.get();
    return result(n, dd_clone(n.ctx, handle()), this);
  }

  /** @return a contiguous tensor with the same data; shares storage if already contiguous ({@code Tensor.contiguous()}) */
  public Tensor contiguous() {
    return contiguous(MemoryFormat.CONTIGUOUS_FORMAT);
  }

  /**
   * @param format the layout
   * @return a tensor with the same data laid out in {@code format}; shares storage if already so
   *     ({@code Tensor.contiguous(memory_format=)})
   * @throws TorchException if {@code format} is {@link MemoryFormat#CHANNELS_LAST} and the tensor is not 4-d
   */
  public Tensor contiguous(MemoryFormat format) {
    Native n = Native.get();
    return result(n, dd_contiguous(n.ctx, handle(), format.code()), this);
  }

  /**
   * @param format a layout
   * @return whether the elements are laid out in {@code format} ({@code Tensor.is_contiguous(memory_format=)})
   */
  public boolean isContiguous(MemoryFormat format) {
    Native n = Native.get();
    int v = dd_is_contiguous(n.ctx, handle(), format.code());
    n.check(this);
    return v != 0;
  }

  /** @return a view that autograd does not track ({@code Tensor.detach()}) */
  public Tensor detach() {
    Native n = Native.get();
    return result(n, dd_detach(n.ctx, handle()), this);
  }

  /**
   * A second handle to this very tensor: the same storage, shape and autograd
   * identity (gradients flow through it as through {@code this}), as Python's
   * {@code y = x} binds a second name. Either handle may be closed without
   * affecting the other.
   *
   * @return a new handle to the same tensor
   * @throws IllegalStateException if this tensor is closed
   */
  public Tensor alias() {
    Native n = Native.get();
    return result(n, dd_tensor_alias(n.ctx, handle()), this);
  }

  /**
   * Copies {@code src} into this tensor, broadcasting and converting ({@code Tensor.copy_}).
   *
   * @param src the source
   * @return this tensor
   * @throws TorchException if {@code src} does not broadcast to this shape
   */
  public Tensor copy_(Tensor src) {
    Native n = Native.get();
    dd_copy_(n.ctx, handle(), src.handle());
    n.check(this, src);
    return this;
  }

  /**
   * @param value the value
   * @return this tensor, every element set to {@code value} ({@code Tensor.fill_})
   */
  public Tensor fill_(double value) {
    Native n = Native.get();
    dd_fill_(n.ctx, handle(), value);
    n.check(this);
    return this;
  }

  /** @return this tensor, zeroed ({@code Tensor.zero_}) */
  public Tensor zero_() {
    return fill_(0.0);
  }

  // ------------------------------------------------------- views and indexing

  private Tensor shapeOp(int op, long[] values) {
    Native n = Native.get();
    return result(n, dd_shape(n.ctx, op, handle(), n.longs(0, values), values.length), this);
  }

  /**
   * @param shape the new sizes; one may be -1 (inferred)
   * @return a view with the same storage ({@code Tensor.view})
   * @throws TorchException if the element count differs or the strides do not allow a view
   */
  public Tensor view(long... shape) {
    return shapeOp(VIEW, shape);
  }

  /**
   * @param shape the new sizes; one may be -1 (inferred)
   * @return a view when possible, else a copy ({@code Tensor.reshape})
   * @throws TorchException if the element count differs
   */
  public Tensor reshape(long... shape) {
    return shapeOp(RESHAPE, shape);
  }

  /**
   * @param dims a permutation of the dimensions
   * @return a view with dimensions reordered ({@code Tensor.permute})
   * @throws TorchException if {@code dims} is not a permutation
   */
  public Tensor permute(long... dims) {
    return shapeOp(PERMUTE, dims);
  }

  /**
   * @param shape target sizes; -1 keeps a size
   * @return a broadcast view ({@code Tensor.expand})
   * @throws TorchException if a non-singleton dimension would change
   */
  public Tensor expand(long... shape) {
    return shapeOp(EXPAND, shape);
  }

  /**
   * @param repeats how often to tile each dimension
   * @return a tiled copy ({@code Tensor.repeat})
   */
  public Tensor repeat(long... repeats) {
    return shapeOp(REPEAT, repeats);
  }

  /**
   * @param dims dimensions to reverse
   * @return a copy with those dimensions reversed ({@code torch.flip})
   */
  public Tensor flip(long... dims) {
    return shapeOp(FLIP, dims);
  }

  /**
   * @param dim0 first dimension
   * @param dim1 second dimension
   * @return a view with the two dimensions swapped ({@code Tensor.transpose})
   */
  public Tensor transpose(long dim0, long dim1) {
    Native n = Native.get();
    return result(n, dd_transpose(n.ctx, handle(), dim0, dim1), this);
  }

  /** @return a view without any size-1 dimension ({@code Tensor.squeeze()}) */
  public Tensor squeeze() {
    Native n = Native.get();
    return result(n, dd_squeeze(n.ctx, handle(), 0, 1), this);
  }

  /**
   * @param dim the dimension to drop if its size is 1
   * @return a view ({@code Tensor.squeeze(dim)})
   */
  public Tensor squeeze(long dim) {
    Native n = Native.get();
    return result(n, dd_squeeze(n.ctx, handle(), dim, 0), this);
  }

  /**
   * @param dim where to insert a size-1 dimension
   * @return a view ({@code Tensor.unsqueeze})
   */
  public Tensor unsqueeze(long dim) {
    Native n = Native.get();
    return result(n, dd_unsqueeze(n.ctx, handle(), dim), this);
  }

  /** @return a 1-d view or copy of all elements ({@code Tensor.flatten()}) */
  public Tensor flatten() {
    return flatten(0, -1);
  }

  /**
   * @param startDim first dimension to merge
   * @param endDim last dimension to merge (inclusive)
   * @return the tensor with those dimensions merged ({@code Tensor.flatten(start_dim, end_dim)})
   */
  public Tensor flatten(long startDim, long endDim) {
    Native n = Native.get();
    return result(n, dd_flatten(n.ctx, handle(), startDim, endDim), this);
  }

  /**
   * Basic slicing, {@code t[..., start:end:step, ...]} on one dimension. Out-of-range
   * bounds are clamped as in Python.
   *
   * @param dim the dimension
   * @param start first index (negative counts from the end)
   * @param end one past the last index (negative counts from the end)
   * @param step stride, &gt; 0
   * @return a view
   * @throws TorchException if the dimension is out of range or step &lt;= 0
   */
  public Tensor slice(long dim, long start, long end, long step) {
    Native n = Native.get();
    return result(n, dd_slice(n.ctx, handle(), dim, start, end, step), this);
  }

  /**
   * @param dim the dimension
   * @param start first index
   * @param end one past the last index
   * @return {@code slice(dim, start, end, 1)}
   */
  public Tensor slice(long dim, long start, long end) {
    return slice(dim, start, end, 1);
  }

  /**
   * @param dim the dimension
   * @param start first index
   * @param length how many indices
   * @return a view of {@code length} entries from {@code start} ({@code Tensor.narrow})
   */
  public Tensor narrow(long dim, long start, long length) {
    return slice(dim, start, start + length, 1);
  }

  /**
   * @param dim the dimension to remove
   * @param index the index to keep (negative counts from the end)
   * @return a view ({@code Tensor.select})
   * @throws TorchException if the index is out of range
   */
  public Tensor select(long dim, long index) {
    Native n = Native.get();
    return result(n, dd_select(n.ctx, handle(), dim, index), this);
  }

  /**
   * @param dim the dimension
   * @param index a 1-d int64 tensor of indices
   * @return a copy with the chosen entries ({@code torch.index_select})
   * @throws TorchException if an index is out of range or not int64/int32
   */
  public Tensor indexSelect(long dim, Tensor index) {
    Native n = Native.get();
    return result(n, dd_index_select(n.ctx, handle(), dim, index.handle()), this, index);
  }

  /**
   * @param dim the dimension
   * @param index an int64 tensor with as many dimensions as this one
   * @return {@code out[i][j] = this[index[i][j]][j]} for dim 0, and so on ({@code torch.gather})
   * @throws TorchException if shapes or indices are invalid
   */
  public Tensor gather(long dim, Tensor index) {
    Native n = Native.get();
    return result(n, dd_gather(n.ctx, handle(), dim, index.handle()), this, index);
  }

  /**
   * @param mask a bool tensor broadcastable to this shape
   * @param value the fill value
   * @return a copy with {@code value} where {@code mask} is true ({@code Tensor.masked_fill})
   */
  public Tensor maskedFill(Tensor mask, double value) {
    Native n = Native.get();
    return result(n, dd_masked_fill(n.ctx, handle(), mask.handle(), value), this, mask);
  }

  /**
   * @param chunks how many parts at most
   * @param dim the dimension to split
   * @return up to {@code chunks} views of (nearly) equal size ({@code torch.chunk})
   * @throws IllegalArgumentException if {@code chunks <= 0}
   */
  public List<Tensor> chunk(int chunks, long dim) {
    if (chunks <= 0) throw new IllegalArgumentException("chunks must be positive, got " + chunks);
    Native n = Native.get();
    MemorySegment out = n.words(1, chunks);
    long count = dd_chunk(n.ctx, handle(), chunks, dim, out);
    n.check(this);
    List<Tensor> parts = new ArrayList<>((int) count);
    for (int i = 0; i < count; i++) {
      MemorySegment h = out.getAtIndex(ValueLayout.ADDRESS, i);
      parts.add(new Tensor(n, h, backingOf(h, this)));
    }
    return parts;
  }

  // --------------------------------------------------------------- elementwise

  private Tensor unary(int op) {
    Native n = Native.get();
    return result(n, dd_unary(n.ctx, op, handle()), this);
  }

  private Tensor unary_(int op) {
    Native n = Native.get();
    dd_unary_(n.ctx, op, handle());
    n.check(this);
    return this;
  }

  private Tensor binary(int op, Tensor other) {
    Native n = Native.get();
    return result(n, dd_binary(n.ctx, op, handle(), other.handle()), this, other);
  }

  private Tensor binary_(int op, Tensor other) {
    Native n = Native.get();
    dd_binary_(n.ctx, op, handle(), other.handle());
    n.check(this, other);
    return this;
  }

  Tensor scalarOp(int op, double value, boolean integral) {
    Native n = Native.get();
    return result(n, dd_binary_scalar(n.ctx, op, handle(), value, integral ? 1 : 0), this);
  }

  private Tensor scalarOp_(int op, double value) {
    Native n = Native.get();
    dd_binary_scalar_(n.ctx, op, handle(), value, 0);
    n.check(this);
    return this;
  }

  /** @param other a broadcastable tensor @return {@code this + other} ({@code torch.add}) @throws TorchException if shapes do not broadcast */
  public Tensor add(Tensor other) { return binary(ADD, other); }
  /** @param other a broadcastable tensor @param alpha multiplier of other @return {@code this + alpha * other} ({@code torch.add(alpha=)}) */
  public Tensor add(Tensor other, double alpha) {
    Native n = Native.get();
    return result(n, dd_add_scaled(n.ctx, handle(), other.handle(), alpha), this, other);
  }
  /** @param value a Python-float-like scalar @return {@code this + value} */
  public Tensor add(double value) { return scalarOp(ADD, value, false); }
  /** @param other a broadcastable tensor @return {@code this - other} ({@code torch.sub}) */
  public Tensor sub(Tensor other) { return binary(SUB, other); }
  /** @param value a scalar @return {@code this - value} */
  public Tensor sub(double value) { return scalarOp(SUB, value, false); }
  /** @param value a scalar @return {@code value - this} ({@code torch.rsub}) */
  public Tensor rsub(double value) { return scalarOp(RSUB, value, false); }
  /** @param other a broadcastable tensor @return {@code this * other} ({@code torch.mul}) */
  public Tensor mul(Tensor other) { return binary(MUL, other); }
  /** @param value a scalar @return {@code this * value} */
  public Tensor mul(double value) { return scalarOp(MUL, value, false); }
  /** @param other a broadcastable tensor @return {@code this / other}, true division ({@code torch.div}) */
  public Tensor div(Tensor other) { return binary(DIV, other); }
  /** @param value a scalar @return {@code this / value} */
  public Tensor div(double value) { return scalarOp(DIV, value, false); }
  /** @param value a scalar @return {@code value / this} */
  public Tensor rdiv(double value) { return scalarOp(RDIV, value, false); }
  /** @param other exponent tensor @return {@code this ** other} ({@code torch.pow}) */
  public Tensor pow(Tensor other) { return binary(POW, other); }
  /** @param exponent the exponent @return {@code this ** exponent} */
  public Tensor pow(double exponent) { return scalarOp(POW, exponent, false); }
  /** @param base the base @return {@code base ** this} */
  public Tensor rpow(double base) { return scalarOp(RPOW, base, false); }
  /** @param other a broadcastable tensor @return elementwise maximum ({@code torch.maximum}) */
  public Tensor maximum(Tensor other) { return binary(MAXIMUM, other); }
  /** @param other a broadcastable tensor @return elementwise minimum ({@code torch.minimum}) */
  public Tensor minimum(Tensor other) { return binary(MINIMUM, other); }
  /** @param other divisor @return Python-style remainder ({@code torch.remainder}) */
  public Tensor remainder(Tensor other) { return binary(REMAINDER, other); }
  /** @param value divisor @return Python-style remainder */
  public Tensor remainder(double value) { return scalarOp(REMAINDER, value, false); }
  /** @param other divisor @return {@code floor(this / other)} ({@code torch.floor_divide}) */
  public Tensor floorDivide(Tensor other) { return binary(FLOOR_DIVIDE, other); }
  /** @param other x coordinates @return {@code atan2(this, other)} in radians ({@code torch.atan2}) */
  public Tensor atan2(Tensor other) { return binary(ATAN2, other); }

  /** @param other a broadcastable tensor @return this tensor after {@code this += other} ({@code Tensor.add_}) */
  public Tensor add_(Tensor other) { return binary_(ADD, other); }
  /** @param other a broadcastable tensor @param alpha multiplier @return this tensor after {@code this += alpha * other} */
  public Tensor add_(Tensor other, double alpha) {
    Native n = Native.get();
    dd_add_scaled_(n.ctx, handle(), other.handle(), alpha);
    n.check(this, other);
    return this;
  }
  /** @param value a scalar @return this tensor after {@code this += value} */
  public Tensor add_(double value) { return scalarOp_(ADD, value); }
  /** @param other a broadcastable tensor @return this tensor after {@code this -= other} */
  public Tensor sub_(Tensor other) { return binary_(SUB, other); }
  /** @param value a scalar @return this tensor after {@code this -= value} */
  public Tensor sub_(double value) { return scalarOp_(SUB, value); }
  /** @param other a broadcastable tensor @return this tensor after {@code this *= other} */
  public Tensor mul_(Tensor other) { return binary_(MUL, other); }
  /** @param value a scalar @return this tensor after {@code this *= value} */
  public Tensor mul_(double value) { return scalarOp_(MUL, value); }
  /** @param other a broadcastable tensor @return this tensor after {@code this /= other} */
  public Tensor div_(Tensor other) { return binary_(DIV, other); }
  /** @param value a scalar @return this tensor after {@code this /= value} */
  public Tensor div_(double value) { return scalarOp_(DIV, value); }
  /** @param value exponent @return this tensor after {@code this **= value} */
  public Tensor pow_(double value) { return scalarOp_(POW, value); }

  /**
   * @param end the target
   * @param weight interpolation weight
   * @return this tensor after {@code this += weight * (end - this)} ({@code Tensor.lerp_})
   */
  public Tensor lerp_(Tensor end, double weight) {
    Native n = Native.get();
    dd_lerp_(n.ctx, handle(), end.handle(), weight);
    n.check(this, end);
    return this;
  }

  /** @param other a broadcastable tensor @return bool tensor of {@code this == other} ({@code torch.eq}) */
  public Tensor eq(Tensor other) { return binary(EQ, other); }
  /** @param value a scalar @return bool tensor of {@code this == value} */
  public Tensor eq(double value) { return scalarOp(EQ, value, false); }
  /** @param other a broadcastable tensor @return bool tensor of {@code this != other} */
  public Tensor ne(Tensor other) { return binary(NE, other); }
  /** @param value a scalar @return bool tensor of {@code this != value} */
  public Tensor ne(double value) { return scalarOp(NE, value, false); }
  /** @param other a broadcastable tensor @return bool tensor of {@code this < other} */
  public Tensor lt(Tensor other) { return binary(LT, other); }
  /** @param value a scalar @return bool tensor of {@code this < value} */
  public Tensor lt(double value) { return scalarOp(LT, value, false); }
  /** @param other a broadcastable tensor @return bool tensor of {@code this <= other} */
  public Tensor le(Tensor other) { return binary(LE, other); }
  /** @param value a scalar @return bool tensor of {@code this <= value} */
  public Tensor le(double value) { return scalarOp(LE, value, false); }
  /** @param other a broadcastable tensor @return bool tensor of {@code this > other} */
  public Tensor gt(Tensor other) { return binary(GT, other); }
  /** @param value a scalar @return bool tensor of {@code this > value} */
  public Tensor gt(double value) { return scalarOp(GT, value, false); }
  /** @param other a broadcastable tensor @return bool tensor of {@code this >= other} */
  public Tensor ge(Tensor other) { return binary(GE, other); }
  /** @param value a scalar @return bool tensor of {@code this >= value} */
  public Tensor ge(double value) { return scalarOp(GE, value, false); }
  /** @param other a broadcastable tensor @return elementwise logical and ({@code torch.logical_and}) */
  public Tensor logicalAnd(Tensor other) { return binary(LOGICAL_AND, other); }
  /** @param other a broadcastable tensor @return elementwise logical or ({@code torch.logical_or}) */
  public Tensor logicalOr(Tensor other) { return binary(LOGICAL_OR, other); }
  /** @return elementwise logical not ({@code torch.logical_not}) */
  public Tensor logicalNot() { return unary(LOGICAL_NOT); }
  /** @return bool tensor, true where NaN ({@code torch.isnan}) */
  public Tensor isnan() { return unary(ISNAN); }
  /** @return bool tensor, true where finite ({@code torch.isfinite}) */
  public Tensor isfinite() { return unary(ISFINITE); }

  /** @return {@code -this} ({@code torch.neg}) */
  public Tensor neg() { return unary(NEG); }
  /** @return {@code |this|} ({@code torch.abs}) */
  public Tensor abs() { return unary(ABS); }
  /** @return {@code e^this} ({@code torch.exp}) */
  public Tensor exp() { return unary(EXP); }
  /** @return natural logarithm ({@code torch.log}) */
  public Tensor log() { return unary(LOG); }
  /** @return square root ({@code torch.sqrt}) */
  public Tensor sqrt() { return unary(SQRT); }
  /** @return {@code 1 / sqrt(this)} ({@code torch.rsqrt}) */
  public Tensor rsqrt() { return unary(RSQRT); }
  /** @return sine, radians ({@code torch.sin}) */
  public Tensor sin() { return unary(SIN); }
  /** @return cosine, radians ({@code torch.cos}) */
  public Tensor cos() { return unary(COS); }
  /** @return hyperbolic tangent ({@code torch.tanh}) */
  public Tensor tanh() { return unary(TANH); }
  /** @return logistic sigmoid ({@code torch.sigmoid}) */
  public Tensor sigmoid() { return unary(SIGMOID); }
  /** @return {@code max(this, 0)} ({@code torch.relu}) */
  public Tensor relu() { return unary(RELU); }
  /** @return {@code this * sigmoid(this)}, Swish ({@code torch.nn.functional.silu}) */
  public Tensor silu() { return unary(SILU); }
  /** @return GELU with the exact erf form ({@code torch.nn.functional.gelu}) */
  public Tensor gelu() { return unary(GELU); }
  /** @return {@code this * this} ({@code torch.square}) */
  public Tensor square() { return unary(SQUARE); }
  /** @return -1, 0 or 1 ({@code torch.sign}) */
  public Tensor sign() { return unary(SIGN); }
  /** @return rounded down ({@code torch.floor}) */
  public Tensor floor() { return unary(FLOOR); }
  /** @return rounded up ({@code torch.ceil}) */
  public Tensor ceil() { return unary(CEIL); }
  /** @return rounded half to even ({@code torch.round}) */
  public Tensor round() { return unary(ROUND); }
  /** @return rounded toward zero ({@code torch.trunc}) */
  public Tensor trunc() { return unary(TRUNC); }
  /** @return {@code 1 / this} ({@code torch.reciprocal}) */
  public Tensor reciprocal() { return unary(RECIPROCAL); }
  /** @return the error function ({@code torch.erf}) */
  public Tensor erf() { return unary(ERF); }
  /** @return {@code log(1 + this)} ({@code torch.log1p}) */
  public Tensor log1p() { return unary(LOG1P); }
  /** @return {@code e^this - 1} ({@code torch.expm1}) */
  public Tensor expm1() { return unary(EXPM1); }

  /** @return this tensor after {@code neg_} */
  public Tensor neg_() { return unary_(NEG); }
  /** @return this tensor after {@code exp_} */
  public Tensor exp_() { return unary_(EXP); }
  /** @return this tensor after {@code sqrt_} */
  public Tensor sqrt_() { return unary_(SQRT); }
  /** @return this tensor after {@code sigmoid_} */
  public Tensor sigmoid_() { return unary_(SIGMOID); }
  /** @return this tensor after {@code relu_} */
  public Tensor relu_() { return unary_(RELU); }
  /** @return this tensor after {@code silu_} ({@code F.silu(inplace=True)}) */
  public Tensor silu_() { return unary_(SILU); }
  /** @return this tensor after {@code tanh_} */
  public Tensor tanh_() { return unary_(TANH); }

  /**
   * Fills this tensor with samples of U[from, to) ({@code Tensor.uniform_}).
   *
   * @param from lower bound
   * @param to upper bound, &gt;= from
   * @param generator the generator, or {@code null} for the default one
   * @return this tensor
   * @throws TorchException if {@code from > to} or the dtype is not floating point
   */
  public Tensor uniform_(double from, double to, Generator generator) {
    Native n = Native.get();
    dd_uniform_(n.ctx, handle(), from, to, Generator.handleOrNull(generator));
    n.check(this, generator);
    return this;
  }

  /**
   * Fills this tensor with samples of N(mean, std^2) ({@code Tensor.normal_}).
   *
   * @param mean the mean
   * @param std the standard deviation, &gt;= 0
   * @param generator the generator, or {@code null} for the default one
   * @return this tensor
   * @throws TorchException if {@code std < 0} or the dtype is not floating point
   */
  public Tensor normal_(double mean, double std, Generator generator) {
    Native n = Native.get();
    dd_normal_(n.ctx, handle(), mean, std, Generator.handleOrNull(generator));
    n.check(this, generator);
    return this;
  }

  /**
   * @param min lower bound
   * @param max upper bound
   * @return values limited to {@code [min, max]} ({@code torch.clamp})
   */
  public Tensor clamp(double min, double max) { return clamp(min, max, true, true); }
  /** @param min lower bound @return values limited below ({@code torch.clamp(min=)}) */
  public Tensor clampMin(double min) { return clamp(min, 0, true, false); }
  /** @param max upper bound @return values limited above ({@code torch.clamp(max=)}) */
  public Tensor clampMax(double max) { return clamp(0, max, false, true); }

  private Tensor clamp(double min, double max, boolean hasMin, boolean hasMax) {
    Native n = Native.get();
    return result(n, dd_clamp(n.ctx, handle(), min, max, hasMin ? 1 : 0, hasMax ? 1 : 0), this);
  }

  // ----------------------------------------------------------------- reductions

  private Tensor reduce(int op, long[] dims, boolean keepdim) {
    Native n = Native.get();
    return result(n, dd_reduce(n.ctx, op, handle(), n.longs(0, dims), dims.length, keepdim ? 1 : 0), this);
  }

  /** @return the sum of all elements, a 0-d tensor ({@code torch.sum}) */
  public Tensor sum() { return reduce(SUM, NO_DIMS, false); }
  /** @param dims dimensions to reduce @param keepdim keep them with size 1 @return sums ({@code torch.sum(dim, keepdim)}) */
  public Tensor sum(long[] dims, boolean keepdim) { return reduce(SUM, dims, keepdim); }
  /** @param dim dimension to reduce @return sums over {@code dim} */
  public Tensor sum(long dim) { return reduce(SUM, new long[] {dim}, false); }
  /** @return the mean of all elements ({@code torch.mean}) */
  public Tensor mean() { return reduce(MEAN, NO_DIMS, false); }
  /** @param dims dimensions to reduce @param keepdim keep them with size 1 @return means */
  public Tensor mean(long[] dims, boolean keepdim) { return reduce(MEAN, dims, keepdim); }
  /** @param dim dimension to reduce @return means over {@code dim} */
  public Tensor mean(long dim) { return reduce(MEAN, new long[] {dim}, false); }
  /** @return the largest element ({@code torch.amax}) */
  public Tensor amax() { return reduce(AMAX, NO_DIMS, false); }
  /** @param dims dimensions to reduce @param keepdim keep them with size 1 @return maxima ({@code torch.amax}) */
  public Tensor amax(long[] dims, boolean keepdim) { return reduce(AMAX, dims, keepdim); }
  /** @return the smallest element ({@code torch.amin}) */
  public Tensor amin() { return reduce(AMIN, NO_DIMS, false); }
  /** @param dims dimensions to reduce @param keepdim keep them with size 1 @return minima ({@code torch.amin}) */
  public Tensor amin(long[] dims, boolean keepdim) { return reduce(AMIN, dims, keepdim); }
  /** @return the product of all elements ({@code torch.prod}) */
  public Tensor prod() { return reduce(PROD, NO_DIMS, false); }
  /** @param dims dimensions to reduce @param keepdim keep them with size 1 @return products */
  public Tensor prod(long[] dims, boolean keepdim) { return reduce(PROD, dims, keepdim); }
  /** @param dims dimensions to reduce @param keepdim keep them with size 1 @return {@code log(sum(exp(this)))} ({@code torch.logsumexp}) */
  public Tensor logsumexp(long[] dims, boolean keepdim) { return reduce(LOGSUMEXP, dims, keepdim); }
  /** @return whether every element is non-zero, a 0-d bool tensor ({@code torch.all}) */
  public Tensor all() { return reduce(ALL, NO_DIMS, false); }
  /** @return whether any element is non-zero, a 0-d bool tensor ({@code torch.any}) */
  public Tensor any() { return reduce(ANY, NO_DIMS, false); }

  /**
   * @param dims dimensions to reduce; empty means all
   * @param correction subtracted from the count in the denominator (1: unbiased)
   * @param keepdim keep reduced dimensions with size 1
   * @return variances ({@code torch.var(dim, correction=, keepdim=)})
   */
  public Tensor var(long[] dims, long correction, boolean keepdim) { return variance(dims, correction, keepdim, false); }
  /** @return the unbiased variance of all elements ({@code torch.var}) */
  public Tensor var() { return variance(NO_DIMS, 1, false, false); }
  /**
   * @param dims dimensions to reduce; empty means all
   * @param correction subtracted from the count in the denominator (1: unbiased)
   * @param keepdim keep reduced dimensions with size 1
   * @return standard deviations ({@code torch.std})
   */
  public Tensor std(long[] dims, long correction, boolean keepdim) { return variance(dims, correction, keepdim, true); }
  /** @return the unbiased standard deviation of all elements ({@code torch.std}) */
  public Tensor std() { return variance(NO_DIMS, 1, false, true); }

  private Tensor variance(long[] dims, long correction, boolean keepdim, boolean std) {
    Native n = Native.get();
    return result(n, dd_var(n.ctx, handle(), n.longs(0, dims), dims.length, correction, keepdim ? 1 : 0, std ? 1 : 0), this);
  }

  /** @param p the norm order @return the p-norm of all elements ({@code torch.norm(p)}) */
  public Tensor norm(double p) { return norm(p, NO_DIMS, false); }

  /**
   * @param p the norm order
   * @param dims dimensions to reduce; empty means all
   * @param keepdim keep reduced dimensions with size 1
   * @return p-norms ({@code torch.norm(p, dim, keepdim)})
   */
  public Tensor norm(double p, long[] dims, boolean keepdim) {
    Native n = Native.get();
    return result(n, dd_norm(n.ctx, handle(), p, n.longs(0, dims), dims.length, keepdim ? 1 : 0), this);
  }

  /** @return the flat index of the largest element, int64 ({@code torch.argmax}) */
  public Tensor argmax() { return arg(0, false, false, false); }
  /** @param dim dimension @param keepdim keep it with size 1 @return indices of maxima ({@code torch.argmax(dim)}) */
  public Tensor argmax(long dim, boolean keepdim) { return arg(dim, true, keepdim, false); }
  /** @return the flat index of the smallest element ({@code torch.argmin}) */
  public Tensor argmin() { return arg(0, false, false, true); }
  /** @param dim dimension @param keepdim keep it with size 1 @return indices of minima ({@code torch.argmin(dim)}) */
  public Tensor argmin(long dim, boolean keepdim) { return arg(dim, true, keepdim, true); }

  private Tensor arg(long dim, boolean hasDim, boolean keepdim, boolean min) {
    Native n = Native.get();
    return result(n, dd_argmax(n.ctx, handle(), dim, hasDim ? 1 : 0, keepdim ? 1 : 0, min ? 1 : 0), this);
  }

  /** @param dim dimension @return running sums along {@code dim} ({@code torch.cumsum}) */
  public Tensor cumsum(long dim) { return cumulative(dim, false); }
  /** @param dim dimension @return running products along {@code dim} ({@code torch.cumprod}) */
  public Tensor cumprod(long dim) { return cumulative(dim, true); }

  private Tensor cumulative(long dim, boolean product) {
    Native n = Native.get();
    return result(n, dd_cumulative(n.ctx, handle(), dim, product ? 1 : 0), this);
  }

  // -------------------------------------------------------- linear algebra

  /**
   * @param other right operand
   * @return the matrix product with NumPy broadcasting rules ({@code torch.matmul})
   * @throws TorchException if the inner dimensions differ
   */
  public Tensor matmul(Tensor other) {
    Native n = Native.get();
    return result(n, dd_matmul(n.ctx, handle(), other.handle()), this, other);
  }

  /**
   * @param other a {@code [batch, m, p]} tensor; this one is {@code [batch, n, m]}
   * @return the batched product {@code [batch, n, p]} ({@code torch.bmm})
   * @throws TorchException if shapes do not match
   */
  public Tensor bmm(Tensor other) {
    Native n = Native.get();
    return result(n, dd_bmm(n.ctx, handle(), other.handle()), this, other);
  }

  /** @param dim dimension @return softmax along {@code dim} ({@code torch.softmax}) */
  public Tensor softmax(long dim) { return softmax(dim, false); }
  /** @param dim dimension @return log-softmax along {@code dim} ({@code torch.log_softmax}) */
  public Tensor logSoftmax(long dim) { return softmax(dim, true); }

  private Tensor softmax(long dim, boolean log) {
    Native n = Native.get();
    return result(n, dd_softmax(n.ctx, handle(), dim, log ? 1 : 0), this);
  }

  // ----------------------------------------------------------------- autograd

  /**
   * @param requiresGrad whether autograd should record operations on this leaf
   * @return this tensor ({@code Tensor.requires_grad_})
   * @throws TorchException if this is a non-leaf and {@code requiresGrad} is false, or the dtype is not floating point
   */
  public Tensor requiresGrad_(boolean requiresGrad) {
    Native n = Native.get();
    dd_set_requires_grad(n.ctx, handle(), requiresGrad ? 1 : 0);
    n.check(this);
    return this;
  }

  /**
   * @return the accumulated gradient as a new handle (sharing storage with it), or
   *     {@code null} when none has been computed ({@code Tensor.grad})
   */
  public Tensor grad() {
    Native n = Native.get();
    MemorySegment g = dd_grad(n.ctx, handle());
    n.check(this);
    return g.equals(MemorySegment.NULL) ? null : result(n, g, this);
  }

  /**
   * Sets the gradient ({@code Tensor.grad = grad}); the parameter then holds {@code grad} itself.
   *
   * @param grad the new gradient, same shape, dtype and device; {@code null} clears it
   * @throws TorchException if the gradient does not match
   * @throws IllegalArgumentException if {@code grad} shares memory with a tensor made over Java-owned
   *     memory ({@link Torch#fromSegment}): LibTorch would accumulate into that memory after it is
   *     freed; pass {@code grad.clone()} instead
   */
  public void setGrad(Tensor grad) {
    if (grad != null && grad.backing() != null) {
      throw new IllegalArgumentException("setGrad: the gradient shares memory with a tensor made over a MemorySegment, which "
          + "LibTorch would keep writing after the segment is freed; pass grad.clone()");
    }
    Native n = Native.get();
    dd_set_grad(n.ctx, handle(), grad == null ? MemorySegment.NULL : grad.handle());
    n.check(this, grad);
  }

  /**
   * Clears the gradient, as {@code Optimizer.zero_grad} does for one tensor.
   *
   * @param setToNone drop the gradient tensor instead of zeroing it in place
   */
  public void zeroGrad(boolean setToNone) {
    Native n = Native.get();
    dd_zero_grad(n.ctx, handle(), setToNone ? 1 : 0);
    n.check(this);
  }

  /**
   * Backpropagates from this scalar ({@code Tensor.backward()}), accumulating
   * into the {@code grad} of every leaf that requires grad; frees the graph.
   *
   * @throws TorchException if this is not a scalar, or does not require grad
   */
  public void backward() {
    backward(null, false);
  }

  /**
   * @param gradient the gradient of the final result with respect to this tensor, same shape;
   *     {@code null} for a scalar
   * @param retainGraph keep the graph for another backward pass
   * @throws TorchException if shapes mismatch or nothing requires grad
   */
  public void backward(Tensor gradient, boolean retainGraph) {
    Native n = Native.get();
    dd_backward(n.ctx, handle(), gradient == null ? MemorySegment.NULL : gradient.handle(), retainGraph ? 1 : 0);
    n.check(this, gradient);
  }

  // ----------------------------------------------------------------- lifetime

  /**
   * Frees the native handle now, and with it any {@link #data()} view. Closing
   * twice does nothing.
   */
  @Override
  public void close() {
    owned.close();
  }

  /** @return shape, dtype and device, or that the tensor is closed */
  @Override
  public String toString() {
    if (isClosed()) return "Tensor[closed]";
    try {
      handle();
    } catch (IllegalStateException e) {
      return "Tensor[memory segment freed]";
    }
    return "Tensor[shape=" + Arrays.toString(sizes()) + ", dtype=" + dtype() + ", device=" + device() + "]";
  }
}
