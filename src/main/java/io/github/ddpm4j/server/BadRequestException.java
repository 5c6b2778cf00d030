package io.github.ddpm4j.server;

/**
 * A request the server refuses with 400 Bad Request: its JSON answer names the field at fault, where there is
 * one ({@code {"error": "steps must be an integer in 1..50, got 0", "field": "steps"}}).
 */
final class BadRequestException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final String field;

  /**
   * @param field the request's field at fault, or null when the request as a whole is (malformed JSON)
   * @param message what is wrong, naming the field and the value
   */
  BadRequestException(String field, String message) {
    super(message);
    this.field = field;
  }

  /** @return the request's field at fault, or null when the request as a whole is */
  String field() {
    return field;
  }
}
