package io.github.ddpm4j.serialize;

import io.github.ddpm4j.torch.DType;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes the {@code data.pkl} of a state dict exactly as Python's
 * {@code torch.save(model.state_dict(), f)} does (pickle protocol 2, CPython's
 * {@code Lib/pickle.py} opcodes): an {@code OrderedDict} built by
 * {@code SETITEMS} in batches of 1000, each tensor as
 * {@code torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
 * requires_grad, OrderedDict())} with its storage as the persistent id
 * {@code ('storage', torch.<Type>Storage, key, 'cpu', numel)}. Only globals that
 * {@code torch.load(weights_only=True)} admits are used.
 */
final class TorchPickleWriter {
  private static final int BATCH = 1000;

  /**
   * One tensor to pickle: a contiguous storage of its own.
   *
   * @param name the state-dict key
   * @param dtype element type
   * @param shape sizes
   * @param storageKey the name of its record under {@code data/}
   * @param requiresGrad whether it requires grad
   */
  record Item(String name, DType dtype, long[] shape, String storageKey, boolean requiresGrad) {}

  private final ByteArrayOutputStream out = new ByteArrayOutputStream();
  private final Map<String, Integer> memo = new HashMap<>();

  private TorchPickleWriter() {}

  /**
   * @param items the tensors, in dict order
   * @return the pickle bytes
   * @throws IllegalArgumentException if a name is not valid Unicode (an unpaired surrogate)
   */
  static byte[] write(List<Item> items) {
    TorchPickleWriter w = new TorchPickleWriter();
    w.op(0x80).op(2);
    w.global("collections", "OrderedDict");
    w.op(')').op('R');
    for (int start = 0; start < items.size(); start += BATCH) {
      w.op('(');
      for (Item it : items.subList(start, Math.min(items.size(), start + BATCH))) w.item(it);
      w.op('u');
    }
    w.op('.');
    return w.out.toByteArray();
  }

  private static String storageClass(DType d) {
    return switch (d) {
      case FLOAT32 -> "FloatStorage";
      case FLOAT64 -> "DoubleStorage";
      case FLOAT16 -> "HalfStorage";
      case BFLOAT16 -> "BFloat16Storage";
      case INT64 -> "LongStorage";
      case INT32 -> "IntStorage";
      case INT16 -> "ShortStorage";
      case INT8 -> "CharStorage";
      case UINT8 -> "ByteStorage";
      case BOOL -> "BoolStorage";
    };
  }

  private void item(Item it) {
    string(it.name());
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    op('(');
    string("storage");
    global("torch", storageClass(it.dtype()));
    string(it.storageKey());
    string("cpu");
    long numel = 1;
    for (long s : it.shape()) numel *= s;
    integer(numel);
    op('t');
    op('Q');
    integer(0);
    long[] stride = new long[it.shape().length];
    long step = 1;
    for (int i = stride.length - 1; i >= 0; i--) {
      stride[i] = step;
      step *= Math.max(1, it.shape()[i]);
    }
    tuple(it.shape());
    tuple(stride);
    op(it.requiresGrad() ? 0x88 : 0x89);
    global("collections", "OrderedDict");
    op(')').op('R');
    op('t');
    op('R');
  }

  private TorchPickleWriter op(int b) {
    out.write(b);
    return this;
  }

  private void le(int bytes, long v) {
    for (int i = 0; i < bytes; i++) out.write((int) (v >>> (8 * i)));
  }

  /** A global, memoized after its first use as CPython's pickler does. */
  private void global(String module, String name) {
    String key = module + "\n" + name + "\n";
    Integer at = memo.get(key);
    if (at != null) {
      if (at < 256) op('h').op(at);
      else { op('j'); le(4, at); }
      return;
    }
    op('c');
    out.writeBytes(key.getBytes(StandardCharsets.US_ASCII));
    int index = memo.size();
    memo.put(key, index);
    if (index < 256) op('q').op(index);
    else { op('r'); le(4, index); }
  }

  private void string(String s) {
    byte[] b;
    try {
      ByteBuffer buf = StandardCharsets.UTF_8.newEncoder().onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT).encode(java.nio.CharBuffer.wrap(s));
      b = new byte[buf.remaining()];
      buf.get(b);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("the name '" + s + "' is not valid Unicode (unpaired surrogate)");
    }
    op('X');
    le(4, b.length);
    out.writeBytes(b);
  }

  private void integer(long v) {
    if (v >= 0 && v < 256) {
      op('K').op((int) v);
    } else if (v >= 0 && v < 65536) {
      op('M');
      le(2, v);
    } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
      op('J');
      le(4, v);
    } else {
      // LONG1: minimal little-endian two's complement, as pickle.encode_long writes it.
      byte[] be = java.math.BigInteger.valueOf(v).toByteArray();
      op(0x8a).op(be.length);
      for (int i = be.length - 1; i >= 0; i--) out.write(be[i]);
    }
  }

  private void tuple(long[] values) {
    switch (values.length) {
      case 0 -> op(')');
      case 1, 2, 3 -> {
        for (long v : values) integer(v);
        op(0x84 + values.length);
      }
      default -> {
        op('(');
        for (long v : values) integer(v);
        op('t');
      }
    }
  }

}
