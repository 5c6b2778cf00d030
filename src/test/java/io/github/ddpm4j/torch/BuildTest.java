package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The LibTorch the shim runs on is the one the build was asked for (system property
 * {@code ddpm4j.test.libtorch}, set by {@code bin/test}): a wheel's LibTorch and Debian's can
 * sit side by side, and a build that silently linked the other one would test the wrong thing.
 */
class BuildTest extends TorchTestBase {
  private static final String EXPECTED = System.getProperty("ddpm4j.test.libtorch", "any");

  @Test
  void theLibTorchInUseIsTheOneAskedFor() {
    Torch.Build b = Torch.build();
    assertEquals(Torch.version(), b.version());
    assertTrue(Files.isRegularFile(Path.of(b.library())), "LibTorch's library is a file: " + b);
    assertTrue(Path.of(b.library()).getFileName().toString().startsWith("libtorch_cpu"), b.toString());
    assertFalse(b.blas().equals("unknown"), b.toString());
    switch (EXPECTED) {
      case "debian" -> {
        assertTrue(b.library().startsWith("/usr/lib/"), "Debian's libtorch-dev: " + b);
        assertTrue(b.version().startsWith("1.13."), b.toString());
        // Debian builds against the BLAS alternative, which bin/common.sh makes OpenBLAS.
        assertEquals("generic", b.blas());
        assertTrue(b.blasLibrary().contains("openblas"), "OpenBLAS is the BLAS in use: " + b);
      }
      case "any" -> { }
      default -> {
        if (EXPECTED.matches("[0-9.]+")) {
          assertTrue(b.version().equals(EXPECTED) || b.version().startsWith(EXPECTED + "+"), "asked for " + EXPECTED + ": " + b);
          assertFalse(b.library().startsWith("/usr/lib/"), "not Debian's LibTorch: " + b);
        }
      }
    }
    assertFalse(b.cuda() && !b.toString().contains("CUDA"), b.toString());
  }
}
