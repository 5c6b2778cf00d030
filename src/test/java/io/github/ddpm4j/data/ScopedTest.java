package io.github.ddpm4j.data;

import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Runs each test in a {@link Scope} of its own, headless, with the LibTorch thread count
 * that the build asks for.
 */
public abstract class ScopedTest {
  /** Threads the build gives LibTorch (system property {@code ddpm4j.test.threads}). */
  public static final int TEST_THREADS = Integer.getInteger("ddpm4j.test.threads", 2);

  private Scope scope;

  @BeforeAll
  public static void useTestThreads() {
    System.setProperty("java.awt.headless", "true");
    if (Torch.getNumThreads() != TEST_THREADS) Torch.setNumThreads(TEST_THREADS);
  }

  @BeforeEach
  protected void openScope() {
    scope = Scope.open();
  }

  @AfterEach
  protected void closeScope() {
    scope.close();
  }
}
