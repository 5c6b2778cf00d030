package io.github.ddpm4j.io;

import java.util.function.UnaryOperator;

/**
 * A setting out of range (a configuration field, a size or count argument), whose message
 * names the settings it is about, so that a front end can show them under its own names:
 * the library's message reads {@code batchSize = 0 must be >= 1}, and the command line
 * shows the same error as {@code --batch-size=0 must be >= 1} (see {@link #message}).
 *
 * <p>The message is a template. {@code {name}} stands for a setting's name,
 * {@code {name=}} for its name and value, and {@code {}} for a value on its own; the
 * values fill these in order. Everything that varies (paths, values) goes into the
 * values, never into the template, which holds no other braces.
 * {@snippet :
 * throw new InvalidSettingException("{imageSize=} must be divisible by {}", imageSize, divisor);
 * }
 */
public final class InvalidSettingException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String template;
  private final Object[] values;

  /**
   * @param template the message, with {@code {name}}, {@code {name=}} and {@code {}} placeholders
   * @param values one value per {@code {name=}} and {@code {}}, in order
   * @throws IllegalArgumentException if the placeholders and values do not match
   */
  public InvalidSettingException(String template, Object... values) {
    super(template);
    this.template = template;
    this.values = values.clone();
    getMessage();
  }

  /** @return the message with each setting under its own name: {@code name = value} */
  @Override
  public String getMessage() {
    return message(UnaryOperator.identity(), " = ");
  }

  /**
   * The message with settings renamed.
   *
   * @param names the name to show for each setting's name
   * @param assign what goes between a name and its value ({@code " = "} in the library's messages)
   * @return the message
   */
  public String message(UnaryOperator<String> names, String assign) {
    StringBuilder out = new StringBuilder();
    int next = 0;
    int at = 0;
    while (true) {
      int open = template.indexOf('{', at);
      if (open < 0) break;
      int close = template.indexOf('}', open);
      if (close < 0) throw new IllegalArgumentException("unclosed '{' in \"" + template + "\"");
      out.append(template, at, open);
      String field = template.substring(open + 1, close);
      boolean withValue = field.isEmpty() || field.endsWith("=");
      if (withValue && next >= values.length) throw new IllegalArgumentException("too few values for \"" + template + "\"");
      if (field.isEmpty()) {
        out.append(values[next++]);
      } else if (withValue) {
        out.append(names.apply(field.substring(0, field.length() - 1))).append(assign).append(values[next++]);
      } else {
        out.append(names.apply(field));
      }
      at = close + 1;
    }
    if (next != values.length) throw new IllegalArgumentException("too many values for \"" + template + "\"");
    return out.append(template, at, template.length()).toString();
  }
}
