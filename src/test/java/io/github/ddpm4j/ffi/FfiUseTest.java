package io.github.ddpm4j.ffi;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Only {@code io.github.ddpm4j.torch} uses the bindings: no main source of another package
 * names {@code io.github.ddpm4j.ffi}. The module does not export the package, which keeps
 * other modules out; this keeps the packages of this module above torch out too.
 */
class FfiUseTest {
  private static final Path MAIN = Path.of(System.getProperty("user.dir"), "src", "main", "java", "io", "github", "ddpm4j");

  @Test
  void onlyTheTorchPackageNamesTheBindings() throws IOException {
    List<Path> users;
    try (Stream<Path> files = Files.walk(MAIN)) {
      users = files.filter(p -> p.toString().endsWith(".java"))
          .filter(p -> !p.startsWith(MAIN.resolve("torch")) && !p.startsWith(MAIN.resolve("ffi")))
          .filter(p -> read(p).contains("io.github.ddpm4j.ffi"))
          .toList();
    }
    assertTrue(Files.isDirectory(MAIN.resolve("torch")), "no sources at " + MAIN);
    assertEquals(List.of(), users, "only io.github.ddpm4j.torch may use io.github.ddpm4j.ffi");
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + p, e);
    }
  }
}
