package io.github.ddpm4j.nn;

import java.util.List;

/**
 * A state dict that does not fit a module, with the same three lists that
 * PyTorch's {@code load_state_dict} error reports.
 */
public final class StateDictMismatchException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final List<String> missingKeys;
  private final List<String> unexpectedKeys;
  private final List<String> shapeMismatches;

  /**
   * @param missingKeys module keys absent from the dict
   * @param unexpectedKeys dict keys the module lacks
   * @param shapeMismatches {@code "key: checkpoint [..], model [..]"} entries
   */
  public StateDictMismatchException(List<String> missingKeys, List<String> unexpectedKeys, List<String> shapeMismatches) {
    super(describe(missingKeys, unexpectedKeys, shapeMismatches));
    this.missingKeys = List.copyOf(missingKeys);
    this.unexpectedKeys = List.copyOf(unexpectedKeys);
    this.shapeMismatches = List.copyOf(shapeMismatches);
  }

  private static String describe(List<String> missing, List<String> unexpected, List<String> shapes) {
    StringBuilder sb = new StringBuilder("Error(s) in loading state_dict:");
    if (!missing.isEmpty()) sb.append(" Missing key(s): ").append(String.join(", ", missing)).append('.');
    if (!unexpected.isEmpty()) sb.append(" Unexpected key(s): ").append(String.join(", ", unexpected)).append('.');
    if (!shapes.isEmpty()) sb.append(" Size mismatch for: ").append(String.join("; ", shapes)).append('.');
    return sb.toString();
  }

  /** @return module keys absent from the loaded dict */
  public List<String> missingKeys() {
    return missingKeys;
  }

  /** @return loaded keys that the module lacks */
  public List<String> unexpectedKeys() {
    return unexpectedKeys;
  }

  /** @return keys whose shapes differ, with both shapes */
  public List<String> shapeMismatches() {
    return shapeMismatches;
  }
}
