package io.github.ddpm4j.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A data file or folder that cannot be used: missing, truncated, corrupt, of
 * the wrong format, or empty. The message names the offending file.
 */
public final class DatasetException extends IOException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  /**
   * @param file the file or folder at fault
   * @param reason what is wrong with it
   */
  public DatasetException(Path file, String reason) {
    super(file + ": " + reason);
    this.file = file;
  }

  /**
   * @param file the file or folder at fault
   * @param reason what is wrong with it
   * @param cause the underlying failure
   */
  public DatasetException(Path file, String reason, Throwable cause) {
    super(file + ": " + reason, cause);
    this.file = file;
  }

  /** @return the file or folder at fault */
  public Path file() {
    return file;
  }
}
