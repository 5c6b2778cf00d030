package io.github.ddpm4j.distributed;

import static org.junit.jupiter.api.Assertions.*;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Faults never hang a rank: a peer that dies in the middle of a collective, a peer that stays alive
 * but never takes part, a group that never assembles, a wrong port. The ranks that wait fail with
 * {@link DistributedException} within the timeout (naming the lost rank where Gloo's message allows),
 * refuse further collectives, and close promptly; every child JVM has a hard deadline.
 */
class DistributedFaultTest {
  private static final Duration DEADLINE = Duration.ofSeconds(120);

  @Test
  void aPeerThatDiesMidCollectiveFailsTheOthersNamingIt() throws Exception {
    long timeout = 20_000;
    List<Ranks.Outcome> ranks = Ranks.group(DEADLINE, "die", 3, "tcp:" + Ranks.freePort(), timeout, "2");
    assertEquals(7, ranks.get(2).code(), ranks.get(2)::describe); // Runtime.halt(7) in the middle
    for (Ranks.Outcome r : ranks.subList(0, 2)) {
      assertSurvivorFailed(r, DistributedException.Reason.PEER_LOST, timeout);
      assertEquals("allReduce", r.value("error.operation"), r::describe);
      assertEquals("2", r.value("error.lost"), r::describe);
      assertTrue(r.value("error.message").contains("lost rank 2"), r::describe);
    }
  }

  @Test
  void losingRankZeroWhichHostsTheStoreIsNamedToo() throws Exception {
    long timeout = 20_000;
    List<Ranks.Outcome> ranks = Ranks.group(DEADLINE, "die", 2, "tcp:" + Ranks.freePort(), timeout, "0");
    assertEquals(7, ranks.get(0).code(), ranks.get(0)::describe);
    Ranks.Outcome r = ranks.get(1);
    assertSurvivorFailed(r, DistributedException.Reason.PEER_LOST, timeout);
    assertEquals("0", r.value("error.lost"), r::describe);
  }

  @Test
  void aPeerThatNeverTakesPartTimesOut() throws Exception {
    long timeout = 5_000;
    List<Ranks.Outcome> ranks = Ranks.group(DEADLINE, "hang", 2, "tcp:" + Ranks.freePort(), timeout, "1");
    Ranks.Outcome r = ranks.get(0);
    assertSurvivorFailed(r, DistributedException.Reason.TIMEOUT, timeout + 1_500);
    long failed = Long.parseLong(r.value("failed.millis"));
    assertTrue(failed >= timeout - 100, "failed after " + failed + " ms, before the " + timeout + " ms timeout");
    assertEquals("barrier", r.value("error.operation"), r::describe);
    assertTrue(r.value("error.message").contains("timed out after 5 s"), r::describe);
    assertEquals("-1", r.value("error.lost"), r::describe);
  }

  /** The survivor's failure: the reason, within {@code limitMillis}, then a refused collective and a prompt close. */
  private static void assertSurvivorFailed(Ranks.Outcome r, DistributedException.Reason reason, long limitMillis) {
    assertEquals(0, r.code(), r::describe);
    assertEquals(reason.name(), r.value("error.reason"), r::describe);
    long failed = Long.parseLong(r.value("failed.millis"));
    assertTrue(failed < limitMillis, "failed after " + failed + " ms:\n" + r.describe());
    assertEquals("refused", r.value("after"), r::describe);
    assertTrue(Long.parseLong(r.value("after.millis")) < 1_000, r::describe);
    assertTrue(Long.parseLong(r.value("close.millis")) < 5_000, r::describe);
  }

  @Test
  void aGroupThatNeverAssemblesOrAWrongPortFailsWithinTheTimeout() throws Exception {
    long timeout = 3_000;
    Ranks.Outcome r = Ranks.group(DEADLINE, "rendezvous-faults", 1, "none", timeout, Integer.toString(Ranks.freePort())).get(0);
    assertEquals(0, r.code(), r::describe);
    for (String c : List.of("alone", "wrongport", "file")) {
      assertEquals("TIMEOUT", r.value(c + ".reason"), r::describe);
      assertTrue(r.value(c + ".message").contains("timed out after 3 s"), r::describe);
    }
    // rank 0 waits for the others in c10d's whole seconds, giving up by the deadline (LibTorch 2.x), or
    // in the Gloo rendezvous after it (1.x, whose wait gives up silently)
    long alone = Long.parseLong(r.value("alone.millis"));
    assertTrue(alone >= timeout - 1_100 && alone <= timeout + 500, "rank 0 alone failed after " + alone + " ms");
    assertTrue(r.value("alone.message").contains("not all 2 ranks joined"), r::describe);
    long wrongPort = Long.parseLong(r.value("wrongport.millis"));
    assertTrue(wrongPort >= timeout - 100 && wrongPort <= timeout + 300, "a wrong port failed after " + wrongPort + " ms");
    assertTrue(r.value("wrongport.message").contains("could not reach the store at 127.0.0.1:"), r::describe);
    assertTrue(r.value("wrongport.message").contains("Connection refused"), r::describe);
    // c10d's file store counts its wait in whole seconds: up to one more
    long file = Long.parseLong(r.value("file.millis"));
    assertTrue(file >= timeout - 100 && file <= timeout + 1_300, "a file store alone failed after " + file + " ms");
    assertEquals("0", r.value("live.groups"), r::describe);
  }
}
