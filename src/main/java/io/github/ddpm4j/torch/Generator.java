package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.MemorySegment;

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
  private final NativeHandle owned;

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
    Native n = Native.get();
    MemorySegment h = dd_generator_new(n.ctx, seed, device.type().code(), device.index());
    n.check();
    this.device = device;
    this.owned = NativeHandle.of(this, NativeHandle.Kind.GENERATOR, h, null);
  }

  /** @return the device this generator serves */
  public Device device() {
    return device;
  }

  /**
   * The live native handle, for a downcall; the caller keeps this generator reachable until the
   * call has returned.
   *
   * @throws IllegalStateException if closed
   */
  MemorySegment handle() {
    return owned.get();
  }

  /** @return the handle of {@code g}, or {@code NULL} (the default generator) for null */
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
    return Torch.stateOf(this);
  }

  /**
   * Restores a state from {@link #getState()} ({@code Generator.set_state}).
   *
   * @param state a {@code uint8} CPU tensor
   * @throws TorchException if the state has the wrong dtype, device or size
   * @throws IllegalStateException if this generator or the state is closed
   */
  public void setState(Tensor state) {
    Torch.restoreState(this, state);
  }

  /** Frees the native generator. Closing twice does nothing. */
  @Override
  public void close() {
    owned.close();
  }
}
