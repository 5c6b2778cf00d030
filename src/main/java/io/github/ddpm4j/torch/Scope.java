package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.dd_tensor_free_all;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;

/**
 * Owns the tensors created on one thread while it is open, and frees them all,
 * newest first, when it closes. Scopes nest: the innermost open scope of the
 * current thread owns each new tensor.
 *
 * <p>Use a scope for step-local temporaries, so that intermediate results
 * cannot leak:
 * {@snippet :
 * try (Scope step = Scope.open()) {
 *   Tensor loss = model.forward(x).sub(target).square().mean();
 *   loss.backward();
 *   lossValue = loss.item();
 * } // every tensor above is freed here
 * }
 *
 * <p>A tensor that must outlive the scope is handed on with {@link #keep(Tensor)}.
 * Tensors created while no scope is open belong to no scope: their owner closes
 * them, and the garbage collector frees them as a backstop only ({@link NativeMemory}
 * bounds the native memory that such tensors may keep alive meanwhile). A scope's own
 * tensors have no such backstop (it would only cost time on every op): the
 * scope frees them, so always close it, with try-with-resources.
 *
 * <p>A scope is confined to the thread that opened it; closing it elsewhere, or
 * out of nesting order, throws {@link IllegalStateException}, and so does moving one of
 * its tensors out ({@link #keep}, {@link #release}) from another thread. Any thread may
 * close a tensor that a scope owns: its handle is freed at once, and the scope skips it
 * when it closes. A scope closes with one downcall per 256 of its tensors
 * ({@code dd_tensor_free_all}).
 */
public final class Scope implements AutoCloseable {
  private final Native thread;
  private final Scope parent;
  private final Thread owner;
  private final ArrayList<NativeHandle> tensors = new ArrayList<>();
  private boolean closed;

  private Scope(Native thread) {
    this.thread = thread;
    this.parent = thread.scope;
    this.owner = Thread.currentThread();
  }

  /**
   * Opens a scope on the current thread, nested in the open one if any.
   *
   * @return the new innermost scope
   */
  public static Scope open() {
    Native n = Native.get();
    Scope s = new Scope(n);
    n.scope = s;
    return s;
  }

  /**
   * Moves {@code t} out of the innermost open scope of this thread: into that
   * scope's parent, or to no scope when it has none (then the caller owns it).
   *
   * @param t a tensor
   * @return {@code t}
   * @throws IllegalStateException if {@code t} is closed, or its scope was opened by another thread
   */
  public static Tensor keep(Tensor t) {
    t.handle(); // rejects a closed tensor
    NativeHandle h = t.owned();
    Scope s = h.scope;
    if (s != null) {
      s.checkOwner("keep");
      s.remove(h);
      h.scope = null;
      if (s.parent != null) {
        s.parent.add(h);
      } else {
        h.backstop(t);
      }
    }
    return t;
  }

  /**
   * Takes {@code t} out of whatever scope owns it, so that only its caller owns
   * it (model parameters, optimizer state, datasets).
   *
   * @param t a tensor
   * @return {@code t}
   * @throws IllegalStateException if {@code t} is closed, or its scope was opened by another thread
   */
  public static Tensor release(Tensor t) {
    t.handle();
    NativeHandle h = t.owned();
    Scope s = h.scope;
    if (s != null) {
      s.checkOwner("release");
      s.remove(h);
      h.scope = null;
      h.backstop(t);
    }
    return t;
  }

  /** @return how many open tensors this scope owns */
  public int size() {
    return tensors.size();
  }

  /** Takes ownership of a new tensor's handle. */
  void add(NativeHandle t) {
    tensors.add(t);
    t.scope = this;
  }

  private void remove(NativeHandle t) {
    for (int i = tensors.size() - 1; i >= 0; i--) {
      if (tensors.get(i) == t) {
        tensors.remove(i);
        return;
      }
    }
  }

  /** @return whether the calling thread opened this scope (only it may change the scope's list) */
  boolean isOwnedByCurrentThread() {
    return Thread.currentThread() == owner;
  }

  /** Refuses to move a tensor out of this scope from a thread other than the one that opened it. */
  private void checkOwner(String what) {
    if (!isOwnedByCurrentThread()) {
      throw new IllegalStateException("Scope." + what + ": the tensor belongs to a scope of thread '" + owner.getName()
          + "'; only that thread may move it out of its scope");
    }
  }

  /** Detaches a tensor that was closed on its own. */
  void forget(NativeHandle t) {
    remove(t);
  }

  /**
   * Frees every tensor this scope still owns, newest first, and makes the
   * parent scope current again. Closing twice does nothing.
   *
   * @throws IllegalStateException if called from another thread, or while a
   *     scope opened inside this one is still open
   */
  @Override
  public void close() {
    if (closed) return;
    if (Thread.currentThread() != owner) {
      throw new IllegalStateException("a scope must be closed by the thread that opened it");
    }
    if (thread.scope != this) {
      throw new IllegalStateException("scopes must be closed innermost first");
    }
    closed = true;
    thread.scope = parent;
    // One downcall per batch of handles rather than one per tensor.
    MemorySegment batch = thread.words(0, Native.SLOT_LONGS);
    int count = 0;
    for (int i = tensors.size() - 1; i >= 0; i--) {
      MemorySegment h = tensors.get(i).takeFromScope();
      if (h == null) continue;
      batch.setAtIndex(ValueLayout.ADDRESS, count++, h);
      if (count == Native.SLOT_LONGS) {
        dd_tensor_free_all(batch, count);
        count = 0;
      }
    }
    if (count > 0) dd_tensor_free_all(batch, count);
    tensors.clear();
  }
}
