package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Label dropout in data-parallel training: two processes at a global batch draw the drops of the whole batch and
 * keep their share, so they train the conditional model one process trains at that batch (to float32 rounding, as
 * {@link DistributedTrainingTest} bounds it for the unconditional model).
 */
class ClassConditionalDistributedTest {
  @TempDir Path dir;

  private static List<String> args(Path data, Path out, String group) {
    return List.of(data.toString(), out.toString(), "4", "8", "0.0", "new", "4", group, "60", "1", "3");
  }

  @Test
  void twoProcessesTrainTheConditionalModelOfOne() throws Exception {
    Path data = ClassConditionalTrainingTest.labelledData(dir.resolve("data"));
    Path single = dir.resolve("single");
    Path two = dir.resolve("two");
    DistributedTrainingTest.Run one = DistributedTrainingTest.run(List.of(args(data, single, "single")), 0);
    assertEquals(0, one.codes()[0], one.outputs()[0]);
    DistributedTrainingTest.Run both = DistributedTrainingTest.run(List.of(args(data, two, "env"), args(data, two, "env")),
        DistributedTrainingTest.freePort());
    for (int r = 0; r < 2; r++) assertEquals(0, both.codes()[r], "rank " + r + ":\n" + both.outputs()[r]);
    double[] weights = DistributedTrainingTest.relativeDifference(single.resolve("checkpoint.pt"), two.resolve("checkpoint.pt"), "model.");
    List<Double> a = DistributedTrainingTest.losses(single), b = DistributedTrainingTest.losses(two);
    System.out.printf(Locale.ROOT, "conditional distributed equivalence: weights relative L2 difference %.3g, losses %s vs %s%n", weights[1], a, b);
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) assertEquals(a.get(i), b.get(i), 1.5e-6, "loss of step " + i);
    assertTrue(weights[1] <= 1e-6, "weights differ by " + weights[1]);
  }
}
