package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Tensor creation and library-wide functions, as in the {@code torch} module:
 * {@code Torch.randn(shape)} is {@code torch.randn(shape)}.
 *
 * <p>Defaults follow PyTorch: float32 on the CPU. Random functions draw from
 * the given {@link Generator}, or from the device's default generator when it
 * is {@code null}; on the CPU the same seed gives the same numbers as
 * PyTorch's Python front end on the same LibTorch.
 */
public final class Torch {
  static {
    NativeLibrary.load();
  }

  private Torch() {}

  private static void checkShape(long[] shape) {
    for (long s : shape) {
      if (s < 0) throw new IllegalArgumentException("negative dimension " + s + " in shape");
    }
  }

  // ------------------------------------------------------------ library state

  /** @return the LibTorch version the shim was built against, e.g. {@code 1.13.1} */
  public static String version() {
    return dd_torch_version().getString(0);
  }

  /** @return LibTorch's build configuration ({@code torch.__config__.show()}), which names its BLAS */
  public static String configInfo() {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment buf = a.allocate(16384);
      long n = dd_config_info(buf, buf.byteSize());
      return new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
    }
  }

  /**
   * Which LibTorch this process runs on.
   *
   * @param version LibTorch's version, e.g. {@code 2.13.0}
   * @param cuda whether that LibTorch was built with CUDA ({@code USE_CUDA=ON}, or {@code =1} from 2.14 on); says nothing of
   *     whether a GPU is visible ({@link #cudaIsAvailable()})
   * @param blas the BLAS it was built for, from its configuration ({@code BLAS_INFO}: {@code mkl},
   *     {@code open}, or {@code generic} for the system's libblas)
   * @param library the file of its CPU library ({@code libtorch_cpu.so}), symbolic links resolved, or empty when unknown
   * @param blasLibrary the file that provides the BLAS routines to this process, symbolic links resolved, or empty when none
   *     is loaded as a library of its own (a BLAS linked statically into LibTorch)
   */
  public record Build(String version, boolean cuda, String blas, String library, String blasLibrary) {
    /** @return one line: version, CPU or CUDA build, BLAS, and where the library was loaded from */
    @Override
    public String toString() {
      return version + " (" + (cuda ? "CUDA" : "CPU") + " build, BLAS: " + blas
          + (blasLibrary.isEmpty() || blasLibrary.equals(library) ? "" : " via " + blasLibrary) + ")"
          + (library.isEmpty() ? "" : " from " + library);
    }
  }

  /** @return the LibTorch in use: version, CPU or CUDA build, BLAS, library file */
  public static Build build() {
    String config = configInfo();
    return new Build(version(), isOn(setting(config, "USE_CUDA")), setting(config, "BLAS_INFO"),
        libraryPath(false), libraryPath(true));
  }

  /** @return whether a build setting is on: CMake's {@code ON}, or {@code 1} (LibTorch 2.14 writes {@code USE_CUDA=1}) */
  private static boolean isOn(String value) {
    return value.equals("ON") || value.equals("1") || value.equalsIgnoreCase("TRUE");
  }

  /** @return the value of {@code key=value} in LibTorch's build settings, or {@code unknown} */
  private static String setting(String config, String key) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\b" + key + "=([^,\\s]*)").matcher(config);
    return m.find() ? m.group(1) : "unknown";
  }

  /** @return the file of LibTorch's CPU library, or with {@code blas} the file that provides sgemm_; empty if unknown */
  private static String libraryPath(boolean blas) {
    try (Arena a = Arena.ofConfined()) {
      MemorySegment buf = a.allocate(4096);
      long n = blas ? dd_blas_library_path(buf, buf.byteSize()) : dd_torch_library_path(buf, buf.byteSize());
      String path = new String(buf.asSlice(0, n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
      try {
        // Through symlinks: Debian's libblas.so.3 is an alternative that names the real BLAS.
        return path.isEmpty() ? path : java.nio.file.Path.of(path).toRealPath().toString();
      } catch (java.io.IOException | RuntimeException e) {
        return path;
      }
    }
  }

  /** Kinds of native handle, for {@link #liveHandles(HandleKind)}, each with its code of {@code enum dd_handle_kind}. */
  public enum HandleKind {
    /** Tensors. */
    TENSOR(DD_KIND_TENSOR()),
    /** Random-number generators. */
    GENERATOR(DD_KIND_GENERATOR()),
    /** Optimizers. */
    OPTIMIZER(DD_KIND_OPTIMIZER()),
    /** Byte buffers returned by serialization. */
    BYTES(DD_KIND_BYTES()),
    /** Captured CUDA graphs ({@link CudaGraph}). */
    CUDA_GRAPH(DD_KIND_CUDA_GRAPH()),
    /** Process groups ({@link NativeProcessGroup}). */
    PROCESS_GROUP(DD_KIND_PROCESS_GROUP());

    private final int code;

    HandleKind(int code) {
      this.code = code;
    }
  }

  /** @return how many native handles of every kind are alive in this process */
  public static long liveHandles() {
    return Critical.liveHandles(DD_KIND_ALL());
  }

  /** @param kind one kind of handle @return how many handles of that kind are alive */
  public static long liveHandles(HandleKind kind) {
    return Critical.liveHandles(kind.code);
  }

  /**
   * Counts calls into the native library, for measuring how many downcalls an operation
   * makes (bench/run's per-op counts): the difference of two readings is the number of
   * {@code dd_*} calls that every thread of the process made in between.
   *
   * @return the calls of the native library's functions so far; -1 unless the library was
   *     built with the CMake option {@code DDPM4J_COUNT_CALLS} (the release build counts nothing)
   */
  public static long nativeCallCount() {
    return dd_call_count();
  }

  /** @return whether LibTorch was built with CUDA and sees a device ({@code torch.cuda.is_available}) */
  public static boolean cudaIsAvailable() {
    return dd_cuda_is_available() != 0;
  }

  /** @return the number of visible CUDA devices, 0 without CUDA ({@code torch.cuda.device_count}) */
  public static long cudaDeviceCount() {
    return dd_cuda_device_count();
  }

  /**
   * Waits for all work on a CUDA device ({@code torch.cuda.synchronize}).
   *
   * @param device a CUDA device
   * @throws TorchException if CUDA is not available
   * @throws IllegalArgumentException if {@code device} is the CPU
   */
  public static void cudaSynchronize(Device device) {
    if (!device.isCuda()) throw new IllegalArgumentException("cudaSynchronize needs a CUDA device, got " + device);
    Native n = Native.get();
    dd_cuda_synchronize(n.ctx, device.index());
    n.check();
  }

  /**
   * Seeds every default generator, CPU and CUDA ({@code torch.manual_seed}).
   *
   * @param seed the seed
   */
  public static void manualSeed(long seed) {
    Native n = Native.get();
    dd_manual_seed(n.ctx, seed);
    n.check();
  }

  /**
   * The most intra-op threads {@link #setNumThreads} accepts per core that the JVM may
   * use ({@link Runtime#availableProcessors()}, which honours container CPU limits):
   * more threads than that only contend for the same cores.
   */
  public static final int MAX_THREADS_PER_CORE = 4;

  /** @return the largest thread count {@link #setNumThreads} accepts on this machine */
  public static int maxNumThreads() {
    return MAX_THREADS_PER_CORE * Runtime.getRuntime().availableProcessors();
  }

  /**
   * Sets LibTorch's intra-op thread count for the whole process
   * ({@code torch.set_num_threads}). LibTorch keeps its OpenMP setting per OS thread;
   * ddpm4j applies the new count in each thread that calls into LibTorch afterwards,
   * before its next op, so threads that already ran ops follow it too.
   *
   * @param threads from 1 to {@link #maxNumThreads()}
   * @throws IllegalArgumentException if {@code threads} is out of that range
   */
  public static void setNumThreads(int threads) {
    int max = maxNumThreads();
    if (threads < 1 || threads > max) {
      throw new IllegalArgumentException("thread count must be in 1.." + max + " (" + MAX_THREADS_PER_CORE + " per available core), got "
          + threads);
    }
    Native n = Native.get();
    dd_set_num_threads(n.ctx, threads);
    n.check();
  }

  /**
   * @return LibTorch's intra-op thread count as the calling thread's next op will use it
   *     ({@code torch.get_num_threads}), after {@link #setNumThreads} has been applied to that thread
   */
  public static int getNumThreads() {
    return dd_get_num_threads();
  }

  /** @return the state of the default CPU generator, a uint8 tensor ({@code torch.get_rng_state}) */
  public static Tensor getRngState() {
    return stateOf(null);
  }

  /**
   * @param state a tensor from {@link #getRngState()}
   * @throws TorchException if it is not a valid state ({@code torch.set_rng_state})
   */
  public static void setRngState(Tensor state) {
    restoreState(null, state);
  }

  /** @return the state of {@code generator}, or of the default CPU generator for null */
  static Tensor stateOf(Generator generator) {
    Native n = Native.get();
    return Tensor.wrap(n, dd_generator_get_state(n.ctx, Generator.handleOrNull(generator)), generator);
  }

  /** Sets the state of {@code generator}, or of the default CPU generator for null. */
  static void restoreState(Generator generator, Tensor state) {
    Native n = Native.get();
    dd_generator_set_state(n.ctx, Generator.handleOrNull(generator), state.handle());
    n.check(generator, state);
  }

  // ------------------------------------------------------------------ creation

  /**
   * @param shape sizes
   * @param dtype element type
   * @param device target device
   * @return an uninitialised tensor ({@code torch.empty})
   * @throws IllegalArgumentException if a size is negative
   * @throws TorchException if the device is not available
   */
  public static Tensor empty(long[] shape, DType dtype, Device device) {
    checkShape(shape);
    Native n = Native.get();
    return Tensor.wrap(n, dd_empty(n.ctx, n.longs(0, shape), shape.length, dtype.code(), device.type().code(), device.index()));
  }

  /**
   * @param shape sizes
   * @param value fill value (converted to {@code dtype})
   * @param dtype element type
   * @param device target device
   * @return a tensor filled with {@code value} ({@code torch.full})
   * @throws IllegalArgumentException if a size is negative
   * @throws TorchException if the device is not available
   */
  public static Tensor full(long[] shape, double value, DType dtype, Device device) {
    checkShape(shape);
    Native n = Native.get();
    return Tensor.wrap(n, dd_full(n.ctx, n.longs(0, shape), shape.length, value, dtype.code(), device.type().code(), device.index()));
  }

  /** @param shape sizes @param value fill value @return a float32 CPU tensor of {@code value} */
  public static Tensor full(long[] shape, double value) {
    return full(shape, value, DType.FLOAT32, Device.CPU);
  }

  /** @param shape sizes @return a float32 CPU tensor of zeros ({@code torch.zeros}) */
  public static Tensor zeros(long... shape) {
    return full(shape, 0.0, DType.FLOAT32, Device.CPU);
  }

  /** @param shape sizes @param dtype element type @param device device @return zeros ({@code torch.zeros}) */
  public static Tensor zeros(long[] shape, DType dtype, Device device) {
    return full(shape, 0.0, dtype, device);
  }

  /** @param shape sizes @return a float32 CPU tensor of ones ({@code torch.ones}) */
  public static Tensor ones(long... shape) {
    return full(shape, 1.0, DType.FLOAT32, Device.CPU);
  }

  /** @param shape sizes @param dtype element type @param device device @return ones ({@code torch.ones}) */
  public static Tensor ones(long[] shape, DType dtype, Device device) {
    return full(shape, 1.0, dtype, device);
  }

  /** @param like a tensor @return zeros of its shape, dtype and device ({@code torch.zeros_like}) */
  public static Tensor zerosLike(Tensor like) {
    return full(like.shape(), 0.0, like.dtype(), like.device());
  }

  /** @param like a tensor @return ones of its shape, dtype and device ({@code torch.ones_like}) */
  public static Tensor onesLike(Tensor like) {
    return full(like.shape(), 1.0, like.dtype(), like.device());
  }

  /** @param shape sizes @return standard normal float32 CPU samples ({@code torch.randn}) */
  public static Tensor randn(long... shape) {
    return randn(shape, DType.FLOAT32, Device.CPU, null);
  }

  /**
   * @param shape sizes
   * @param dtype a floating-point type
   * @param device device
   * @param generator the generator, or {@code null} for the default one
   * @return samples of N(0, 1) ({@code torch.randn})
   * @throws TorchException if the dtype is not floating point or the generator is for another device
   */
  public static Tensor randn(long[] shape, DType dtype, Device device, Generator generator) {
    checkShape(shape);
    Native n = Native.get();
    return Tensor.wrap(n, dd_randn(n.ctx, n.longs(0, shape), shape.length, dtype.code(), device.type().code(), device.index(),
        Generator.handleOrNull(generator)), generator);
  }

  /**
   * @param like a tensor
   * @param generator the generator, or {@code null}
   * @return N(0, 1) samples of its shape, dtype and device ({@code torch.randn_like})
   */
  public static Tensor randnLike(Tensor like, Generator generator) {
    return randn(like.shape(), like.dtype(), like.device(), generator);
  }

  /** @param shape sizes @return uniform [0, 1) float32 CPU samples ({@code torch.rand}) */
  public static Tensor rand(long... shape) {
    return rand(shape, DType.FLOAT32, Device.CPU, null);
  }

  /**
   * @param shape sizes
   * @param dtype a floating-point type
   * @param device device
   * @param generator the generator, or {@code null}
   * @return samples of U[0, 1) ({@code torch.rand})
   */
  public static Tensor rand(long[] shape, DType dtype, Device device, Generator generator) {
    checkShape(shape);
    Native n = Native.get();
    return Tensor.wrap(n, dd_rand(n.ctx, n.longs(0, shape), shape.length, dtype.code(), device.type().code(), device.index(),
        Generator.handleOrNull(generator)), generator);
  }

  /**
   * @param low smallest value (inclusive)
   * @param high bound (exclusive), &gt; low
   * @param shape sizes
   * @param device device
   * @param generator the generator, or {@code null}
   * @return uniform int64 integers in {@code [low, high)} ({@code torch.randint})
   * @throws IllegalArgumentException if {@code low >= high}
   */
  public static Tensor randint(long low, long high, long[] shape, Device device, Generator generator) {
    if (low >= high) throw new IllegalArgumentException("randint needs low < high, got low=" + low + " high=" + high);
    checkShape(shape);
    Native n = Native.get();
    return Tensor.wrap(n, dd_randint(n.ctx, low, high, n.longs(0, shape), shape.length, DType.INT64.code(), device.type().code(),
        device.index(), Generator.handleOrNull(generator)), generator);
  }

  /**
   * @param count how many integers
   * @param device device
   * @param generator the generator, or {@code null}
   * @return a random permutation of {@code 0..count-1}, int64 ({@code torch.randperm})
   * @throws IllegalArgumentException if {@code count < 0}
   */
  public static Tensor randperm(long count, Device device, Generator generator) {
    if (count < 0) throw new IllegalArgumentException("randperm needs count >= 0, got " + count);
    Native n = Native.get();
    return Tensor.wrap(n, dd_randperm(n.ctx, count, DType.INT64.code(), device.type().code(), device.index(),
        Generator.handleOrNull(generator)), generator);
  }

  /**
   * @param start first value
   * @param end bound (exclusive)
   * @param step spacing, non-zero
   * @param dtype element type
   * @param device device
   * @return {@code start, start+step, ...} below {@code end} ({@code torch.arange})
   * @throws IllegalArgumentException if {@code step} is zero
   */
  public static Tensor arange(double start, double end, double step, DType dtype, Device device) {
    if (step == 0) throw new IllegalArgumentException("arange step must be non-zero");
    Native n = Native.get();
    return Tensor.wrap(n, dd_arange(n.ctx, start, end, step, dtype.code(), device.type().code(), device.index()));
  }

  /** @param end bound (exclusive) @return int64 {@code 0..end-1} on the CPU ({@code torch.arange(end)}) */
  public static Tensor arange(long end) {
    return arange(0, end, 1, DType.INT64, Device.CPU);
  }

  /**
   * @param start first value
   * @param end last value (inclusive)
   * @param steps number of values, &gt;= 0
   * @param dtype element type
   * @param device device
   * @return evenly spaced values ({@code torch.linspace})
   * @throws IllegalArgumentException if {@code steps < 0}
   */
  public static Tensor linspace(double start, double end, long steps, DType dtype, Device device) {
    if (steps < 0) throw new IllegalArgumentException("linspace needs steps >= 0, got " + steps);
    Native n = Native.get();
    return Tensor.wrap(n, dd_linspace(n.ctx, start, end, steps, dtype.code(), device.type().code(), device.index()));
  }

  /** @param start first value @param end last value @param steps count @return float32 CPU values ({@code torch.linspace}) */
  public static Tensor linspace(double start, double end, long steps) {
    return linspace(start, end, steps, DType.FLOAT32, Device.CPU);
  }

  // ------------------------------------------------------ from Java memory

  private static long checkedCount(long[] shape, long available, String what) {
    checkShape(shape);
    long count = 1;
    for (long s : shape) count = Math.multiplyExact(count, s);
    if (count != available) {
      throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " holds " + count + " elements but "
          + what + " has " + available);
    }
    return count;
  }

  /** A CPU tensor of {@code dtype} holding a copy of {@code count} elements of heap memory, checked against {@code shape}. */
  private static Tensor copyOf(MemorySegment src, long count, DType dtype, long[] shape) {
    checkedCount(shape, count, "the array");
    Tensor t = empty(shape, dtype, Device.CPU);
    t.fill(src);
    return t;
  }

  /**
   * A CPU tensor holding a copy of a Java array ({@code torch.tensor}); the overloads for
   * other arrays differ only in the element type they give.
   *
   * @param data values, row-major
   * @param shape sizes whose product is {@code data.length}
   * @return a float32 CPU tensor of that shape
   * @throws IllegalArgumentException if the counts differ or a size is negative
   */
  public static Tensor tensor(float[] data, long... shape) {
    return copyOf(MemorySegment.ofArray(data), data.length, DType.FLOAT32, shape);
  }

  /** As {@link #tensor(float[], long...)}. @param data values, row-major @param shape sizes @return a float64 CPU tensor @throws IllegalArgumentException if the counts differ */
  public static Tensor tensor(double[] data, long... shape) {
    return copyOf(MemorySegment.ofArray(data), data.length, DType.FLOAT64, shape);
  }

  /** As {@link #tensor(float[], long...)}. @param data values, row-major @param shape sizes @return an int64 CPU tensor @throws IllegalArgumentException if the counts differ */
  public static Tensor tensor(long[] data, long... shape) {
    return copyOf(MemorySegment.ofArray(data), data.length, DType.INT64, shape);
  }

  /** As {@link #tensor(float[], long...)}. @param data values, row-major @param shape sizes @return an int32 CPU tensor @throws IllegalArgumentException if the counts differ */
  public static Tensor tensor(int[] data, long... shape) {
    return copyOf(MemorySegment.ofArray(data), data.length, DType.INT32, shape);
  }

  /** As {@link #tensor(float[], long...)}. @param data values, row-major @param shape sizes @return a uint8 CPU tensor @throws IllegalArgumentException if the counts differ */
  public static Tensor tensor(byte[] data, long... shape) {
    return copyOf(MemorySegment.ofArray(data), data.length, DType.UINT8, shape);
  }

  /** As {@link #tensor(float[], long...)}. @param data values, row-major @param shape sizes @return a bool CPU tensor @throws IllegalArgumentException if the counts differ */
  public static Tensor tensor(boolean[] data, long... shape) {
    byte[] bytes = new byte[data.length];
    for (int i = 0; i < data.length; i++) bytes[i] = (byte) (data[i] ? 1 : 0);
    return copyOf(MemorySegment.ofArray(bytes), data.length, DType.BOOL, shape);
  }

  /**
   * @param value the value
   * @return a 0-d float32 CPU tensor ({@code torch.tensor(value)})
   */
  public static Tensor scalarTensor(double value) {
    return full(new long[0], value, DType.FLOAT32, Device.CPU);
  }

  /**
   * A CPU tensor over Java-owned off-heap memory, without copying
   * ({@code torch.from_blob}). Later writes to the segment show in the tensor
   * and the reverse. The tensor, and every view of it, keeps the segment
   * reachable; once the segment's arena is closed, any use of them throws
   * {@link IllegalStateException} instead of reading freed memory.
   *
   * @param segment native memory, row-major, native byte order, aligned to the element size
   * @param dtype element type
   * @param shape sizes; their product times the element size must equal the segment's size
   * @return the tensor
   * @throws IllegalArgumentException if the segment is on the heap, misaligned, or of the wrong size
   * @throws IllegalStateException if the segment's arena is closed
   */
  public static Tensor fromSegment(MemorySegment segment, DType dtype, long... shape) {
    checkSegment(segment, dtype);
    if (segment.byteSize() % dtype.elementSize() != 0) {
      throw new IllegalArgumentException("segment size " + segment.byteSize() + " is not a multiple of the " + dtype + " element size");
    }
    checkedCount(shape, segment.byteSize() / dtype.elementSize(), "the segment");
    return overSegment(segment, dtype, shape, null);
  }

  /** The checks every tensor over a segment needs: off-heap, alive, aligned to the element size. */
  private static void checkSegment(MemorySegment segment, DType dtype) {
    if (!segment.isNative()) throw new IllegalArgumentException("fromSegment needs a native (off-heap) segment");
    if (!segment.scope().isAlive()) throw new IllegalStateException("the segment's arena is already closed");
    if (segment.address() % dtype.elementSize() != 0) {
      throw new IllegalArgumentException("segment address is not aligned to " + dtype.elementSize() + " bytes");
    }
  }

  /** {@code dd_from_blob} over a checked segment; {@code strides} null for the contiguous layout. The tensor keeps the segment alive. */
  private static Tensor overSegment(MemorySegment segment, DType dtype, long[] shape, long[] strides) {
    Native n = Native.get();
    MemorySegment h = dd_from_blob(n.ctx, segment, n.longs(0, shape), shape.length,
        strides == null ? MemorySegment.NULL : n.longs(1, strides), dtype.code());
    n.check();
    return new Tensor(n, h, new MemorySegment[] {segment});
  }

  /**
   * A strided CPU tensor over Java-owned off-heap memory, without copying
   * ({@code torch.from_blob} with strides, i.e. {@code as_strided} over the
   * segment). Element {@code (i0, i1, ...)} is read at element offset
   * {@code sum(ik * strides[k])} from the segment's start. Lifetime rules are
   * those of {@link #fromSegment(MemorySegment, DType, long...)}.
   *
   * @param segment native memory, native byte order, aligned to the element size
   * @param dtype element type
   * @param shape sizes, each &gt;= 0
   * @param strides element strides, one per dimension, each &gt;= 0; every
   *     addressed element must lie inside the segment
   * @return the tensor
   * @throws IllegalArgumentException if the segment is on the heap or misaligned, the
   *     shape has a negative size, the strides are negative or of the wrong count, or an
   *     addressed element lies outside the segment (or its offset overflows)
   * @throws IllegalStateException if the segment's arena is closed
   */
  public static Tensor fromSegment(MemorySegment segment, DType dtype, long[] shape, long[] strides) {
    checkSegment(segment, dtype);
    checkShape(shape);
    if (strides.length != shape.length) {
      throw new IllegalArgumentException(strides.length + " strides for " + shape.length + " dimensions");
    }
    long last = 0;
    boolean empty = false;
    try {
      for (int i = 0; i < shape.length; i++) {
        if (strides[i] < 0) throw new IllegalArgumentException("negative stride " + strides[i] + " in dimension " + i);
        if (shape[i] == 0) empty = true;
        else last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, strides[i]));
      }
      if (!empty && Math.multiplyExact(Math.addExact(last, 1), (long) dtype.elementSize()) > segment.byteSize()) {
        throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " with strides "
            + java.util.Arrays.toString(strides) + " reaches element " + last + ", beyond the segment's "
            + segment.byteSize() / dtype.elementSize() + " elements");
      }
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("element offsets of shape " + java.util.Arrays.toString(shape) + " with strides "
          + java.util.Arrays.toString(strides) + " overflow");
    }
    return overSegment(segment, dtype, shape, strides);
  }

  // ------------------------------------------------------- several tensors


  /**
   * @param tensors tensors with equal sizes except in {@code dim}
   * @param dim the dimension to join along
   * @return the concatenation ({@code torch.cat})
   * @throws TorchException if the shapes do not fit
   * @throws IllegalArgumentException if the list is empty
   */
  public static Tensor cat(List<Tensor> tensors, long dim) {
    if (tensors.isEmpty()) throw new IllegalArgumentException("cat needs at least one tensor");
    Native n = Native.get();
    return Tensor.result(n, dd_cat(n.ctx, n.handles(tensors), tensors.size(), dim), tensors);
  }

  /**
   * @param tensors tensors of equal shape
   * @param dim where the new dimension goes
   * @return the tensors stacked along a new dimension ({@code torch.stack})
   * @throws TorchException if the shapes differ
   * @throws IllegalArgumentException if the list is empty
   */
  public static Tensor stack(List<Tensor> tensors, long dim) {
    if (tensors.isEmpty()) throw new IllegalArgumentException("stack needs at least one tensor");
    Native n = Native.get();
    return Tensor.result(n, dd_stack(n.ctx, n.handles(tensors), tensors.size(), dim), tensors);
  }

  /**
   * @param equation Einstein summation, e.g. {@code "bij,bjk->bik"}
   * @param operands the operands
   * @return the contraction ({@code torch.einsum})
   * @throws TorchException if the equation does not fit the operands
   */
  public static Tensor einsum(String equation, Tensor... operands) {
    Native n = Native.get();
    try (Arena a = Arena.ofConfined()) {
      // A one-operand equation such as "ij->ji" returns a view of its operand.
      List<Tensor> inputs = List.of(operands);
      return Tensor.result(n, dd_einsum(n.ctx, a.allocateFrom(equation), n.handles(inputs), operands.length), inputs);
    }
  }

  /**
   * @param condition a bool tensor
   * @param a values where true
   * @param b values where false
   * @return elementwise choice, broadcast ({@code torch.where})
   */
  public static Tensor where(Tensor condition, Tensor a, Tensor b) {
    Native n = Native.get();
    return Tensor.result(n, dd_where(n.ctx, condition.handle(), a.handle(), b.handle()), condition, a, b);
  }
}
