package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code --threads} is bounded by the machine: {@code --threads 100000} used to start
 * 100,000 OpenMP threads, one every 0.07 s, and ignore SIGTERM meanwhile.
 */
@ExtendWith(CliRunner.Threads.class)
class ThreadsOptionTest {
  @Test
  void absurdThreadCountsAreUsageErrorsNamingTheOption() {
    int max = 4 * Runtime.getRuntime().availableProcessors();
    for (String bad : new String[] {"100000", Integer.toString(max + 1), "-1"}) {
      long start = System.nanoTime();
      CliRunner.Result r = CliRunner.run("info", "--threads", bad);
      assertEquals(2, r.code(), r::toString);
      assertTrue(r.err().contains("--threads must be in 0.." + max) && r.err().contains("got " + bad), r.err());
      assertTrue(System.nanoTime() - start < 5_000_000_000L, "rejected at once");
    }
    CliRunner.Result ok = CliRunner.run("info", "--threads", Integer.toString(max));
    assertEquals(0, ok.code(), ok::toString);
    assertTrue(ok.out().contains("threads:     " + max), ok.out());
  }
}
