package io.github.ddpm4j.train;

import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.List;

/**
 * A new run was asked for in a folder that already holds one (its {@code checkpoint.pt} or
 * {@code loss.csv}): {@link Trainer#run(Trainer.Mode)} with {@link Trainer.Mode#NEW} refuses to
 * overwrite it and changes nothing in the folder. Resume it ({@link Trainer.Mode#RESUME}), start over
 * ({@link Trainer.Mode#OVERWRITE}), or write elsewhere.
 */
public final class ExistingRunException extends FileAlreadyExistsException {
  private static final long serialVersionUID = 1L;

  /** The run's files found, as names within the folder. */
  private final List<String> found;

  /**
   * @param dir the output folder
   * @param found the names of the run's files found in it
   */
  public ExistingRunException(Path dir, List<String> found) {
    super(dir.toString(), null, "holds a run (" + String.join(", ", found) + ")");
    this.found = List.copyOf(found);
  }

  /** @return the names of the run's files found in the folder, such as {@code checkpoint.pt} */
  public List<String> found() {
    return found;
  }
}
