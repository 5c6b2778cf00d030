package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.torch.Torch;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import picocli.CommandLine;

/** Runs the {@code ddpm4j} command line in-process and captures what it prints. */
final class CliRunner {
  /**
   * Threads that the commands get: one. The test models are too small to gain from more, and on a
   * loaded machine a second LibTorch thread that waits for a core at every operator makes
   * sampling an order of magnitude slower.
   */
  static final String THREADS = "1";

  private CliRunner() {}

  /**
   * For a test class that runs commands, as {@code @ExtendWith(CliRunner.Threads.class)}: before its
   * tests, headless AWT and LibTorch at the commands' thread count; after them, LibTorch back at the
   * thread count the other tests use.
   */
  static final class Threads implements BeforeAllCallback, AfterAllCallback {
    @Override
    public void beforeAll(ExtensionContext context) {
      System.setProperty("java.awt.headless", "true");
      Torch.setNumThreads(Integer.parseInt(THREADS));
    }

    @Override
    public void afterAll(ExtensionContext context) {
      Torch.setNumThreads(TorchTestBase.TEST_THREADS);
    }
  }

  /**
   * @param code the exit code
   * @param out what was printed to standard output
   * @param err what was printed to standard error
   */
  record Result(int code, String out, String err) {
    @Override
    public String toString() {
      return "exit " + code + "\n--- out:\n" + out + "\n--- err:\n" + err;
    }
  }

  static Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cmd = Main.commandLine();
    cmd.setOut(new PrintWriter(out, true));
    cmd.setErr(new PrintWriter(err, true));
    int code = cmd.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  /** Runs a command line that must succeed: fails the test, showing what it printed, unless it exits 0. */
  static Result ok(String... args) {
    Result r = run(args);
    assertEquals(0, r.code(), r::toString);
    return r;
  }
}
