package io.github.ddpm4j.serialize;

import java.io.IOException;

/**
 * A file whose contents cannot be read as a state dict of the expected format:
 * it is truncated, its structure or sizes are inconsistent, it names an unknown
 * element type, or it uses a feature that ddpm4j's readers do not support (a
 * compressed storage record, big-endian data). The message names the file and
 * what was wrong with it.
 *
 * <p>Readers throw this instead of crashing, hanging or allocating memory in
 * proportion to a forged size: every length, offset and count in a file is
 * checked against the file's real size before it is used.
 */
public class CorruptFileException extends IOException {
  private static final long serialVersionUID = 1L;

  /** @param message the file and what was wrong with it */
  public CorruptFileException(String message) {
    super(message);
  }

  /**
   * @param message the file and what was wrong with it
   * @param cause the lower-level error that revealed it
   */
  public CorruptFileException(String message, Throwable cause) {
    super(message, cause);
  }
}
