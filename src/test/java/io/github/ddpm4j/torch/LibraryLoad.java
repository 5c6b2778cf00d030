package io.github.ddpm4j.torch;

/**
 * A child JVM's main for {@link NativeLibraryTest}: waits until a given time (so that several JVMs
 * load at once), loads the shim, runs one op and prints {@code sum=}, {@code library=} and the
 * milliseconds from JVM start to a loaded shim; or prints {@code error=} and the message, exit code 3.
 *
 * <p>Arguments: the wall-clock time in milliseconds to start loading at (0: at once).
 */
public final class LibraryLoad {
  private LibraryLoad() {}

  /** @param args the time to start loading at, in milliseconds since the epoch; none or 0 for at once */
  public static void main(String[] args) throws InterruptedException {
    long startAt = args.length > 0 ? Long.parseLong(args[0]) : 0;
    long wait = startAt - System.currentTimeMillis();
    if (wait > 0) Thread.sleep(wait);
    try {
      NativeLibrary.load();
    } catch (UnsatisfiedLinkError e) {
      System.out.println("error=" + e.getMessage());
      System.exit(3);
    }
    long loadedMillis = System.currentTimeMillis() - ProcessHandle.current().info().startInstant().orElseThrow().toEpochMilli();
    try (Scope s = Scope.open()) {
      System.out.println("sum=" + (long) Torch.ones(3).sum().item());
    }
    System.out.println("library=" + NativeLibrary.path());
    System.out.println("loadedMillis=" + loadedMillis);
  }
}
