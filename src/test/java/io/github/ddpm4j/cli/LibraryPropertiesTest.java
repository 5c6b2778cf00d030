package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.ChildJvm;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A malformed {@code -Dddpm4j.*} property is a one-line usage error of the command line, not an
 * {@code ExceptionInInitializerError} with a stack trace from the first class that loads LibTorch.
 */
class LibraryPropertiesTest {
  @Test
  void malformedPropertiesAreOneLineUsageErrors() throws Exception {
    for (String[] bad : new String[][] {{"ddpm4j.unscopedLimit", "lots"}, {"ddpm4j.cpuCacheLimit", "lots"},
        {"ddpm4j.cpuCacheMaxIdle", "-5s"}}) {
      ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-D" + bad[0] + "=" + bad[1]), Main.class, "info");
      assertEquals(2, r.code(), r.output());
      String out = r.output().strip();
      assertTrue(out.startsWith("ddpm4j: system property " + bad[0] + ": ") && out.contains(bad[1]), out);
      assertFalse(out.contains("Exception") || out.contains("\tat "), "no stack trace: " + out);
    }
    ChildJvm.Result ok = ChildJvm.run(List.of(), List.of("-Dddpm4j.cpuCacheMaxIdle=250ms"), Main.class, "info", "--threads", "1");
    assertEquals(0, ok.code(), ok.output());
  }
}
