package io.github.ddpm4j.serialize;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs Python scripts under Debian's python3 with torch, the PyTorch that the tests compare against. */
final class PythonTorch {
  private PythonTorch() {}

  static final Path PYTHON = Path.of("/usr/bin/python3");
  private static Boolean available;

  /** Skips the calling test unless {@code /usr/bin/python3} can import torch. */
  static synchronized void assumeAvailable() {
    if (available == null) {
      boolean ok = false;
      if (Files.isExecutable(PYTHON)) {
        try {
          // Finds torch without importing it (an import takes seconds).
          ok = run("import importlib.util, sys\nsys.exit(importlib.util.find_spec('torch') is None)").exitCode == 0;
        } catch (IOException e) {
          ok = false;
        }
      }
      available = ok;
    }
    assumeTrue(available, "/usr/bin/python3 with torch is not available");
  }

  record Result(int exitCode, String output) {}

  /**
   * @param script Python source
   * @param args arguments, as {@code sys.argv[1:]}
   * @return the exit code and the combined output
   * @throws IOException if the process cannot run or takes more than two minutes
   */
  static Result run(String script, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), "-c", script));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    try {
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("python did not finish in time");
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
