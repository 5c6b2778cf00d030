package io.github.ddpm4j.diffusion;

import java.util.Arrays;
import java.util.stream.Collectors;

/** Reading an enum constant by its lower-case name, where a command line or a configuration names it. */
final class Choices {
  private Choices() {}

  /**
   * @param values the constants, whose {@code toString()} is their name
   * @param text the name to look up
   * @return the constant named {@code text}
   * @throws IllegalArgumentException listing the names when none matches
   */
  static <E extends Enum<E>> E parse(E[] values, String text) {
    for (E e : values) if (e.toString().equals(text)) return e;
    String names = Arrays.stream(values).map(Object::toString).collect(Collectors.joining(", "));
    throw new IllegalArgumentException("expected one of " + names + ", got " + (text == null ? "nothing" : "'" + text + "'"));
  }
}
