package io.github.ddpm4j.torch;

import io.github.ddpm4j.ffi.DdpmNative;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls to the shim's bookkeeping functions linked with {@link Linker.Option#critical(boolean)}:
 * the JVM calls them without the transition to native state (no safepoint poll, no thread-state
 * change), which saves several nanoseconds per call. That is allowed only for functions that
 * return quickly, never block, never call back into Java and never throw; the ones here read a
 * tensor's metadata or count handles (their only failure, a null or undefined tensor, is recorded in the
 * call's context like any other). Ops themselves, which may run for
 * seconds, keep jextract's ordinary downcalls. Each handle is built from the generated binding's
 * own address and descriptor, so the header stays the one description of the ABI.
 */
final class Critical {
  private static final MethodHandle TENSOR_STORAGE_NBYTES =
      link(DdpmNative.dd_tensor_storage_nbytes$address(), DdpmNative.dd_tensor_storage_nbytes$descriptor());
  private static final MethodHandle TENSOR_IS_ALIAS_OF =
      link(DdpmNative.dd_tensor_is_alias_of$address(), DdpmNative.dd_tensor_is_alias_of$descriptor());
  private static final MethodHandle TENSOR_INFO_GET =
      link(DdpmNative.dd_tensor_info_get$address(), DdpmNative.dd_tensor_info_get$descriptor());
  private static final MethodHandle TENSOR_SHAPE = link(DdpmNative.dd_tensor_shape$address(), DdpmNative.dd_tensor_shape$descriptor());
  private static final MethodHandle LIVE_HANDLES = link(DdpmNative.dd_live_handles$address(), DdpmNative.dd_live_handles$descriptor());

  private Critical() {}

  private static MethodHandle link(MemorySegment address, FunctionDescriptor descriptor) {
    return Linker.nativeLinker().downcallHandle(address, descriptor, Linker.Option.critical(false));
  }

  /** @return {@code dd_tensor_storage_nbytes}: the bytes of the storage behind a handle */
  static long tensorStorageNbytes(MemorySegment t) {
    try {
      return (long) TENSOR_STORAGE_NBYTES.invokeExact(t);
    } catch (Throwable e) {
      throw new AssertionError("dd_tensor_storage_nbytes", e);
    }
  }

  /** @return {@code dd_tensor_is_alias_of}: non-zero if {@code a} shares {@code b}'s storage */
  static int tensorIsAliasOf(MemorySegment a, MemorySegment b) {
    try {
      return (int) TENSOR_IS_ALIAS_OF.invokeExact(a, b);
    } catch (Throwable e) {
      throw new AssertionError("dd_tensor_is_alias_of", e);
    }
  }

  /**
   * {@code dd_tensor_info_get}: fills {@code out} with a tensor's metadata; a failure is recorded in
   * {@code ctx}, as for every call that takes the context.
   */
  static void tensorInfoGet(MemorySegment ctx, MemorySegment t, MemorySegment out) {
    try {
      TENSOR_INFO_GET.invokeExact(ctx, t, out);
    } catch (Throwable e) {
      throw new AssertionError("dd_tensor_info_get", e);
    }
  }

  /** @return {@code dd_tensor_shape}: the number of dimensions, with up to {@code capacity} sizes and strides written */
  static long tensorShape(MemorySegment ctx, MemorySegment t, MemorySegment sizes, MemorySegment strides, long capacity) {
    try {
      return (long) TENSOR_SHAPE.invokeExact(ctx, t, sizes, strides, capacity);
    } catch (Throwable e) {
      throw new AssertionError("dd_tensor_shape", e);
    }
  }

  /** @return {@code dd_live_handles}: handles of {@code kind} that exist now */
  static long liveHandles(int kind) {
    try {
      return (long) LIVE_HANDLES.invokeExact(kind);
    } catch (Throwable e) {
      throw new AssertionError("dd_live_handles", e);
    }
  }
}
