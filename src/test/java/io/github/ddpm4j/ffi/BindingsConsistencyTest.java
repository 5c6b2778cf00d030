package io.github.ddpm4j.ffi;

import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.torch.NativeLibrary;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.PaddingLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The generated bindings, the header they come from, and the built library agree: every
 * function the header declares has a downcall in {@link DdpmNative} with the same arity,
 * every enumerator and numeric macro a constant with the same value, every struct a class
 * with the same fields, and the other way round (the bindings hold nothing else: no symbol
 * of the C library headers that ddpm4j.h includes); and the library exports each function.
 */
class BindingsConsistencyTest {
  private static final Path FFI = Path.of(System.getProperty("user.dir"), "src", "main", "java", "io", "github", "ddpm4j", "ffi");
  /** Files of the package that are written by hand, not by jextract. */
  private static final Set<String> HAND_WRITTEN = Set.of("package-info.java", "jextract.args", "ShimLookup.java");
  /** The classes jextract writes besides one per struct. */
  private static final Set<String> HEADER_CLASSES = Set.of("DdpmNative.java", "DdpmNative$shared.java");

  private static Header header;
  private static Map<String, FunctionDescriptor> bindings;
  private static Map<String, Long> constants;

  @BeforeAll
  static void read() throws ReflectiveOperationException {
    NativeLibrary.load();
    header = Header.read();
    bindings = generatedDowncalls();
    constants = generatedConstants();
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

  /**
   * @return every public static no-argument method of {@link DdpmNative} that returns an int or a long and is not a
   *     downcall: the constants
   */
  static Map<String, Long> generatedConstants() throws ReflectiveOperationException {
    Map<String, Long> out = new TreeMap<>();
    for (Method m : DdpmNative.class.getMethods()) {
      if (!Modifier.isStatic(m.getModifiers()) || m.getParameterCount() != 0 || m.getDeclaringClass() != DdpmNative.class
          || bindings.containsKey(m.getName())) {
        continue;
      }
      if (m.getReturnType() == int.class || m.getReturnType() == long.class) {
        out.put(m.getName(), ((Number) m.invoke(null)).longValue());
      }
    }
    return out;
  }

  @Test
  void headerParsesToAPlausibleSet() {
    assertTrue(header.functions().size() > 50, "found only " + header.functions().size() + " declarations");
    assertEquals(new Header.Function("dd_matmul", true, 3), header.functions().get("dd_matmul"));
    assertEquals(new Header.Function("dd_tensor_free", false, 1), header.functions().get("dd_tensor_free"));
    assertEquals(new Header.Function("dd_torch_version", true, 0), header.functions().get("dd_torch_version"));
    assertEquals(13, header.functions().get("dd_conv_transpose2d").parameters(), "a declaration over several lines");
    assertEquals(List.of("DD_OK", "DD_ERR_TORCH", "DD_ERR_STD", "DD_ERR_UNKNOWN", "DD_ERR_ARGUMENT", "DD_ERR_OOM"),
        List.copyOf(header.enums().get("dd_status").keySet()), "enumerators in order, comments skipped");
    assertEquals(1L, header.enums().get("dd_unary_op").get("DD_ABS"), "an implicit value follows the one before");
    assertEquals(-1L, header.enums().get("dd_handle_kind").get("DD_KIND_ALL"), "a negative value");
    assertEquals(64L, header.macros().get("DD_FUNCTION_LEN"));
    assertEquals(List.of("grad_mode", "autocast", "status", "function", "message"), header.structs().get("dd_ctx"),
        "fields, arrays included");
  }

  @Test
  void everyDeclaredFunctionHasADowncallAndViceVersa() {
    var missingInJava = new TreeSet<>(header.functions().keySet());
    missingInJava.removeAll(bindings.keySet());
    var missingInHeader = new TreeSet<>(bindings.keySet());
    missingInHeader.removeAll(header.functions().keySet());
    assertTrue(missingInJava.isEmpty() && missingInHeader.isEmpty(),
        "declared in ddpm4j.h but not generated: " + missingInJava + "; generated but not declared: " + missingInHeader
            + " (run scripts/regenerate-bindings)");
  }

  @Test
  void downcallsHaveTheDeclaredShapes() {
    List<String> wrong = new ArrayList<>();
    for (Header.Function d : header.functions().values()) {
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
  void everyEnumeratorAndMacroHasAConstantWithItsValueAndViceVersa() {
    Map<String, Long> declared = header.constants();
    assertTrue(declared.size() > 90, "found only " + declared.size() + " constants");
    List<String> wrong = new ArrayList<>();
    declared.forEach((name, value) -> {
      Long generated = constants.get(name);
      if (generated == null) wrong.add(name + " is not generated");
      else if (!generated.equals(value)) wrong.add(name + " is " + value + " in the header but " + generated + " in the bindings");
    });
    for (String name : constants.keySet()) {
      if (!declared.containsKey(name)) wrong.add(name + " is generated but not declared in ddpm4j.h");
    }
    assertTrue(wrong.isEmpty(), "constants out of date (run scripts/regenerate-bindings): " + wrong);
  }

  @Test
  void everyStructHasAClassWithItsFieldsAndNothingElseIsGenerated() throws IOException, ReflectiveOperationException {
    Set<String> files;
    try (Stream<Path> list = Files.list(FFI)) {
      files = list.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }
    Set<String> expected = new TreeSet<>(HAND_WRITTEN);
    expected.addAll(HEADER_CLASSES);
    for (String struct : header.structs().keySet()) expected.add(struct + ".java");
    assertEquals(expected, files, "the files of " + FFI + ": the header's structs, " + HEADER_CLASSES + " and " + HAND_WRITTEN
        + " (run scripts/regenerate-bindings)");
    for (var struct : header.structs().entrySet()) {
      Class<?> type = Class.forName(DdpmNative.class.getPackageName() + "." + struct.getKey());
      GroupLayout layout = (GroupLayout) type.getMethod("layout").invoke(null);
      List<String> fields = layout.memberLayouts().stream().filter(l -> !(l instanceof PaddingLayout))
          .map(l -> l.name().orElse("?")).toList();
      assertEquals(struct.getValue(), fields, "fields of " + struct.getKey());
    }
  }

  @Test
  void theLibraryExportsEveryDeclaredFunction() {
    NativeLibrary.load();
    SymbolLookup lookup = ShimLookup.LOOKUP; // the library that NativeLibrary opened, as the bindings see it
    List<String> unexported = new ArrayList<>();
    for (String name : header.functions().keySet()) {
      if (lookup.find(name).isEmpty()) unexported.add(name);
    }
    assertTrue(unexported.isEmpty(), "not exported by libddpm4j.so: " + unexported);
    assertTrue(lookup.find("dd_no_such_function").isEmpty(), "the lookup does not find everything");
  }
}
