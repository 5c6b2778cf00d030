package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import io.github.ddpm4j.ffi.DdpmNative;

import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;
import java.lang.ref.Reference;

/**
 * A random-number generator of its own ({@code torch.Generator}), so that a
 * sampler or data loader is reproducible whatever else draws random numbers.
 * Random creation functions in {@link Torch} accept one; {@code null} there
 * means the device's default generator, which {@link Torch#manualSeed} seeds.
 */
public final class Generator implements AutoCloseable {
  static {
    NativeLibrary.load();
  }

  private final Device device;
  private final HandleFree free;
  private final Cleaner.Cleanable cleanable;


  /**
   * Creates a CPU generator seeded with {@code seed} ({@code torch.Generator().manual_seed(seed)}).
   *
   * @param seed the seed
   */
  public Generator(long seed) {
    this(seed, Device.CPU);
  }

  /**
   * Creates a generator for {@code device} seeded with {@code seed}.
   *
   * @param seed the seed
   * @param device the device whose random streams it drives
   * @throws TorchException if the device is not available (CUDA on a CPU-only build)
   */
  public Generator(long seed, Device device) {
    MemorySegment ctx = Native.ctx();
    MemorySegment h = dd_generator_new(ctx, seed, device.type().ordinal(), device.index());
    Native.check(ctx);
    this.device = device;
    this.free = new HandleFree(h, DdpmNative::dd_generator_free);
    this.cleanable = Tensor.CLEANER.register(this, free);
  }

  /** @return the device this generator serves */
  public Device device() {
    return device;
  }

  MemorySegment handle() {
    MemorySegment h = free.handle;
    if (h == null) throw new IllegalStateException("generator is closed");
    return h;
  }

  static MemorySegment handleOrNull(Generator g) {
    return g == null ? MemorySegment.NULL : g.handle();
  }

  /**
   * The generator's full state ({@code Generator.get_state}).
   *
   * @return a {@code uint8} CPU tensor of the state
   * @throws IllegalStateException if closed
   */
  public Tensor getState() {
    try {
      return Torch.stateOf(handle());
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /**
   * Restores a state from {@link #getState()} ({@code Generator.set_state}).
   *
   * @param state a {@code uint8} CPU tensor
   * @throws TorchException if the state has the wrong dtype, device or size
   * @throws IllegalStateException if this generator or the state is closed
   */
  public void setState(Tensor state) {
    try {
      Torch.restoreState(handle(), state);
    } finally {
      Reference.reachabilityFence(this);
    }
  }

  /** Frees the native generator. Closing twice does nothing. */
  @Override
  public void close() {
    cleanable.clean();
  }
}
