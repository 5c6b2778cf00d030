package io.github.ddpm4j.ffi;

import static org.junit.jupiter.api.Assertions.*;

import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The shim's call counter ({@code dd_call_count}, {@link Torch#nativeCallCount()}) stays
 * complete: every exported {@code dd_*} function in {@code native/src/*.cpp} starts with
 * {@code DD_TRY(...)} or {@code DD_TRY_QUERY(...)}, which count the call, or with
 * {@code DD_COUNT_CALL();}. The counter's reader alone does not count itself.
 */
class NativeCallCountTest {
  private static final Path SOURCES = Path.of(System.getProperty("user.dir"), "native", "src");
  /** Exported functions that do not count their calls. */
  private static final Set<String> UNCOUNTED = Set.of("dd_call_count");
  /**
   * The head of a function definition at the start of a line, up to its opening brace, also when it is
   * declared {@code extern "C"} on its own line rather than inside an {@code extern "C"} block; group 1 the name.
   */
  private static final Pattern DEFINITION =
      Pattern.compile("(?m)^(?:extern\\s+\"C\"\\s+)?[A-Za-z_][\\w\\s*]*?\\b(dd_\\w+)\\s*\\([^;{]*?\\)\\s*\\{");

  /**
   * @param source C++ text
   * @return each {@code dd_*} function defined in it, by name, with its body's text after the opening brace
   */
  static List<Map.Entry<String, String>> definitions(String source) {
    String text = source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
    List<Map.Entry<String, String>> out = new ArrayList<>();
    Matcher m = DEFINITION.matcher(text);
    while (m.find()) out.add(Map.entry(m.group(1), body(text, m.end())));
    return out;
  }

  /** @return the text from {@code start} (just after an opening brace) to its closing brace, string and character literals skipped */
  private static String body(String text, int start) {
    int depth = 1;
    for (int i = start; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\'') {
        for (i++; i < text.length() && text.charAt(i) != c; i++) {
          if (text.charAt(i) == '\\') i++;
        }
      } else if (c == '{') {
        depth++;
      } else if (c == '}' && --depth == 0) {
        return text.substring(start, i);
      }
    }
    throw new IllegalArgumentException("unbalanced braces after offset " + start);
  }

  /** What a function body that counts its call starts with (native/src/common.h). */
  private static final List<String> COUNTING = List.of("DD_TRY(", "DD_TRY_QUERY(", "DD_COUNT_CALL();");

  /** @return whether a function body counts its call on entry */
  static boolean counts(String body) {
    String b = body.strip();
    return COUNTING.stream().anyMatch(b::startsWith);
  }

  @Test
  void theParserFindsDefinitionsAndTellsCountingFromNot() {
    var defs = definitions("""
        // int dd_commented(void) {}
        static int helper(int x) { return x; }
        extern "C" {
        void dd_counted(dd_ctx* ctx) {
          DD_TRY(ctx, )
          if (x) { throw std::runtime_error("}"); }
          DD_CATCH(ctx, )
        }
        int64_t dd_free_like(const dd_tensor* t,
                             int64_t n) {
          DD_COUNT_CALL();
          return '}';
        }
        int32_t dd_uncounted(void) { return helper(1); }
        void dd_query(dd_ctx* ctx) {
          DD_TRY_QUERY(ctx, )
          DD_CATCH(ctx, )
        }
        DD_API int64_t dd_declared_only(void);
        }
        extern "C" int32_t dd_linked_alone(int32_t b) {
          DD_COUNT_CALL();
          return b;
        }
        """);
    assertEquals(List.of("dd_counted", "dd_free_like", "dd_uncounted", "dd_query", "dd_linked_alone"),
        defs.stream().map(Map.Entry::getKey).toList());
    assertEquals(List.of(true, true, false, true, true), defs.stream().map(e -> counts(e.getValue())).toList());
  }

  @Test
  void everyExportedFunctionCountsItsCalls() throws IOException {
    Set<String> declared = Header.read().functions().keySet();
    Map<String, Integer> defined = new TreeMap<>();
    List<String> uncounted = new ArrayList<>();
    List<Path> files;
    try (Stream<Path> list = Files.list(SOURCES)) {
      files = list.filter(p -> p.toString().endsWith(".cpp")).sorted().toList();
    }
    assertFalse(files.isEmpty(), "no sources in " + SOURCES);
    for (Path f : files) {
      for (var d : definitions(Files.readString(f))) {
        defined.merge(d.getKey(), 1, Integer::sum);
        if (!UNCOUNTED.contains(d.getKey()) && !counts(d.getValue())) uncounted.add(f.getFileName() + ": " + d.getKey());
      }
    }
    var undefined = new TreeSet<>(declared);
    undefined.removeAll(defined.keySet());
    assertEquals(Set.of(), undefined, "declared in ddpm4j.h but no definition found in " + SOURCES + " (the parser missed it)");
    var undeclared = new TreeSet<>(defined.keySet());
    undeclared.removeAll(declared);
    assertEquals(Set.of(), undeclared, "dd_* functions defined but not declared in ddpm4j.h");
    assertEquals(List.of(), uncounted,
        "exported functions that start with none of " + COUNTING + ", so dd_call_count misses their calls");
  }

  @Test
  void theCountIsMinusOneOrExact() {
    long before = Torch.nativeCallCount();
    if (before == -1) {
      assertEquals(-1, Torch.nativeCallCount(), "a library built without DDPM4J_COUNT_CALLS");
      return;
    }
    Torch.liveHandles();
    Torch.liveHandles();
    assertEquals(before + 2, Torch.nativeCallCount(), "two calls between two readings (this test's thread only)");
  }
}
