package io.github.ddpm4j.torch;

/**
 * A failure inside LibTorch or the native shim, carried across the C boundary
 * as an error record and rethrown in Java.
 *
 * <p>The JVM and the library stay usable after this exception: the failing
 * call released everything it had allocated.
 *
 * <p>Example: multiplying a {@code [2, 3]} by a {@code [4, 5]} matrix throws a
 * {@code TorchException} whose {@link #function()} is {@code "dd_matmul"} and
 * whose {@link #torchMessage()} is LibTorch's own text.
 */
public final class TorchException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What kind of C++ exception the shim caught. */
  public enum Kind {
    /** A {@code c10::Error} raised by LibTorch (shape, dtype, device checks). */
    TORCH,
    /** Another {@code std::exception}. */
    STD,
    /** A C++ exception of unknown type. */
    UNKNOWN,
    /** An argument the shim itself rejected before calling LibTorch. */
    ARGUMENT,
    /** Host or device memory ran out. */
    OUT_OF_MEMORY
  }

  private final Kind kind;
  private final String function;
  private final String torchMessage;

  /**
   * Creates the exception.
   *
   * @param kind what the shim caught
   * @param function the shim function that failed, e.g. {@code dd_matmul}
   * @param torchMessage LibTorch's message, without its C++ backtrace
   */
  public TorchException(Kind kind, String function, String torchMessage) {
    super(function + ": " + torchMessage);
    this.kind = kind;
    this.function = function;
    this.torchMessage = torchMessage;
  }

  /** @return what kind of C++ exception was caught */
  public Kind kind() {
    return kind;
  }

  /** @return the name of the shim function that failed, e.g. {@code dd_conv2d} */
  public String function() {
    return function;
  }

  /** @return LibTorch's (or the shim's) message */
  public String torchMessage() {
    return torchMessage;
  }
}
