package io.github.ddpm4j.distributed;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Java rank and a Python {@code torch.distributed} rank in one Gloo group: the same all_reduce,
 * broadcast (from either side), all_gather and barrier give both the same, hand-derived results,
 * with Java hosting the store and with Python hosting it. The Python is the one on the LibTorch in
 * use ({@code ddpm4j.test.libtorch}): Debian's python3-torch for {@code debian}, the venv of
 * {@code bench/python-venv 2.13.0} for {@code 2.13.0}; without it the test is skipped.
 */
class PythonInteropTest {
  private static final Duration DEADLINE = Duration.ofSeconds(150);
  private static Path python;

  @TempDir static Path dir;

  @BeforeAll
  static void findPython() throws Exception {
    String libtorch = System.getProperty("ddpm4j.test.libtorch", "any");
    Path candidate = switch (libtorch) {
      case "debian" -> Path.of("/usr/bin/python3");
      case "2.13.0" -> Path.of(System.getProperty("user.home"), ".cache", "ddpm4j", "venv", "torch-2.13.0", "bin", "python");
      default -> null;
    };
    assumeTrue(candidate != null, "no Python known for LibTorch '" + libtorch + "' (ddpm4j.test.libtorch is debian or 2.13.0 under bin/test)");
    assumeTrue(Files.isExecutable(candidate), candidate + " is missing (for 2.13.0: bench/python-venv 2.13.0 makes it)");
    String version = run(candidate, "import torch, torch.distributed as d; print(torch.__version__, d.is_gloo_available())");
    assumeTrue(version != null, candidate + " cannot import torch");
    String torchVersion = Torch.version();
    assumeTrue(version.startsWith(torchVersion) && version.strip().endsWith("True"),
        candidate + " has torch " + version.strip() + ", not LibTorch " + torchVersion + " with Gloo");
    python = candidate;
  }

  /** @return what the script printed, or null when it failed or ran past two minutes (it is killed then) */
  private static String run(Path python, String script) throws IOException, InterruptedException {
    Path out = Files.createTempFile(dir, "probe", ".txt");
    Process p = new ProcessBuilder(python.toString(), "-c", script).redirectOutput(out.toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return null;
    }
    return p.exitValue() == 0 ? Files.readString(out, StandardCharsets.UTF_8) : null;
  }

  private static List<String> pythonRank(int rank, int port) throws IOException {
    Path script = dir.resolve("rank.py");
    if (!Files.exists(script)) {
      try (InputStream in = PythonInteropTest.class.getResourceAsStream("rank.py")) {
        Files.write(script, in.readAllBytes());
      }
    }
    return new ArrayList<>(List.of(python.toString(), script.toString(), Integer.toString(rank), "2", Integer.toString(port), "60"));
  }

  @Test
  void javaHostsTheStore() throws Exception {
    int port = Ranks.freePort();
    check(Ranks.run(DEADLINE, Map.of(), List.of(Ranks.java("python", 0, "2", "tcp:" + port, "60000"), pythonRank(1, port))));
  }

  @Test
  void pythonHostsTheStore() throws Exception {
    int port = Ranks.freePort();
    check(Ranks.run(DEADLINE, Map.of(), List.of(pythonRank(0, port), Ranks.java("python", 1, "2", "tcp:" + port, "60000"))));
  }

  private static void check(List<Ranks.Outcome> ranks) {
    for (Ranks.Outcome r : ranks) {
      assertEquals(0, r.code(), r::describe);
      assertEquals("11.0,22.0,33.0,44.0", r.value("sum"), r::describe);          // [1,2,3,4] + [10,20,30,40]
      assertEquals("1.0,5.0", r.value("max"), r::describe);                       // max([1,-5], [-1,5])
      assertEquals("5.0,6.0,7.0", r.value("broadcast0"), r::describe);            // rank 0's
      assertEquals("-1.5,2.5", r.value("broadcast1"), r::describe);               // rank 1's
      assertEquals("[0.5, 10.5]", r.value("gather"), r::describe);
      assertEquals("1", r.value("done"), r::describe);
    }
  }
}
