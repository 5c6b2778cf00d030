package io.github.ddpm4j.serialize;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/** Runs each test in a scope of its own, with the build's LibTorch thread count and a temporary folder. */
abstract class SerializeTestBase {
  static final int TEST_THREADS = Integer.getInteger("ddpm4j.test.threads", 2);

  @TempDir Path dir;
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

  /** @return the bytes of a test resource */
  static byte[] resource(String name) {
    try (InputStream in = SerializeTestBase.class.getResourceAsStream("/fixtures/serialize/" + name)) {
      if (in == null) throw new IllegalStateException("missing test resource " + name);
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** @return the elements of any tensor as doubles, row-major (exact for every dtype but large int64) */
  static double[] doubles(Tensor t) {
    return t.to(DType.FLOAT64).contiguous().toDoubleArray();
  }
}
