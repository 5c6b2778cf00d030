package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import io.github.ddpm4j.ffi.dd_ctx;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Reference;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Per-thread native call state: the {@code dd_ctx} record (autograd mode in,
 * error out) and scratch memory for small argument arrays, so that hot paths
 * allocate no arena per call. Each Java thread, virtual threads included, has
 * its own, so an error is always read by the thread whose call raised it,
 * whichever carrier thread ran the downcall.
 */
final class Native {
  /** Longs per scratch slot; larger arrays get a per-call arena. */
  static final int SLOT_LONGS = 256;
  private static final int SLOTS = 3;
  private static final long SLOT_BYTES = SLOT_LONGS * 8L;

  private static final ThreadLocal<Native> STATE = ThreadLocal.withInitial(Native::new);

  static {
    NativeLibrary.load();
  }

  final MemorySegment ctx;
  final MemorySegment scratch;
  Scope scope;

  private Native() {
    Arena arena = Arena.ofAuto();
    ctx = arena.allocate(dd_ctx.layout());
    scratch = arena.allocate(SLOT_BYTES * SLOTS, 8);
  }

  static Native get() {
    return STATE.get();
  }

  /**
   * Throws the error that the last call on this thread's context recorded, if any, and
   * resets the record. Every downcall that takes the context is followed by this check,
   * or by {@link #check(Object)} when it read the handles of Java objects.
   *
   * @throws TorchException if the last call failed
   */
  void check() {
    if (dd_ctx.status(ctx) != DD_OK()) throw takeError(ctx);
  }

  /**
   * {@link #check()} after a downcall that read the native handle of {@code owner} (a tensor,
   * generator, optimizer or graph; or a list or array of them): keeps {@code owner} reachable
   * until here, so that its {@link java.lang.ref.Cleaner} cannot free the handle while the
   * call still uses it. The one place where ops fence their operands: call it after the
   * downcall returns, on every path.
   *
   * @param owner the owner of a handle the call read; may be null
   * @throws TorchException if the last call failed
   */
  void check(Object owner) {
    Reference.reachabilityFence(owner);
    check();
  }

  /**
   * {@link #check(Object)} for a downcall that read the handles of two owners.
   *
   * @param a the owner of a handle the call read; may be null
   * @param b another; may be null
   * @throws TorchException if the last call failed
   */
  void check(Object a, Object b) {
    Reference.reachabilityFence(a);
    Reference.reachabilityFence(b);
    check();
  }

  private static TorchException takeError(MemorySegment ctx) {
    int status = dd_ctx.status(ctx);
    String function = cString(dd_ctx.function(ctx));
    String message = cString(dd_ctx.message(ctx));
    dd_ctx.status(ctx, DD_OK());
    return new TorchException(kind(status), function, message);
  }

  /** @return the kind of a {@code dd_status} code other than {@code DD_OK} */
  private static TorchException.Kind kind(int status) {
    if (status == DD_ERR_TORCH()) return TorchException.Kind.TORCH;
    if (status == DD_ERR_STD()) return TorchException.Kind.STD;
    if (status == DD_ERR_ARGUMENT()) return TorchException.Kind.ARGUMENT;
    if (status == DD_ERR_OOM()) return TorchException.Kind.OUT_OF_MEMORY;
    return TorchException.Kind.UNKNOWN; // DD_ERR_UNKNOWN, or a code this version does not know
  }

  private static String cString(MemorySegment chars) {
    long n = 0;
    while (n < chars.byteSize() && chars.get(ValueLayout.JAVA_BYTE, n) != 0) n++;
    return new String(chars.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
  }

  /**
   * Copies {@code values} into scratch slot {@code slot} of this thread.
   *
   * @return a segment holding the values, valid until the next call that uses the same slot
   */
  MemorySegment longs(int slot, long[] values) {
    if (values.length > SLOT_LONGS) {
      return Arena.ofAuto().allocateFrom(ValueLayout.JAVA_LONG, values);
    }
    MemorySegment s = scratch.asSlice(slot * SLOT_BYTES, SLOT_BYTES);
    MemorySegment.copy(values, 0, s, ValueLayout.JAVA_LONG, 0, values.length);
    return s;
  }

  /**
   * Writes the tensors' native handles into scratch slot 1, as the
   * {@code const dd_tensor* const*} arrays of the list-taking functions want.
   *
   * @throws IllegalStateException if a tensor is closed
   */
  MemorySegment handles(List<Tensor> tensors) {
    MemorySegment arr = words(1, tensors.size());
    for (int i = 0; i < tensors.size(); i++) arr.setAtIndex(ValueLayout.ADDRESS, i, tensors.get(i).handle());
    return arr;
  }

  /** @return a scratch segment for {@code n} longs (or pointers) in slot {@code slot} */
  MemorySegment words(int slot, int n) {
    if (n > SLOT_LONGS) return Arena.ofAuto().allocate(ValueLayout.JAVA_LONG, n);
    return scratch.asSlice(slot * SLOT_BYTES, SLOT_BYTES);
  }
}
