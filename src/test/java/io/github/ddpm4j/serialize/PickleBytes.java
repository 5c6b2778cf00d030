package io.github.ddpm4j.serialize;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/** Assembles pickle opcodes by hand (opcode values from CPython's Lib/pickle.py). */
final class PickleBytes {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  PickleBytes op(int opcode) {
    out.write(opcode);
    return this;
  }

  PickleBytes raw(byte... bytes) {
    out.writeBytes(bytes);
    return this;
  }

  PickleBytes proto(int version) {
    return op(0x80).op(version);
  }

  PickleBytes global(String module, String name) {
    return op('c').raw((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
  }

  PickleBytes str(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return op('X').raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array()).raw(b);
  }

  PickleBytes integer(long v) {
    if (v >= 0 && v < 256) return op('K').op((int) v);
    if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
      return op('J').raw(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
    }
    return op(0x8a).op(8).raw(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
  }

  PickleBytes ints(long... values) {
    mark();
    for (long v : values) integer(v);
    return op('t');
  }

  PickleBytes mark() {
    return op('(');
  }

  PickleBytes tuple() {
    return op('t');
  }

  PickleBytes emptyTuple() {
    return op(')');
  }

  PickleBytes reduce() {
    return op('R');
  }

  PickleBytes stop() {
    return op('.');
  }

  /** Pushes {@code OrderedDict()}. */
  PickleBytes orderedDict() {
    return global("collections", "OrderedDict").emptyTuple().reduce();
  }

  /**
   * Pushes a tensor as {@code torch.save} pickles it.
   *
   * @param storageType e.g. {@code FloatStorage}
   */
  PickleBytes tensor(String storageType, String key, long numel, long offset, long[] size, long[] stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    mark().str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).tuple().op('Q');
    integer(offset).ints(size).ints(stride).op(0x89).orderedDict().tuple();
    return reduce();
  }

  byte[] bytes() {
    return out.toByteArray();
  }
}
