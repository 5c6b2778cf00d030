package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Checkpoints of a run that diverged: EMA weights set to NaN, to +infinity, and to 1e37 (finite,
 * but every forward pass overflows). Sampling from them must fail naming the checkpoint, writing
 * no image; {@code info} must say what is wrong with the weights.
 */
@ExtendWith(CliRunner.Threads.class)
class DivergedWeightsTest {
  @TempDir static Path dir;
  private static Path good;
  private static final Map<String, Path> BAD = new LinkedHashMap<>();
  /** The first floating-point ema.* entry of the checkpoint, in file order, and the count of ema.* values. */
  private static String firstEma;
  private static long emaValues;
  private static long modelValues;

  @BeforeAll
  static void makeCheckpoints() throws IOException {
    good = TrainFixtures.train(TrainFixtures.data(dir.resolve("data")), dir.resolve("run"), 1);
    for (Map.Entry<String, Double> bad : Map.of("nan", Double.NaN, "inf", Double.POSITIVE_INFINITY, "huge", 1e37).entrySet()) {
      Path file = dir.resolve(bad.getKey() + ".pt");
      try (StateDict ck = StateDict.load(good); Scope s = Scope.open()) {
        Map<String, Tensor> entries = new LinkedHashMap<>();
        emaValues = 0;
        modelValues = 0;
        firstEma = null;
        for (Map.Entry<String, Tensor> e : ck.entrySet()) {
          Tensor t = e.getValue();
          if (e.getKey().startsWith("ema.") && t.dtype().isFloatingPoint()) {
            if (firstEma == null) firstEma = e.getKey();
            emaValues += t.numel();
            t = Torch.full(t.shape(), bad.getValue(), t.dtype(), io.github.ddpm4j.torch.Device.CPU);
          }
          if (e.getKey().startsWith("model.") && t.dtype().isFloatingPoint()) modelValues += t.numel();
          entries.put(e.getKey(), t);
        }
        StateDict.savePyTorch(entries, file);
      }
      BAD.put(bad.getKey(), file);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"nan", "inf"})
  void nonFiniteWeightsAreRejectedWhenLoaded(String kind) {
    Path ck = BAD.get(kind);
    Path grid = dir.resolve("out-" + kind + "/grid.png");
    CliRunner.Result r = CliRunner.run("sample", "--checkpoint", ck.toString(), "-n", "2", "--sampling-steps", "2", "--out",
        grid.toString(), "--no-progress", "--threads", CliRunner.THREADS);
    assertEquals(1, r.code(), r::toString);
    assertTrue(r.err().startsWith("ddpm4j sample: " + ck + ": "), r::toString);
    assertTrue(r.err().contains(firstEma), () -> firstEma + " not in:\n" + r);
    assertTrue(r.err().contains(emaValues + " of " + emaValues), r::toString);
    assertFalse(Files.exists(grid), "no image written");
  }

  @ParameterizedTest
  @ValueSource(strings = {"sample", "animate", "interpolate"})
  void hugeWeightsThatMakeNonFiniteImagesFailNamingTheCheckpoint(String command) {
    Path ck = BAD.get("huge");
    Path out = dir.resolve("out-huge-" + command + (command.equals("animate") ? ".gif" : ".png"));
    List<String> args = switch (command) {
      case "sample" -> List.of("-n", "2", "--sampling-steps", "2", "--out", out.toString(), "--no-progress");
      case "animate" -> List.of("--count", "1", "--every", "25", "--out", out.toString(), "--no-progress");
      default -> List.of("--indices", "0,1", "--t", "3", "--frames", "2", "--out", out.toString(), "--no-progress");
    };
    List<String> all = new java.util.ArrayList<>(List.of(command, "--checkpoint", ck.toString(), "--threads", CliRunner.THREADS));
    all.addAll(args);
    CliRunner.Result r = CliRunner.run(all.toArray(String[]::new));
    assertEquals(1, r.code(), r::toString);
    assertTrue(r.err().startsWith("ddpm4j " + command + ": " + ck + ": "), r::toString);
    assertTrue(r.err().contains("NaN or infinite"), r::toString);
    assertFalse(Files.exists(out), "no image written");
  }

  @Test
  void infoReportsNonFiniteAndExtremeWeights() {
    CliRunner.Result fine = CliRunner.run("info", "--checkpoint", good.toString(), "--threads", CliRunner.THREADS);
    assertEquals(0, fine.code(), fine::toString);
    assertTrue(fine.out().contains(String.format(Locale.ROOT, "model: %,d values, 0 non-finite, largest |w| ", modelValues)),
        fine::toString);
    assertFalse(fine.out().toLowerCase(Locale.ROOT).contains("warning"), fine::toString);

    for (String kind : List.of("nan", "inf")) {
      CliRunner.Result r = CliRunner.run("info", "--checkpoint", BAD.get(kind).toString(), "--threads", CliRunner.THREADS);
      assertEquals(0, r.code(), r::toString);
      assertTrue(r.out().contains(String.format(Locale.ROOT, "ema:   %,d values, %,d non-finite (first: %s), largest finite |w| -",
          emaValues, emaValues, firstEma)), r::toString);
      assertTrue(r.out().contains(String.format(Locale.ROOT, "model: %,d values, 0 non-finite", modelValues)), r::toString);
      assertTrue(r.out().contains("warning: ema weights are not all finite"), r::toString);
    }
    CliRunner.Result huge = CliRunner.run("info", "--checkpoint", BAD.get("huge").toString(), "--threads", CliRunner.THREADS);
    assertEquals(0, huge.code(), huge::toString);
    assertTrue(huge.out().contains(String.format(Locale.ROOT, "ema:   %,d values, 0 non-finite, largest |w| 1.0e+37", emaValues)),
        huge::toString);
    assertTrue(huge.out().contains("warning: ema weights reach |w| = 1.0e+37"), huge::toString);
  }
}
