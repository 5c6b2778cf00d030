package io.github.ddpm4j.ffi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SequencedMap;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@code native/include/ddpm4j.h} declares, read from its text: the functions, the
 * enums with their enumerators' values, the numeric macros and the structs with their
 * fields. Tests compare it with the generated bindings and with what the Java API covers.
 *
 * @param functions every {@code DD_API} function, by name
 * @param enums every {@code DD_ENUM(name) {...}}, by name, each its enumerators in order with their values
 * @param macros every {@code #define DD_NAME number}
 * @param structs every {@code typedef struct name {...} name;}, by name, each its field names in order
 */
public record Header(Map<String, Function> functions, Map<String, SequencedMap<String, Long>> enums, Map<String, Long> macros,
    Map<String, List<String>> structs) {

  /**
   * One function declaration.
   *
   * @param name its name
   * @param returnsValue whether it returns anything but {@code void}
   * @param parameters how many parameters it takes
   */
  public record Function(String name, boolean returnsValue, int parameters) {}

  private static final Pattern DECLARATION = Pattern.compile("(?m)^DD_API\\b([^;]*);");
  private static final Pattern NAME = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)\\s*\\(");
  private static final Pattern ENUM = Pattern.compile("DD_ENUM\\((\\w+)\\)\\s*\\{([^}]*)}");
  private static final Pattern ENUMERATOR = Pattern.compile("(\\w+)(?:\\s*=\\s*(-?\\d+))?");
  private static final Pattern MACRO = Pattern.compile("(?m)^#define\\s+(DD_\\w+)\\s+(-?\\d+)\\s*$");
  private static final Pattern STRUCT = Pattern.compile("typedef\\s+struct\\s+(\\w+)\\s*\\{([^}]*)}\\s*(\\w+)\\s*;");
  private static final Pattern FIELD = Pattern.compile("(\\w+)\\s*(?:\\[[^\\]]*\\])?\\s*$");

  /** @return the project's header, found from the working directory (the repository root under Maven) */
  public static Header read() {
    return parse(Path.of(System.getProperty("user.dir"), "native", "include", "ddpm4j.h"));
  }

  /**
   * @param file a header in ddpm4j.h's style
   * @return its declarations
   * @throws IllegalArgumentException if a declaration does not parse, or a name is declared twice
   */
  public static Header parse(Path file) {
    String text;
    try {
      text = Files.readString(file).replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the header " + file.toAbsolutePath(), e);
    }
    return new Header(functions(text), enums(text), macros(text), structs(text));
  }

  private static Map<String, Function> functions(String text) {
    Map<String, Function> out = new TreeMap<>();
    Matcher m = DECLARATION.matcher(text);
    while (m.find()) {
      String decl = m.group(1).replaceAll("\\s+", " ").trim();
      Matcher n = NAME.matcher(decl);
      if (!n.find()) throw new IllegalArgumentException("no function name in: " + decl);
      String name = n.group(1);
      String returnType = decl.substring(0, n.start()).trim();
      String params = decl.substring(decl.indexOf('(') + 1, decl.lastIndexOf(')')).trim();
      int count = params.isEmpty() || params.equals("void") ? 0 : params.split(",").length;
      unique(out.put(name, new Function(name, !returnType.equals("void"), count)), name);
    }
    return Collections.unmodifiableMap(out);
  }

  private static Map<String, SequencedMap<String, Long>> enums(String text) {
    Map<String, SequencedMap<String, Long>> out = new TreeMap<>();
    Matcher m = ENUM.matcher(text);
    while (m.find()) {
      SequencedMap<String, Long> values = new LinkedHashMap<>();
      long next = 0;
      for (String item : m.group(2).split(",")) {
        if (item.isBlank()) continue;
        Matcher e = ENUMERATOR.matcher(item.trim());
        if (!e.matches()) throw new IllegalArgumentException("enum " + m.group(1) + ": cannot read the enumerator '" + item.trim() + "'");
        long value = e.group(2) != null ? Long.parseLong(e.group(2)) : next;
        unique(values.put(e.group(1), value), e.group(1));
        next = value + 1;
      }
      unique(out.put(m.group(1), Collections.unmodifiableSequencedMap(values)), m.group(1));
    }
    return Collections.unmodifiableMap(out);
  }

  private static Map<String, Long> macros(String text) {
    Map<String, Long> out = new TreeMap<>();
    Matcher m = MACRO.matcher(text);
    while (m.find()) unique(out.put(m.group(1), Long.parseLong(m.group(2))), m.group(1));
    return Collections.unmodifiableMap(out);
  }

  private static Map<String, List<String>> structs(String text) {
    Map<String, List<String>> out = new TreeMap<>();
    Matcher m = STRUCT.matcher(text);
    while (m.find()) {
      if (!m.group(1).equals(m.group(3))) {
        throw new IllegalArgumentException("struct " + m.group(1) + " is typedef'd as " + m.group(3) + ", not by its own name");
      }
      List<String> fields = new ArrayList<>();
      for (String decl : m.group(2).split(";")) {
        if (decl.isBlank()) continue;
        Matcher f = FIELD.matcher(decl.trim());
        if (!f.find()) throw new IllegalArgumentException("struct " + m.group(1) + ": cannot read the field '" + decl.trim() + "'");
        fields.add(f.group(1));
      }
      unique(out.put(m.group(1), List.copyOf(fields)), m.group(1));
    }
    return Collections.unmodifiableMap(out);
  }

  private static void unique(Object previous, String name) {
    if (previous != null) throw new IllegalArgumentException("declared twice in the header: " + name);
  }

  /** @return every enumerator of every enum and every numeric macro, with its value */
  public Map<String, Long> constants() {
    Map<String, Long> out = new TreeMap<>(macros);
    for (var e : enums.values()) {
      for (var c : e.entrySet()) unique(out.put(c.getKey(), c.getValue()), c.getKey());
    }
    return out;
  }
}
