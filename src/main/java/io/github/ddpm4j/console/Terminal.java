package io.github.ddpm4j.console;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Whether the process's standard streams are terminals, as the C library's {@code isatty(3)} tells,
 * called through the Foreign Function and Memory API. {@link java.io.Console#isTerminal()} answers for
 * standard input and output together and says nothing of standard error, where progress goes.
 *
 * <p>Thread-safe.
 */
public final class Terminal {
  /** The file descriptor of standard output. */
  public static final int STDOUT = 1;
  /** The file descriptor of standard error. */
  public static final int STDERR = 2;

  private static final MethodHandle ISATTY = isatty();

  private Terminal() {}

  /** @return a downcall handle of {@code int isatty(int)}, or null where it cannot be made */
  private static MethodHandle isatty() {
    try {
      Linker linker = Linker.nativeLinker();
      return linker.defaultLookup().find("isatty")
          .map(address -> linker.downcallHandle(address, FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT)))
          .orElse(null);
    } catch (RuntimeException e) {
      return null; // native access refused (--illegal-native-access=deny without --enable-native-access)
    }
  }

  /**
   * @param fd a file descriptor, e.g. {@link #STDERR}
   * @return whether {@code fd} is open and refers to a terminal; false where the C library has no
   *     {@code isatty} or native access is not enabled
   */
  public static boolean isTerminal(int fd) {
    if (ISATTY == null) return false;
    try {
      return (int) ISATTY.invokeExact(fd) == 1;
    } catch (Throwable e) {
      return false;
    }
  }

  /**
   * @return whether both standard output and standard error are terminals: only then may progress
   *     redraw a line in place with carriage returns
   */
  public static boolean interactive() {
    return isTerminal(STDOUT) && isTerminal(STDERR);
  }
}
