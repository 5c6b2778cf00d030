package io.github.ddpm4j.ffi;

import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.torch.NativeLibrary;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.SymbolLookup;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generated bindings, the header they come from, and the built library agree:
 * every function the header declares has a downcall in {@link DdpmNative} with the
 * same arity, and the other way round, and the library exports each of them.
 */
class BindingsConsistencyTest {
  private static final Pattern DECLARATION = Pattern.compile("(?m)^DD_API\\b([^;]*);");
  private static final Pattern NAME = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*\\(");

  /** One declaration of the header. */
  record Declared(String name, boolean returnsValue, int parameters) {}

  private static Map<String, Declared> header;
  private static Map<String, FunctionDescriptor> bindings;

  @BeforeAll
  static void read() throws IOException, ReflectiveOperationException {
    NativeLibrary.load();
    header = parseHeader(Path.of(System.getProperty("user.dir"), "native", "include", "ddpm4j.h"));
    bindings = generatedDowncalls();
  }

  static Map<String, Declared> parseHeader(Path file) throws IOException {
    assertTrue(Files.isRegularFile(file), "header not found at " + file.toAbsolutePath());
    String text = Files.readString(file).replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
    Map<String, Declared> out = new TreeMap<>();
    Matcher m = DECLARATION.matcher(text);
    while (m.find()) {
      String decl = m.group(1).replaceAll("\\s+", " ").trim();
      Matcher n = NAME.matcher(decl);
      assertTrue(n.find(), "no function name in: " + decl);
      String name = n.group(1);
      String returnType = decl.substring(0, n.start()).trim();
      String params = decl.substring(decl.indexOf('(') + 1, decl.lastIndexOf(')')).trim();
      int count = params.isEmpty() || params.equals("void") ? 0 : params.split(",").length;
      assertNull(out.put(name, new Declared(name, !returnType.equals("void"), count)), "declared twice: " + name);
    }
    return out;
  }

  static Map<String, FunctionDescriptor> generatedDowncalls() throws ReflectiveOperationException {
    Map<String, FunctionDescriptor> out = new TreeMap<>();
    for (Method m : DdpmNative.class.getMethods()) {
      String suffix = "$descriptor";
      if (!Modifier.isStatic(m.getModifiers()) || !m.getName().endsWith(suffix) || m.getParameterCount() != 0
          || m.getReturnType() != FunctionDescriptor.class) {
        continue;
      }
      out.put(m.getName().substring(0, m.getName().length() - suffix.length()), (FunctionDescriptor) m.invoke(null));
    }
    return out;
  }

  @Test
  void headerParsesToAPlausibleSet() {
    assertTrue(header.size() > 50, "found only " + header.size() + " declarations");
    assertEquals(new Declared("dd_matmul", true, 3), header.get("dd_matmul"));
    assertEquals(new Declared("dd_tensor_free", false, 1), header.get("dd_tensor_free"));
    assertEquals(new Declared("dd_torch_version", true, 0), header.get("dd_torch_version"));
    assertEquals(13, header.get("dd_conv_transpose2d").parameters(), "a declaration over several lines");
  }

  @Test
  void everyDeclaredFunctionHasADowncallAndViceVersa() {
    var missingInJava = new TreeSet<>(header.keySet());
    missingInJava.removeAll(bindings.keySet());
    var missingInHeader = new TreeSet<>(bindings.keySet());
    missingInHeader.removeAll(header.keySet());
    assertTrue(missingInJava.isEmpty() && missingInHeader.isEmpty(),
        "declared in ddpm4j.h but not generated: " + missingInJava + "; generated but not declared: " + missingInHeader
            + " (run scripts/regenerate-bindings)");
  }

  @Test
  void downcallsHaveTheDeclaredShapes() {
    List<String> wrong = new ArrayList<>();
    for (Declared d : header.values()) {
      FunctionDescriptor fd = bindings.get(d.name());
      if (fd == null) continue;
      if (fd.argumentLayouts().size() != d.parameters() || fd.returnLayout().isPresent() != d.returnsValue()) {
        wrong.add(d.name() + " (header " + d.parameters() + " parameters, binding " + fd + ")");
      }
      boolean callable = false;
      for (Method m : DdpmNative.class.getMethods()) {
        callable |= m.getName().equals(d.name()) && Modifier.isStatic(m.getModifiers()) && m.getParameterCount() == d.parameters();
      }
      if (!callable) wrong.add(d.name() + " (no static downcall method with " + d.parameters() + " parameters)");
    }
    assertTrue(wrong.isEmpty(), "bindings out of date: " + wrong);
  }

  @Test
  void theLibraryExportsEveryDeclaredFunction() {
    NativeLibrary.load();
    SymbolLookup lookup = SymbolLookup.loaderLookup();
    List<String> unexported = new ArrayList<>();
    for (String name : header.keySet()) {
      if (lookup.find(name).isEmpty()) unexported.add(name);
    }
    assertTrue(unexported.isEmpty(), "not exported by libddpm4j.so: " + unexported);
    assertTrue(lookup.find("dd_no_such_function").isEmpty(), "the lookup does not find everything");
  }
}
