package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The smoke test of the CUDA build: the shim that {@code scripts/build-cuda} builds against a
 * CUDA LibTorch loads in a JVM, also on a machine without a GPU, and says what it is. Skipped
 * unless that script runs it: it names its library in the system property
 * {@value #PROPERTY}, and loads that library through {@code ddpm4j.library}.
 */
class CudaBuildTest extends TorchTestBase {
  static final String PROPERTY = "ddpm4j.test.cudaLibrary";
  private static final String LIBRARY = System.getProperty(PROPERTY, "");

  @Test
  void theCudaBuildLoadsAndSaysWhatItIs() {
    assumeTrue(!LIBRARY.isBlank(), "no CUDA build to test: scripts/build-cuda runs this test and names its library in -D" + PROPERTY);
    assertEquals(Path.of(LIBRARY), Path.of(System.getProperty("ddpm4j.library", "")), "this JVM loaded the CUDA build");
    Torch.Build build = Torch.build();
    boolean driver = Files.exists(Path.of("/proc/driver/nvidia/version"));
    System.out.println("cuda-build: Torch.build() = " + build);
    System.out.println("cuda-build: Torch.cudaIsAvailable() = " + Torch.cudaIsAvailable() + ", cudaDeviceCount() = "
        + Torch.cudaDeviceCount() + ", NVIDIA driver " + (driver ? "present" : "absent"));
    assertTrue(build.cuda(), "a LibTorch built with CUDA: " + build);
    assertTrue(build.toString().contains("CUDA build"), build.toString());
    if (!driver) {
      assertFalse(Torch.cudaIsAvailable(), "no GPU without an NVIDIA driver");
      assertEquals(0, Torch.cudaDeviceCount());
    }
    try (Tensor t = Torch.ones(2, 3); Tensor s = t.sum()) {
      assertEquals(6.0, s.item(), "CPU ops run on the CUDA build");
    }
  }
}
