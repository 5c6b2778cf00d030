package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;

/**
 * Owns one native handle on behalf of one Java object (its owner: a {@link Tensor},
 * {@link Generator}, {@link NativeOptimizer}, {@link CudaGraph} or {@link NativeProcessGroup}), the one place where
 * ddpm4j frees native objects.
 *
 * <ul>
 *   <li><b>Free exactly once.</b> {@link #close()} and the {@link Cleaner} backstop share
 *       {@link #run()}, which takes the address atomically, so the {@code dd_*_free} of
 *       the kind runs once whoever comes first, and never again.
 *   <li><b>Backstop.</b> The Cleaner frees the handle once the owner is unreachable. It
 *       refers to this object, which never refers to its owner, so the owner can become
 *       unreachable. A tensor owned by a {@link Scope} has no backstop (the scope frees
 *       it); it gets one when it leaves its last scope.
 *   <li><b>Use after free.</b> {@link #get()} throws {@link IllegalStateException} naming
 *       what is closed ("tensor is closed"), and never hands out a freed address. It also
 *       refuses a handle whose native object reads Java-owned memory that has been freed
 *       (a tensor over a {@link MemorySegment}, or an optimizer over such tensors).
 *   <li><b>Tensors only:</b> membership in a {@link Scope}; the arena of the
 *       {@link Tensor#data()} views, closed when the handle is freed; and the storage
 *       bytes that an unscoped tensor keeps alive, counted in {@link NativeMemory}.
 * </ul>
 */
final class NativeHandle implements Runnable {
  /** The one Cleaner of every backstop. */
  static final Cleaner CLEANER = Cleaner.create();

  /** What the handle is, which names it in errors and chooses its free function. */
  enum Kind {
    /** A {@code dd_tensor}. */
    TENSOR("tensor", "the memory segment this tensor was created over has been freed"),
    /** A {@code dd_generator}. */
    GENERATOR("generator", null),
    /** A {@code dd_optimizer}. */
    OPTIMIZER("optimizer", "the memory segment a parameter of this optimizer was created over has been freed"),
    /** A {@code dd_cuda_graph}. */
    CUDA_GRAPH("CUDA graph", null),
    /** A {@code dd_process_group}. */
    PROCESS_GROUP("process group", null);

    private final String closed;
    private final String backingFreed;

    Kind(String noun, String backingFreed) {
      this.closed = noun + " is closed";
      this.backingFreed = backingFreed;
    }
  }

  private static final VarHandle ADDRESS;

  static {
    try {
      ADDRESS = MethodHandles.lookup().findVarHandle(NativeHandle.class, "address", MemorySegment.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Kind kind;
  /** The live handle; {@code null} once freed. */
  private volatile MemorySegment address;
  /** Java-owned memory that the native object reads, or {@code null}; never empty. */
  private final MemorySegment[] backing;
  /** The backstop, {@code null} while a scope owns the tensor. */
  private Cleaner.Cleanable cleanable;
  /** The scope that owns this tensor, or {@code null}. */
  Scope scope;
  /** The arena of this tensor's {@link Tensor#data()} views, made on the first one. */
  private Arena views;
  /** Storage bytes counted in {@link NativeMemory} while no scope owns the tensor; 0 when not counted. */
  private long accounted;

  /**
   * @param kind what {@code address} is
   * @param address a handle that a downcall returned (and checked)
   * @param backing Java-owned memory the native object reads, or {@code null}
   */
  NativeHandle(Kind kind, MemorySegment address, MemorySegment[] backing) {
    this.kind = kind;
    this.address = address;
    this.backing = backing;
  }

  /**
   * Takes ownership of a handle that no scope can own (generators, optimizers, CUDA graphs, process groups),
   * with the backstop armed at once.
   *
   * @param owner the Java object whose unreachability frees the handle
   * @param kind what {@code address} is
   * @param address a handle that a downcall returned (and checked)
   * @param backing Java-owned memory the native object reads, or {@code null}
   * @return the owner of the handle
   */
  static NativeHandle of(Object owner, Kind kind, MemorySegment address, MemorySegment[] backing) {
    NativeHandle h = new NativeHandle(kind, address, backing);
    h.backstop(owner);
    return h;
  }

  /**
   * The live handle, for a downcall; the caller keeps the owner reachable until that call
   * has returned ({@link Native#check(Object)}).
   *
   * @return the address
   * @throws IllegalStateException if it has been freed, or the Java-owned memory it reads has
   */
  MemorySegment get() {
    MemorySegment h = address;
    if (h == null) throw new IllegalStateException(kind.closed);
    if (backing != null) {
      for (MemorySegment b : backing) {
        if (!b.scope().isAlive()) throw new IllegalStateException(kind.backingFreed);
      }
    }
    return h;
  }

  /** @return the address, or {@code null} once freed; checks nothing */
  MemorySegment peek() {
    return address;
  }

  /** @return whether the handle has been freed */
  boolean isClosed() {
    return address == null;
  }

  /** @return Java-owned memory that the native object reads, or {@code null} */
  MemorySegment[] backing() {
    return backing;
  }

  /**
   * Arms the backstop of a tensor that no scope owns (any more), once: registers the
   * Cleaner, and counts the storage bytes the tensor keeps alive in {@link NativeMemory},
   * which collects garbage tensors when they pass its limit. A tensor over Java-owned
   * memory holds no LibTorch memory of its own and is not counted.
   *
   * @param owner the Java object whose unreachability frees the handle
   */
  void backstop(Object owner) {
    MemorySegment h = address;
    if (cleanable != null || h == null) return;
    if (kind == Kind.TENSOR && backing == null) {
      long bytes = Critical.tensorStorageNbytes(h);
      accounted = bytes;
      cleanable = CLEANER.register(owner, this);
      NativeMemory.reserve(bytes);
    } else {
      cleanable = CLEANER.register(owner, this);
    }
  }

  /**
   * The arena of this tensor's data views: closing it (when the handle is freed) makes
   * every view unusable.
   *
   * @return the arena, made on the first call
   */
  Arena views() {
    Arena v = views;
    if (v == null) {
      v = Arena.ofShared();
      views = v;
    }
    return v;
  }

  /**
   * Frees the handle now (if not yet freed), leaving its scope and dropping its backstop.
   * Closing twice does nothing.
   */
  void close() {
    Scope s = scope;
    // Only the scope's own thread touches its list; closed from another thread, the handle is
    // freed here and stays listed, and the scope skips it when it closes (take() returns null).
    if (s != null && s.isOwnedByCurrentThread()) {
      scope = null;
      s.forget(this);
    }
    Cleaner.Cleanable c = cleanable;
    if (c != null) {
      c.clean();
    } else {
      run();
    }
  }

  /** Frees the handle if it is still live: the action that {@link #close()} and the Cleaner share. */
  @Override
  public void run() {
    MemorySegment h = take();
    if (h == null) return;
    switch (kind) {
      case TENSOR -> dd_tensor_free(h);
      case GENERATOR -> dd_generator_free(h);
      case OPTIMIZER -> dd_optimizer_free(h);
      case CUDA_GRAPH -> dd_cuda_graph_free(h);
      case PROCESS_GROUP -> dd_dist_group_free(h);
    }
  }

  /**
   * Takes the handle out of this owner so that the caller frees it, exactly once whoever else
   * tries: closes the data views and returns the accounted bytes.
   *
   * @return the handle, or null if it was already taken (freed)
   */
  private MemorySegment take() {
    MemorySegment h = (MemorySegment) ADDRESS.getAndSet(this, (MemorySegment) null);
    if (h == null) return null;
    Arena v = views;
    views = null;
    if (v != null) v.close();
    long bytes = accounted;
    accounted = 0;
    if (bytes != 0) NativeMemory.release(bytes);
    return h;
  }

  /**
   * For a closing {@link Scope}, which frees its tensors in one {@code dd_tensor_free_all}: takes
   * the handle of a scoped tensor (one without a Cleaner backstop) for the caller to free.
   *
   * @return the tensor handle to free, or null if it is already freed or is not a plain scoped
   *     tensor (then it was closed here, the usual way)
   */
  MemorySegment takeFromScope() {
    scope = null;
    if (kind != Kind.TENSOR || cleanable != null) {
      close();
      return null;
    }
    return take();
  }
}
