package io.github.ddpm4j;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * What a project that depends on ddpm4j gets: the POM's dependencies (the command line's are
 * optional; {@code WithoutCliDependenciesTest} runs the library without them), and the example of
 * such a project, {@code examples/embedded-service}, which depends on this build's version.
 */
class ArtifactTest {
  @Test
  void aConsumerInheritsGsonPyroliteAndCommonsMathAlone() throws Exception {
    Element project = pom(Path.of("pom.xml"));
    Set<String> optional = new TreeSet<>();
    Set<String> inherited = new TreeSet<>();
    for (Element d : children(child(project, "dependencies"), "dependency")) {
      String scope = text(d, "scope");
      if (scope.equals("test") || scope.equals("provided")) continue;
      (text(d, "optional").equals("true") ? optional : inherited).add(text(d, "artifactId"));
    }
    assertEquals(Set.of("jfreechart", "picocli", "progressbar", "netty-codec-http", "prometheus-metrics-core",
        "prometheus-metrics-exposition-textformats"), optional, "the command line's dependencies, the sampling server's included");
    assertEquals(Set.of("gson", "pickle", "commons-math3"), inherited, "the library's own dependencies");
  }

  @Test
  void theExampleDependsOnThisVersion() throws Exception {
    Element root = pom(Path.of("pom.xml"));
    Element example = pom(Path.of("examples", "embedded-service", "pom.xml"));
    assertEquals(text(root, "version"), text(child(example, "properties"), "ddpm4j.version"));
    Element dependency = children(child(example, "dependencies"), "dependency").getFirst();
    assertEquals(text(root, "groupId") + ":" + text(root, "artifactId") + ":${ddpm4j.version}",
        text(dependency, "groupId") + ":" + text(dependency, "artifactId") + ":" + text(dependency, "version"));
  }

  private static Element pom(Path file) throws Exception {
    Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
    return d.getDocumentElement();
  }

  private static java.util.List<Element> children(Element parent, String tag) {
    java.util.List<Element> out = new java.util.ArrayList<>();
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(tag)) out.add(e);
    }
    return out;
  }

  private static Element child(Element parent, String tag) {
    return children(parent, tag).getFirst();
  }

  /** @return the text of the direct child {@code tag}, or "" when there is none */
  private static String text(Element parent, String tag) {
    java.util.List<Element> c = children(parent, tag);
    return c.isEmpty() ? "" : c.getFirst().getTextContent().strip();
  }
}
