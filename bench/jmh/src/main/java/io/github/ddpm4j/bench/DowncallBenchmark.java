package io.github.ddpm4j.bench;

import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Workloads (a) and (b): the cost of one trivial downcall, and of adding two
 * 16-element float32 tensors including creating and freeing the result handle.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class DowncallBenchmark {
  /** LibTorch intra-op threads, the same for every contender. */
  @Param("2")
  public int threads;

  private Tensor a;
  private Tensor b;

  /** Creates the operands. */
  @Setup
  public void setup() {
    Torch.setNumThreads(threads);
    Torch.manualSeed(0);
    a = Torch.randn(16);
    b = Torch.randn(16);
  }

  /** A scope open on the benchmark thread for a whole run. */
  @State(Scope.Thread)
  public static class OpenScope {
    private io.github.ddpm4j.torch.Scope scope;

    /** Opens the scope. */
    @Setup
    public void open() {
      scope = io.github.ddpm4j.torch.Scope.open();
    }

    /** Closes the scope. */
    @TearDown
    public void close() {
      scope.close();
    }
  }

  /** Frees the operands. */
  @TearDown
  public void tearDown() {
    a.close();
    b.close();
  }

  /**
   * (a) A downcall that does no work: reads the live-handle counter, through
   * {@link Torch#liveHandles}, a critical downcall.
   *
   * @return the count, so the call is not eliminated
   */
  @Benchmark
  public long trivialDowncall() {
    return Torch.liveHandles(Torch.HandleKind.TENSOR);
  }

  /**
   * (a') The same function through jextract's ordinary downcall handle, which makes the
   * JVM's transition to native code and back: the cost every op's downcall pays.
   * {@link #trivialDowncall()} goes through ddpm4j's critical handle (no transition), as
   * its metadata queries do.
   *
   * @return the count, so the call is not eliminated
   */
  @Benchmark
  public long ordinaryDowncall() {
    return io.github.ddpm4j.ffi.DdpmNative.dd_live_handles(io.github.ddpm4j.ffi.DdpmNative.DD_KIND_TENSOR());
  }

  /**
   * (b) as {@link #add16()}, with the result owned by an open {@code Scope}, the
   * way step-local temporaries are meant to be held (no GC backstop to register).
   *
   * @return whether the result was closed, so the work is not eliminated
   */
  @Benchmark
  public boolean add16Scoped(OpenScope open) {
    Tensor c = a.add(b);
    c.close();
    return c.isClosed();
  }

  /**
   * (b) {@code c = a + b} on 16 elements, then frees {@code c}.
   *
   * @return whether the result was closed, so the work is not eliminated
   */
  @Benchmark
  public boolean add16() {
    Tensor c = a.add(b);
    c.close();
    return c.isClosed();
  }
}
