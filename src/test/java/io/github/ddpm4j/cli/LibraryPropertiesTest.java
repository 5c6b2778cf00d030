package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A malformed {@code -Dddpm4j.*} property is a one-line usage error of the command line, not an
 * {@code ExceptionInInitializerError} with a stack trace from the first class that loads LibTorch.
 */
class LibraryPropertiesTest {
  @Test
  void malformedPropertiesAreOneLineUsageErrors() throws Exception {
    Path file = Files.createTempFile("ddpm4j", ".txt");
    for (String[] bad : new String[][] {{"ddpm4j.unscopedLimit", "lots"}, {"ddpm4j.cpuCacheLimit", "lots"},
        {"ddpm4j.cpuCacheMaxIdle", "-5s"}, {"ddpm4j.nativeDir", file.toString()}}) {
      ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-D" + bad[0] + "=" + bad[1]), Main.class, "info");
      assertEquals(2, r.code(), r.output());
      String out = r.output().strip();
      assertTrue(out.startsWith("ddpm4j: system property " + bad[0] + ": ") && out.contains(bad[1]), out);
      assertFalse(out.contains("Exception") || out.contains("\tat "), "no stack trace: " + out);
    }
    ChildJvm.Result ok = ChildJvm.run(List.of(), List.of("-Dddpm4j.cpuCacheMaxIdle=250ms"), Main.class, "info", "--threads", "1");
    assertEquals(0, ok.code(), ok.output());
    Files.delete(file);
  }

  /** A shim that cannot be loaded is a one-line failure (exit code 1) that says why, not a stack trace. */
  @Test
  void aLibraryThatCannotLoadIsAOneLineFailure() throws Exception {
    ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-Dddpm4j.library=/nonexistent/libddpm4j.so"), Main.class, "info");
    assertEquals(1, r.code(), r.output());
    String out = r.output().strip();
    assertEquals("ddpm4j: system property ddpm4j.library names /nonexistent/libddpm4j.so, which is not a file", out);
  }
}
