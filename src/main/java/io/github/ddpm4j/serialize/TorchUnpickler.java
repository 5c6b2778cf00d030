package io.github.ddpm4j.serialize;

import io.github.ddpm4j.torch.DType;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.razorvine.pickle.IObjectConstructor;
import net.razorvine.pickle.Unpickler;

/**
 * A restricted unpickler for the {@code data.pkl} record of a {@code torch.save}
 * checkpoint, in the spirit of PyTorch's {@code torch._weights_only_unpickler}
 * ({@code torch.load(weights_only=True)}).
 *
 * <p>It runs on Pyrolite's pickle virtual machine, with every opcode that
 * names a Python global ({@code GLOBAL}, {@code STACK_GLOBAL}, {@code INST},
 * {@code OBJ}) or invokes an object's method ({@code BUILD}) handled here:
 * only the globals of a state dict resolve, each to a constructor of this
 * class, and anything else throws {@link ForbiddenGlobalException}. Besides
 * the globals that {@code torch.load(weights_only=True)} needs for a state dict,
 * {@code torch.jit._pickle.restore_type_tag} (an identity function that
 * LibTorch's {@code torch::pickle_save} wraps around a dict) is admitted, so that
 * files written by LibTorch in C++ load too. Pyrolite's
 * own table of constructors is never consulted, so a pickle cannot make it
 * build any other Java object. Tensors are not created during unpickling:
 * {@code torch._utils._rebuild_tensor_v2} yields a {@link TensorSpec}, checked
 * against its storage's size, for the caller to realize.
 *
 * <p>Resource limits: every length prefix is checked against the bytes that
 * remain before anything is allocated, text arguments are limited to
 * {@value #MAX_LINE} bytes, the number of opcodes to {@value #MAX_OPCODES}
 * (each creates at most one object), dictionary keys and set members must be
 * hashable as in Python (no lists, dicts or sets, which could nest or contain
 * themselves and make hashing recurse without end), and tensors to
 * {@value #MAX_DIMS} dimensions. A tensor may not hold more elements than its
 * storage (an expanded view with zero or overlapping strides): a state dict
 * never holds one, and a forged file could otherwise describe a tensor of
 * 2<sup>60</sup> elements over a few bytes, whose first use would try to
 * allocate them all.
 */
final class TorchUnpickler extends Unpickler {
  static final int MAX_LINE = 4096;
  static final long MAX_OPCODES = 8_000_000;
  static final int MAX_DIMS = 64;

  /** The storage of one tensor: {@code ('storage', torch.XStorage, key, location, numel)}. */
  record StorageRef(String key, DType dtype, long numel) {}

  /**
   * A tensor to create over a storage, as {@code _rebuild_tensor_v2} describes it.
   *
   * @param storage the storage
   * @param offset storage offset, in elements
   * @param size sizes
   * @param stride strides, in elements
   * @param requiresGrad whether the tensor requires grad
   */
  record TensorSpec(StorageRef storage, long offset, long[] size, long[] stride, boolean requiresGrad) {
    long numel() {
      long n = 1;
      for (long s : size) n *= s; // cannot overflow: checked when the spec was made
      return n;
    }
  }

  /** {@code collections.OrderedDict}, the type of {@code state_dict()}. */
  static final class PyOrderedDict extends LinkedHashMap<Object, Object> {
    private static final long serialVersionUID = 1L;
  }

  /** Carries a checked rejection through Pyrolite's unchecked call paths. */
  private static final class Rejection extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final CorruptFileException reason;

    Rejection(CorruptFileException reason) {
      super(reason.getMessage(), null, false, false);
      this.reason = reason;
    }
  }

  private interface Global extends IObjectConstructor {
    String name();
  }

  private record StorageType(String name, DType dtype) implements Global {
    @Override
    public Object construct(Object[] args) {
      throw new UnsupportedOperationException(name + " cannot be called in a state dict");
    }
  }

  private static final Map<String, Global> ALLOWED;

  static {
    Map<String, Global> m = new HashMap<>();
    String[][] storages = {
      {"FloatStorage", "FLOAT32"}, {"DoubleStorage", "FLOAT64"}, {"HalfStorage", "FLOAT16"},
      {"BFloat16Storage", "BFLOAT16"}, {"LongStorage", "INT64"}, {"IntStorage", "INT32"},
      {"ShortStorage", "INT16"}, {"CharStorage", "INT8"}, {"ByteStorage", "UINT8"}, {"BoolStorage", "BOOL"},
    };
    for (String[] s : storages) m.put("torch." + s[0], new StorageType("torch." + s[0], DType.valueOf(s[1])));
    ALLOWED = Map.copyOf(m);
  }

  private final String source;
  private final ByteArrayInputStream in;
  private final Map<String, StorageRef> storages = new HashMap<>();
  private long opcodes;

  private final Global orderedDict = new Global() {
    @Override
    public String name() {
      return "collections.OrderedDict";
    }

    @Override
    public Object construct(Object[] args) {
      if (args.length != 0) throw reject("collections.OrderedDict is called with " + args.length + " arguments; a state dict passes none");
      return new PyOrderedDict();
    }
  };

  private final Global rebuildTensor = new Global() {
    @Override
    public String name() {
      return "torch._utils._rebuild_tensor_v2";
    }

    @Override
    public Object construct(Object[] args) {
      return tensorSpec(args);
    }
  };

  private final Global rebuildParameter = new Global() {
    @Override
    public String name() {
      return "torch._utils._rebuild_parameter";
    }

    @Override
    public Object construct(Object[] args) {
      if (args.length != 3 || !(args[0] instanceof TensorSpec t) || !(args[1] instanceof Boolean grad)) {
        throw reject("_rebuild_parameter expects (tensor, requires_grad, backward_hooks)");
      }
      emptyMapOrReject(args[2], "backward hooks");
      checkGrad(t.storage(), grad);
      return new TensorSpec(t.storage(), t.offset(), t.size(), t.stride(), grad);
    }
  };

  /**
   * {@code torch.jit._pickle.restore_type_tag(value, type_str)}, which LibTorch's
   * {@code torch::pickle_save} wraps around containers: it returns its value.
   */
  private final Global restoreTypeTag = new Global() {
    @Override
    public String name() {
      return "torch.jit._pickle.restore_type_tag";
    }

    @Override
    public Object construct(Object[] args) {
      if (args.length != 2 || !(args[1] instanceof String)) throw reject("restore_type_tag expects (value, type string)");
      return args[0];
    }
  };

  /**
   * @param pickle the {@code data.pkl} bytes
   * @param source the file's name, for messages
   */
  TorchUnpickler(byte[] pickle, String source) {
    this.source = source;
    this.in = new ByteArrayInputStream(pickle);
  }

  /**
   * Runs the pickle.
   *
   * @return the unpickled object: maps, lists, {@code Object[]} tuples, strings, numbers, {@link TensorSpec}s
   * @throws ForbiddenGlobalException if the pickle names a global that a state dict does not need
   * @throws CorruptFileException if the pickle is malformed or exceeds a limit
   */
  Object run() throws CorruptFileException {
    try {
      return load(in);
    } catch (Rejection r) {
      throw r.reason;
    } catch (IOException | RuntimeException e) {
      throw new CorruptFileException(source + ": malformed pickle in data.pkl (" + e.getClass().getSimpleName()
          + (e.getMessage() == null ? "" : ": " + e.getMessage()) + ")", e);
    } finally {
      close();
    }
  }

  private Rejection reject(String what) {
    return new Rejection(new CorruptFileException(source + ": " + what));
  }

  private static final int GLOBAL = 'c', STACK_GLOBAL = 0x93, INST = 'i', OBJ = 'o', BUILD = 'b';
  private static final int DICT = 'd', EMPTY_DICT = '}', SETITEM = 's', SETITEMS = 'u';
  private static final int EMPTY_SET = 0x8f, ADDITEMS = 0x90, FROZENSET = 0x91;
  private static final int BINSTRING = 'T', BINBYTES = 'B', BINUNICODE = 'X', LONG4 = 0x8b;
  private static final int BINBYTES8 = 0x8e, BINUNICODE8 = 0x8d, BYTEARRAY8 = 0x96;
  private static final int INT = 'I', LONG = 'L', FLOAT = 'F', STRING = 'S', UNICODE = 'V', GET = 'g', PUT = 'p',
      PERSID = 'P';

  @Override
  protected Object dispatch(short key) throws IOException {
    if (++opcodes > MAX_OPCODES) throw reject("data.pkl runs more than " + MAX_OPCODES + " pickle opcodes");
    switch (key) {
      case GLOBAL -> {
        String module = line();
        String name = line();
        stack.add(resolve(module, name));
      }
      case STACK_GLOBAL -> {
        Object name = stack.pop();
        Object module = stack.pop();
        if (!(module instanceof String m) || !(name instanceof String n)) {
          throw reject("STACK_GLOBAL needs two strings");
        }
        stack.add(resolve(m, n));
      }
      case INST, OBJ -> throw reject("pickle opcode " + (key == INST ? "INST" : "OBJ")
          + " (instantiate a class) is not allowed in a state dict");
      case BUILD -> build();
      case DICT -> {
        List<Object> items = stack.pop_all_since_marker();
        LinkedHashMap<Object, Object> d = new LinkedHashMap<>();
        putPairs(d, items);
        stack.add(d);
      }
      case EMPTY_DICT -> stack.add(new LinkedHashMap<>());
      case SETITEM -> {
        Object value = stack.pop();
        Object k = stack.pop();
        targetMap().put(hashable(k), value);
      }
      case SETITEMS -> {
        List<Object> items = stack.pop_all_since_marker();
        putPairs(targetMap(), items);
      }
      case EMPTY_SET -> stack.add(new HashSet<>());
      case ADDITEMS -> {
        List<Object> items = stack.pop_all_since_marker();
        if (!(stack.peek() instanceof Set<?> s)) {
          throw reject("ADDITEMS without a set");
        }
        @SuppressWarnings("unchecked")
        Set<Object> set = (Set<Object>) s;
        for (Object o : items) set.add(hashable(o));
      }
      case FROZENSET -> {
        List<Object> items = stack.pop_all_since_marker();
        HashSet<Object> set = new HashSet<>();
        for (Object o : items) set.add(hashable(o));
        stack.add(set);
      }
      case BINSTRING, BINBYTES, BINUNICODE, LONG4 -> {
        checkLength(4);
        return super.dispatch(key);
      }
      case BINBYTES8, BINUNICODE8, BYTEARRAY8 -> {
        checkLength(8);
        return super.dispatch(key);
      }
      case INT, LONG, FLOAT, STRING, UNICODE, GET, PUT, PERSID -> {
        checkLine();
        return super.dispatch(key);
      }
      default -> {
        return super.dispatch(key);
      }
    }
    return NO_RETURN_VALUE;
  }

  private Global resolve(String module, String name) {
    String global = module + "." + name;
    Global g = switch (global) {
      case "collections.OrderedDict" -> orderedDict;
      case "torch._utils._rebuild_tensor_v2" -> rebuildTensor;
      case "torch._utils._rebuild_parameter" -> rebuildParameter;
      case "torch.jit._pickle.restore_type_tag" -> restoreTypeTag;
      default -> ALLOWED.get(global);
    };
    if (g == null) {
      String shown = global.length() > 200 ? global.substring(0, 200) + "..." : global;
      throw new Rejection(new ForbiddenGlobalException(source + ": data.pkl refers to the Python global '" + shown
          + "', which a state dict does not need; refusing to load it (as torch.load(weights_only=True) would)", shown));
    }
    return g;
  }

  /** BUILD on a state dict sets attributes such as {@code _metadata}, which carry no tensors and are dropped. */
  private void build() {
    Object state = stack.pop();
    Object target = stack.peek();
    if (!(target instanceof PyOrderedDict)) {
      throw reject("pickle opcode BUILD (set an object's state) is only allowed on an OrderedDict");
    }
    boolean ok = state == null || state instanceof Map<?, ?>
        || (state instanceof Object[] pair && pair.length == 2 && (pair[0] == null || pair[0] instanceof Map<?, ?>)
            && (pair[1] == null || pair[1] instanceof Map<?, ?>));
    if (!ok) throw reject("BUILD on an OrderedDict needs a dict of attributes");
  }

  private Map<Object, Object> targetMap() {
    Object top = stack.peek();
    if (!(top instanceof Map<?, ?> m)) {
      throw reject("SETITEM(S) without a dict");
    }
    @SuppressWarnings("unchecked")
    Map<Object, Object> map = (Map<Object, Object>) m;
    return map;
  }

  private void putPairs(Map<Object, Object> map, List<Object> items) {
    if (items.size() % 2 != 0) throw reject("a dict is built from an odd number of items");
    for (int i = 0; i < items.size(); i += 2) map.put(hashable(items.get(i)), items.get(i + 1));
  }

  /** Python allows only hashable keys; Java must not hash containers, which may be cyclic. */
  private Object hashable(Object k) {
    if (k == null || k instanceof String || k instanceof Integer || k instanceof Long || k instanceof BigInteger
        || k instanceof Double || k instanceof Boolean || k instanceof byte[] || k instanceof Object[]) {
      return k;
    }
    throw reject("unhashable dict key or set member of type " + k.getClass().getSimpleName());
  }

  /** Rejects a length prefix that exceeds the bytes left, before Pyrolite allocates for it. */
  private void checkLength(int width) {
    in.mark(0);
    long len = 0;
    for (int i = 0; i < width; i++) {
      int b = in.read();
      if (b < 0) break;
      len |= (long) b << (8 * i);
    }
    long left = in.available();
    in.reset();
    if (width == 4) len = (int) len; // signed 32-bit, as Pyrolite reads it
    if (len < 0 || len > left) throw reject("a pickle length prefix of " + len + " exceeds the " + left + " bytes left");
  }

  /** Rejects a text argument longer than {@link #MAX_LINE} bytes (a number parsed from it could take very long). */
  private void checkLine() {
    in.mark(0);
    boolean found = false;
    for (int i = 0; i <= MAX_LINE; i++) {
      int b = in.read();
      if (b < 0) break;
      if (b == '\n') {
        found = true;
        break;
      }
    }
    in.reset();
    if (!found) throw reject("a pickle text argument is unterminated or longer than " + MAX_LINE + " bytes");
  }

  private String line() {
    StringBuilder sb = new StringBuilder();
    while (true) {
      int b = in.read();
      if (b < 0) throw reject("data.pkl ends inside a GLOBAL opcode");
      if (b == '\n') return sb.toString();
      if (sb.length() >= MAX_LINE) throw reject("a GLOBAL name is longer than " + MAX_LINE + " bytes");
      sb.append((char) b);
    }
  }

  @Override
  protected Object persistentLoad(Object pid) {
    if (!(pid instanceof Object[] t) || t.length != 5 || !"storage".equals(t[0]) || !(t[1] instanceof StorageType type)
        || !(t[2] instanceof String key) || !(t[3] instanceof String) || !(t[4] instanceof Number n)) {
      throw reject("a persistent id is not ('storage', torch.<Type>Storage, key, location, numel)");
    }
    long numel = exactLong(n, "storage size");
    if (numel < 0) throw reject("storage '" + key + "' has negative size " + numel);
    StorageRef ref = storages.get(key);
    if (ref == null) {
      ref = new StorageRef(key, type.dtype(), numel);
      storages.put(key, ref);
    } else if (ref.dtype() != type.dtype() || ref.numel() != numel) {
      throw reject("storage '" + key + "' is referred to with different types or sizes");
    }
    return ref;
  }

  private long exactLong(Object o, String what) {
    if (o instanceof Integer i) return i;
    if (o instanceof Long l) return l;
    throw reject(what + " is not an integer in the 64-bit range");
  }

  private void checkGrad(StorageRef storage, boolean grad) {
    if (grad && !storage.dtype().isFloatingPoint()) {
      throw reject("a " + storage.dtype() + " tensor requires grad; only floating-point tensors can");
    }
  }

  private void emptyMapOrReject(Object o, String what) {
    if (!(o instanceof Map<?, ?> m) || !m.isEmpty()) throw reject(what + " must be an empty OrderedDict");
  }

  /** {@code _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])}. */
  private TensorSpec tensorSpec(Object[] args) {
    if ((args.length != 6 && args.length != 7) || !(args[0] instanceof StorageRef storage)
        || !(args[2] instanceof Object[] sizeTuple) || !(args[3] instanceof Object[] strideTuple)
        || !(args[4] instanceof Boolean grad)) {
      throw reject("_rebuild_tensor_v2 expects (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])");
    }
    emptyMapOrReject(args[5], "backward hooks");
    checkGrad(storage, grad);
    if (args.length == 7 && args[6] != null) emptyMapOrReject(args[6], "tensor metadata");
    long offset = exactLong(args[1], "storage offset");
    if (sizeTuple.length != strideTuple.length) throw reject("a tensor has " + sizeTuple.length + " sizes but " + strideTuple.length + " strides");
    if (sizeTuple.length > MAX_DIMS) throw reject("a tensor has " + sizeTuple.length + " dimensions (at most " + MAX_DIMS + ")");
    long[] size = new long[sizeTuple.length];
    long[] stride = new long[sizeTuple.length];
    long numel = 1;
    long last = offset;
    try {
      for (int i = 0; i < size.length; i++) {
        size[i] = exactLong(sizeTuple[i], "tensor size");
        stride[i] = exactLong(strideTuple[i], "tensor stride");
        if (size[i] < 0) throw reject("a tensor has negative size " + size[i]);
        if (stride[i] < 0) throw reject("a tensor has negative stride " + stride[i]);
        numel = Math.multiplyExact(numel, size[i]);
        if (size[i] > 0) last = Math.addExact(last, Math.multiplyExact(size[i] - 1, stride[i]));
      }
      Math.multiplyExact(numel, (long) storage.dtype().elementSize());
    } catch (ArithmeticException e) {
      throw reject("the size or reach of a tensor in storage '" + storage.key() + "' overflows");
    }
    if (offset < 0) throw reject("a tensor has negative storage offset " + offset);
    if (numel == 0 ? offset > storage.numel() : last >= storage.numel()) {
      throw reject("a tensor with storage offset " + offset + ", size " + java.util.Arrays.toString(size) + " and stride "
          + java.util.Arrays.toString(stride) + " reaches past the " + storage.numel() + " elements of storage '" + storage.key() + "'");
    }
    if (numel > storage.numel()) {
      throw reject("a tensor of " + numel + " elements (size " + java.util.Arrays.toString(size) + ", stride "
          + java.util.Arrays.toString(stride) + ") overlaps itself in the " + storage.numel() + " elements of storage '"
          + storage.key() + "'; such expanded views are not read");
    }
    return new TensorSpec(storage, offset, size, stride, grad);
  }
}
