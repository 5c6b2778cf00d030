package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.torch.ChildJvm;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line's dependencies (picocli, progressbar with jline, JFreeChart) are optional in the
 * library's POM, so a project that depends on ddpm4j does not get them. The library classes such a
 * project uses work without them: training through {@link Trainer} (whose progress bar then shows
 * nothing, and whose loss plot is skipped with one line in the log), loading the checkpoint and sampling
 * through {@link io.github.ddpm4j.pipeline.DDPMPipeline}.
 * {@code ArtifactTest} checks the POM itself.
 */
class WithoutCliDependenciesTest {
  /** Class-path entries of the command line's dependencies. */
  private static final Pattern CLI_ONLY = Pattern.compile(".*/(picocli|progressbar|jline[^/]*|jfreechart)/.*");

  @TempDir Path dir;

  @Test
  void trainingLoadingAndSamplingNeedNoneOfThem() throws Exception {
    String full = System.getProperty("java.class.path");
    String classPath = Arrays.stream(full.split(File.pathSeparator)).filter(e -> !CLI_ONLY.matcher(e).matches())
        .collect(Collectors.joining(File.pathSeparator));
    assertNotEquals(full, classPath, "the test class path holds the command line's dependencies");
    Path data = TrainFixtures.data(dir.resolve("data"));
    ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-cp", classPath, "-Djava.awt.headless=true"), WithoutCliDependencies.class,
        data.toString(), dir.resolve("runs").toString());
    String out = r.output();
    assertEquals(0, r.code(), out);
    for (String absent : List.of("picocli.CommandLine", "me.tongfei.progressbar.ProgressBar", "org.jfree.chart.JFreeChart")) {
      assertTrue(out.contains(absent + "=false"), out);
    }
    assertEquals(2, out.lines().filter(l -> l.equals("steps=2")).count(), out);
    String skipped = "ddpm4j: loss.png is not drawn: JFreeChart (org.jfree:jfreechart) is not on the class path";
    assertEquals(2, out.lines().filter(l -> l.startsWith("log=") && l.split(Pattern.quote(skipped), -1).length == 2).count(),
        "each run says once that it skips the plot:\n" + out);
    assertTrue(out.contains("lines=[ddpm4j: no progress bar: progressbar (me.tongfei:progressbar) is not on the class path]"), out);
    assertTrue(out.contains("sampled=[2, 1, 8, 8] pngs=2 grid=true"), out);
    for (String run : List.of("without-bar", "with-bar")) {
      Path folder = dir.resolve("runs").resolve(run);
      assertTrue(Files.isRegularFile(folder.resolve("checkpoint.pt")), run);
      assertEquals(3, Files.readAllLines(folder.resolve("loss.csv")).size(), "header and two steps");
      assertFalse(Files.exists(folder.resolve("loss.png")), run);
    }
  }
}
