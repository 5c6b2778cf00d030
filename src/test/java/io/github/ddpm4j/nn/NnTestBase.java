package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Torch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Runs every test inside a {@link Scope} of its own, so that the tests leave
 * no tensors behind, and gives LibTorch the thread count the build asks for
 * (the fixtures were computed with the same count).
 */
public abstract class NnTestBase {
  public static final int TEST_THREADS = Integer.getInteger("ddpm4j.test.threads", 2);

  private Scope scope;

  @BeforeAll
  public static void useTestThreads() {
    if (Torch.getNumThreads() != TEST_THREADS) Torch.setNumThreads(TEST_THREADS);
  }

  @BeforeEach
  public void openScope() {
    scope = Scope.open();
  }

  @AfterEach
  public void closeScope() {
    scope.close();
  }
}
