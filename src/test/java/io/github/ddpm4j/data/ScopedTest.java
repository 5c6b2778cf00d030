package io.github.ddpm4j.data;

import io.github.ddpm4j.torch.TorchTestBase;

/**
 * Another name for {@link TorchTestBase}, which adds nothing to it: it stays while tests in other
 * packages call {@code ScopedTest.useTestThreads()} and read {@code ScopedTest.TEST_THREADS}. Tests
 * extend {@link TorchTestBase}.
 */
public abstract class ScopedTest extends TorchTestBase {
  protected ScopedTest() {}
}
