package io.github.ddpm4j.torch;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Runs every test inside a {@link Scope} of its own, so that tests leave no
 * native handles behind, and gives LibTorch the thread count the build asks for.
 */
abstract class TorchTestBase {
  /** Threads the build gives LibTorch (system property {@code ddpm4j.test.threads}). */
  static final int TEST_THREADS = Integer.getInteger("ddpm4j.test.threads", 2);

  private Scope scope;

  @BeforeAll
  static void useTestThreads() {
    if (Torch.getNumThreads() != TEST_THREADS) Torch.setNumThreads(TEST_THREADS);
  }

  @BeforeEach
  void openScope() {
    scope = Scope.open();
  }

  @AfterEach
  void closeScope() {
    scope.close();
  }

  static float[] floats(double... values) {
    float[] f = new float[values.length];
    for (int i = 0; i < values.length; i++) f[i] = (float) values[i];
    return f;
  }
}
