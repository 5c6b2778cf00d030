package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.torch.ChildJvm;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * The command line's dependencies (picocli, progressbar with jline, JFreeChart) are optional in the
 * library's POM, so a project that depends on ddpm4j does not get them. The library classes such a
 * project uses work without them: training through {@link Trainer} (whose progress bar then shows
 * nothing, and whose loss plot is skipped with one line in the log), loading the checkpoint, sampling.
 */
class WithoutCliDependenciesTest {
  /** Class-path entries of the command line's dependencies. */
  private static final Pattern CLI_ONLY = Pattern.compile(".*/(picocli|progressbar|jline[^/]*|jfreechart)/.*");

  @TempDir Path dir;

  /** The library's POM: the command line's dependencies are optional, and a consumer gets Gson and Pyrolite alone. */
  @Test
  void thePomMarksThemOptional() throws Exception {
    Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(Path.of("pom.xml").toFile());
    NodeList dependencies = pom.getElementsByTagName("dependency");
    Set<String> optional = new TreeSet<>();
    Set<String> inherited = new TreeSet<>();
    for (int i = 0; i < dependencies.getLength(); i++) {
      Element d = (Element) dependencies.item(i);
      if (!(d.getParentNode().getParentNode() instanceof Element p) || !p.getTagName().equals("project")) continue;
      String scope = child(d, "scope");
      if (scope.equals("test") || scope.equals("provided")) continue;
      (child(d, "optional").equals("true") ? optional : inherited).add(child(d, "artifactId"));
    }
    assertEquals(Set.of("jfreechart", "picocli", "progressbar"), optional);
    assertEquals(Set.of("gson", "pickle"), inherited);
  }

  private static String child(Element e, String tag) {
    NodeList n = e.getElementsByTagName(tag);
    return n.getLength() == 0 ? "" : n.item(0).getTextContent().strip();
  }

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
    assertTrue(out.contains("sampled=[2, 1, 8, 8] finite=1"), out);
    for (String run : List.of("without-bar", "with-bar")) {
      Path folder = dir.resolve("runs").resolve(run);
      assertTrue(Files.isRegularFile(folder.resolve("checkpoint.pt")), run);
      assertEquals(3, Files.readAllLines(folder.resolve("loss.csv")).size(), "header and two steps");
      assertFalse(Files.exists(folder.resolve("loss.png")), run);
    }
  }
}
