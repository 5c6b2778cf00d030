package io.github.ddpm4j.torch;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.function.Executable;

/**
 * The base of the tests that use LibTorch. Every test runs inside a {@link Scope} of its own, so
 * that tests leave no native handles behind; LibTorch gets the thread count that the build asks
 * for (the fixtures were computed with the same count); AWT runs headless, for the tests that
 * write images. The fixtures that {@code src/test/python} computes with PyTorch are read here too.
 */
public abstract class TorchTestBase {
  /** Threads the build gives LibTorch (system property {@code ddpm4j.test.threads}). */
  public static final int TEST_THREADS = Integer.getInteger("ddpm4j.test.threads", 2);

  private Scope scope;

  protected TorchTestBase() {}

  /**
   * Gives LibTorch the build's thread count and makes AWT headless. Runs before the tests of every
   * subclass; tests and helpers that do not extend this class call it themselves.
   */
  @BeforeAll
  public static void useTestThreads() {
    System.setProperty("java.awt.headless", "true");
    if (Torch.getNumThreads() != TEST_THREADS) Torch.setNumThreads(TEST_THREADS);
  }

  /**
   * Opens the test's scope. JUnit calls it before each test; a subclass must not call it again, since a second
   * scope would leave the first open on the test thread, where later test classes' tensors would join it and
   * never be freed (a double call throws).
   */
  @BeforeEach
  protected final void openScope() {
    if (scope != null) throw new IllegalStateException("the test's scope is open already: TorchTestBase opens and closes it");
    scope = Scope.open();
  }

  /** Closes the test's scope; JUnit calls it after each test. */
  @AfterEach
  protected final void closeScope() {
    if (scope != null) scope.close();
    scope = null;
  }

  /**
   * @param path a path below {@code src/test/resources/fixtures}, e.g. {@code serialize/model.pt}
   * @return the bytes of that fixture
   */
  public static byte[] fixtureBytes(String path) {
    String resource = "/fixtures/" + path;
    try (InputStream in = TorchTestBase.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + resource + " (the scripts in src/test/python write the fixtures)");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** @return the JSON fixture at {@code path} below {@code src/test/resources/fixtures}, parsed */
  public static JsonElement fixtureJson(String path) {
    return JsonParser.parseString(new String(fixtureBytes(path), StandardCharsets.UTF_8));
  }

  /** @return the elements of any tensor as doubles, row-major (a bool as 0 and 1; exact for every dtype but large int64) */
  public static double[] doubles(Tensor t) {
    return t.to(DType.FLOAT64).contiguous().toDoubleArray();
  }

  /**
   * Runs {@code work} on a new virtual thread and waits for it to end.
   *
   * @return what {@code work} threw, or null
   */
  static Throwable thrownOnAnotherThread(Executable work) throws InterruptedException {
    AtomicReference<Throwable> thrown = new AtomicReference<>();
    Thread.ofVirtual().start(() -> {
      try {
        work.execute();
      } catch (Throwable t) {
        thrown.set(t);
      }
    }).join();
    return thrown.get();
  }

  static float[] floats(double... values) {
    float[] f = new float[values.length];
    for (int i = 0; i < values.length; i++) f[i] = (float) values[i];
    return f;
  }
}
