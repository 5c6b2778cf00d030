package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.torch.ChildJvm;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.File;
import java.io.IOException;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ddpm4j is a named module ({@code io.github.ddpm4j}): it exports every package but the
 * generated bindings, and runs on the module path with native access granted to it alone:
 * {@code train} (picocli, Gson, JFreeChart, image output) and {@code info --checkpoint}
 * (Pyrolite, Gson) in a JVM that has the library and its dependencies on the module path, the
 * command line's optional ones resolved with {@code --add-modules}.
 * The other tests run on the class path.
 */
class ModulePathTest {
  private static final String MODULE = "io.github.ddpm4j";
  /** The command line's dependencies, which the module requires statically (optional for the library). */
  static final String CLI_MODULES = "info.picocli,me.tongfei.progressbar,org.jfree.jfreechart,io.netty.codec.http,io.netty.handler,"
      + "io.netty.transport,io.netty.buffer,io.netty.codec,io.netty.common,io.prometheus.metrics.core,io.prometheus.metrics.model,"
      + "io.prometheus.writer.text";

  @TempDir Path dir;

  /** @return the folder or jar that holds the library's classes */
  private static Path library() throws URISyntaxException {
    return Path.of(Tensor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
  }

  @Test
  void everyPackageButTheBindingsIsExported() throws URISyntaxException {
    ModuleDescriptor d = ModuleFinder.of(library()).find(MODULE).orElseThrow(() -> new AssertionError("no module " + MODULE)).descriptor();
    assertFalse(d.isAutomatic(), "module-info.class is missing");
    Set<String> expected = new TreeSet<>(d.packages());
    expected.removeIf(p -> !p.startsWith(MODULE + ".") || p.equals(MODULE + ".ffi"));
    Set<String> exported = d.exports().stream().filter(e -> !e.isQualified()).map(ModuleDescriptor.Exports::source)
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(expected, exported);
  }

  @Test
  void theCommandLineRunsOnTheModulePath() throws Exception {
    String runtime = System.getProperty("ddpm4j.test.runtimeClasspath", "");
    assumeTrue(!runtime.isBlank() && !runtime.startsWith("${"), "the build passes no runtime class path (ddpm4j.test.runtimeClasspath)");
    String modulePath = library() + File.pathSeparator + runtime;
    Path data = TrainFixtures.data(dir.resolve("data"));
    Path out = dir.resolve("run");

    String train = run(modulePath, TrainOutputFolderTest.train(data, out, 2));
    assertTrue(Files.isRegularFile(out.resolve("checkpoint.pt")), train);
    assertTrue(Files.isRegularFile(out.resolve("loss.png")), train);
    String info = run(modulePath, "info", "--checkpoint", out.resolve("checkpoint.pt").toString(), "--threads", "1");
    assertTrue(info.contains("LibTorch"), info);
  }

  /** Runs the command line as the module's main class and returns its output, checking that it succeeded without warnings. */
  private String run(String modulePath, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(ChildJvm.java(), "--enable-native-access=" + MODULE, "-Djava.awt.headless=true",
        "--module-path", modulePath, "--add-modules", CLI_MODULES, "--module", MODULE + "/" + Main.class.getName()));
    cmd.addAll(List.of(args));
    Path log = dir.resolve("child.log");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      fail("did not finish: " + cmd);
    }
    String output = Files.readString(log, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), () -> cmd + "\n" + output);
    assertFalse(output.contains("WARNING"), () -> "warnings (native access not granted to the module?):\n" + output);
    return output;
  }
}
