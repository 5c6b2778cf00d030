package io.github.ddpm4j.torch;

/**
 * What {@link NativeLibraryTest} runs inside class loaders of its own: it holds one tensor made by
 * a small op and reads the shim's live-handle count, which the whole process shares. Called by
 * reflection, so it takes and returns only JDK types.
 */
public final class LoaderProbe {
  private static Tensor held;

  private LoaderProbe() {}

  /** @return {the sum of the held tensor, the live handles with it held} */
  public static long[] hold() {
    try (Scope s = Scope.open()) {
      held = Scope.release(Torch.ones(4).add(Torch.ones(4))); // [2, 2, 2, 2]; the operands close with the scope
    }
    long sum;
    try (Scope s = Scope.open()) {
      sum = (long) held.sum().item();
    }
    return new long[] {sum, Torch.liveHandles()};
  }

  /** @return the live handles after the held tensor is freed */
  public static long release() {
    held.close();
    held = null;
    return Torch.liveHandles();
  }

  /** @return the shim's count of live handles */
  public static long liveHandles() {
    return Torch.liveHandles();
  }
}
