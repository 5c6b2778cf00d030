package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.diffusion.ScheduleType;
import io.github.ddpm4j.diffusion.UNetConfig;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import io.github.ddpm4j.torch.Precision;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class TrainConfigTest {
  private static final UNetConfig TINY = new UNetConfig(1, 8, List.of(1, 2), List.of(false, true), 1, 0.1, 4, 4);

  /** A valid configuration with every field changed from the defaults. */
  static TrainConfig custom() {
    return new TrainConfig("/data/set", 12, 64, true, TINY, ScheduleType.COSINE, 50, 2e-4, 0.03, 8, 123, 3e-4, 7, 0.5, 0.95, false, -5, Precision.BF16);
  }

  private static TrainConfig with(String field, Object value) {
    TrainConfig d = custom();
    Object[] v = {d.data(), d.imageSize(), d.limit(), d.flip(), d.model(), d.schedule(), d.timesteps(), d.betaStart(), d.betaEnd(),
        d.batchSize(), d.trainSteps(), d.lr(), d.warmupSteps(), d.gradClip(), d.emaDecay(), d.emaWarmup(), d.seed(), d.precision()};
    var components = TrainConfig.class.getRecordComponents();
    for (int i = 0; i < components.length; i++) if (components[i].getName().equals(field)) v[i] = value;
    return new TrainConfig((String) v[0], (int) v[1], (long) v[2], (boolean) v[3], (UNetConfig) v[4], (ScheduleType) v[5], (int) v[6],
        (double) v[7], (double) v[8], (int) v[9], (long) v[10], (double) v[11], (long) v[12], (double) v[13], (double) v[14],
        (boolean) v[15], (long) v[16], (Precision) v[17]);
  }

  @Test
  void defaultsAreTheDocumentedCpuRun() {
    TrainConfig d = TrainConfig.defaults();
    assertEquals("fashion-mnist", d.data());
    assertEquals(28, d.imageSize());
    assertEquals(TrainConfig.cpuModel(), d.model());
    assertEquals(List.of(1, 2, 2), d.model().chMults());
    assertEquals(2000, d.trainSteps());
    assertEquals(32, d.batchSize());
    assertEquals(0, 28 % d.model().sizeDivisor());
  }

  @Test
  void jsonRoundTripIsExact() {
    for (TrainConfig c : new TrainConfig[] {TrainConfig.defaults(), custom(), with("lr", 1.0 / 3), with("seed", Long.MIN_VALUE)}) {
      String json = c.toJson();
      assertEquals(c, TrainConfig.fromJson(json), json);
    }
    assertTrue(custom().toJson().contains("\"imageSize\": 12"), custom().toJson());
  }

  /** Checkpoints written before the precision field existed read as float32 runs. */
  @Test
  void aConfigurationWithoutPrecisionIsFloat32() {
    String json = custom().toJson();
    assertTrue(json.contains("\"precision\": \"BF16\""), json);
    String old = json.replaceAll(",\\s*\"precision\": \"BF16\"", "");
    assertFalse(old.contains("precision"), old);
    assertEquals(Precision.FP32, TrainConfig.fromJson(old).precision());
    assertEquals(with("precision", Precision.FP32), TrainConfig.fromJson(old));
  }

  /**
   * Checkpoints written before the diffusion length was called {@code timesteps} name it {@code steps}:
   * this is {@link #custom()} as those versions wrote it.
   */
  @Test
  void aConfigurationInTheOldFormReadsTheSame() {
    String old = """
        {
          "data": "/data/set",
          "imageSize": 12,
          "limit": 64,
          "flip": true,
          "model": {
            "imageChannels": 1,
            "nChannels": 8,
            "chMults": [1, 2],
            "isAttn": [false, true],
            "nBlocks": 1,
            "dropout": 0.1,
            "nGroups": 4,
            "finalGroups": 4
          },
          "schedule": "cosine",
          "steps": 50,
          "betaStart": 2.0E-4,
          "betaEnd": 0.03,
          "batchSize": 8,
          "trainSteps": 123,
          "lr": 3.0E-4,
          "warmupSteps": 7,
          "gradClip": 0.5,
          "emaDecay": 0.95,
          "emaWarmup": false,
          "seed": -5,
          "precision": "BF16"
        }
        """;
    assertEquals(custom(), TrainConfig.fromJson(old));
    assertEquals(50, TrainConfig.fromJson(old).timesteps());
    String now = custom().toJson();
    assertTrue(now.contains("\"timesteps\": 50") && !now.contains("\"steps\""), now);
    assertTrue(now.contains("\"schedule\": \"cosine\""), now);
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> TrainConfig.fromJson(old.replace("\"steps\": 50", "\"steps\": 1")));
    assertEquals("invalid configuration: timesteps = 1 must be in 2..100000", bad.getMessage());
  }

  @Test
  void anUnknownScheduleNamesTheAcceptedOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> TrainConfig.fromJson(custom().toJson().replace("\"cosine\"", "\"quadratic\"")));
    assertEquals("invalid configuration: schedule: expected one of linear, cosine, got 'quadratic'", e.getMessage());
  }

  static Stream<Arguments> invalid() {
    return Stream.of(
        Arguments.of("data", (Supplier<TrainConfig>) () -> with("data", " ")),
        Arguments.of("data", (Supplier<TrainConfig>) () -> with("data", null)),
        Arguments.of("imageSize", (Supplier<TrainConfig>) () -> with("imageSize", 2)),
        Arguments.of("imageSize", (Supplier<TrainConfig>) () -> with("imageSize", 13)),
        Arguments.of("model", (Supplier<TrainConfig>) () -> with("model", null)),
        Arguments.of("limit", (Supplier<TrainConfig>) () -> with("limit", -1L)),
        Arguments.of("schedule", (Supplier<TrainConfig>) () -> TrainConfig.fromJson(custom().toJson().replace("\"cosine\"", "\"quadratic\""))),
        Arguments.of("schedule", (Supplier<TrainConfig>) () -> with("schedule", null)),
        Arguments.of("timesteps", (Supplier<TrainConfig>) () -> with("timesteps", 1)),
        Arguments.of("betaStart", (Supplier<TrainConfig>) () -> with("betaStart", 0.0)),
        Arguments.of("betaEnd", (Supplier<TrainConfig>) () -> with("betaEnd", 1.0)),
        Arguments.of("betaStart", (Supplier<TrainConfig>) () -> with("betaStart", 0.05)),
        Arguments.of("batchSize", (Supplier<TrainConfig>) () -> with("batchSize", 0)),
        Arguments.of("trainSteps", (Supplier<TrainConfig>) () -> with("trainSteps", 0L)),
        Arguments.of("lr", (Supplier<TrainConfig>) () -> with("lr", 0.0)),
        Arguments.of("lr", (Supplier<TrainConfig>) () -> with("lr", Double.NaN)),
        Arguments.of("lr", (Supplier<TrainConfig>) () -> with("lr", Double.POSITIVE_INFINITY)),
        Arguments.of("warmupSteps", (Supplier<TrainConfig>) () -> with("warmupSteps", -1L)),
        Arguments.of("gradClip", (Supplier<TrainConfig>) () -> with("gradClip", -0.5)),
        Arguments.of("gradClip", (Supplier<TrainConfig>) () -> with("gradClip", Double.POSITIVE_INFINITY)),
        Arguments.of("emaDecay", (Supplier<TrainConfig>) () -> with("emaDecay", 1.0)),
        Arguments.of("emaDecay", (Supplier<TrainConfig>) () -> with("emaDecay", -0.1)),
        Arguments.of("emaDecay", (Supplier<TrainConfig>) () -> with("emaDecay", Double.NaN)),
        Arguments.of("gradClip", (Supplier<TrainConfig>) () -> with("gradClip", Double.NaN)),
        // upper bounds, which configurations read from checkpoints pass too
        Arguments.of("imageSize", (Supplier<TrainConfig>) () -> with("imageSize", 100_000)),
        Arguments.of("imageSize", (Supplier<TrainConfig>) () -> with("imageSize", 1026)),
        Arguments.of("timesteps", (Supplier<TrainConfig>) () -> with("timesteps", 100_001)),
        Arguments.of("batchSize", (Supplier<TrainConfig>) () -> with("batchSize", 4097)),
        Arguments.of("lr", (Supplier<TrainConfig>) () -> with("lr", 1e308)),
        Arguments.of("lr", (Supplier<TrainConfig>) () -> with("lr", 1.0000001)),
        Arguments.of("imageChannels", (Supplier<TrainConfig>) () -> with("model", TINY.toBuilder().imageChannels(2).build())),
        Arguments.of("imageChannels", (Supplier<TrainConfig>) () -> with("model", TINY.toBuilder().imageChannels(4).build())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalid")
  void validationNamesTheParameter(String field, Supplier<TrainConfig> make) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, make::get);
    assertTrue(e.getMessage().matches("(?s).*\\b" + field + "\\b.*"), () -> "'" + field + "' not named in: " + e.getMessage());
  }

  @Test
  void divisibilityMessageGivesTheDivisor() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> with("imageSize", 13));
    assertEquals("imageSize = 13 must be divisible by 2 (2^(levels-1) for 2 levels)", e.getMessage());
  }

  @Test
  void theBoundsThemselvesAreValid() {
    TrainConfig big = with("imageSize", TrainConfig.MAX_IMAGE_SIZE);
    assertEquals(big, TrainConfig.fromJson(big.toJson()));
    with("timesteps", TrainConfig.MAX_DIFFUSION_STEPS);
    with("batchSize", TrainConfig.MAX_BATCH_SIZE);
    with("lr", TrainConfig.MAX_LR);
    with("model", TINY.toBuilder().imageChannels(3).build());
  }

  @Test
  void everyValidConfigurationSerialises() {
    TrainConfig edge = with("gradClip", 0.0);
    assertEquals(edge, TrainConfig.fromJson(edge.toJson()));
    assertEquals(with("emaDecay", 0.0), TrainConfig.fromJson(with("emaDecay", 0.0).toJson()));
  }

  @Test
  void fromJsonReportsAnInvalidFieldByName() {
    String json = custom().toJson().replace("\"lr\": 3.0E-4", "\"lr\": -1.0");
    assertNotEquals(custom().toJson(), json);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.fromJson(json));
    assertEquals("invalid configuration: lr = -1.0 must be in (0, 1.0]", e.getMessage());
    String groups = custom().toJson().replace("\"nGroups\": 4", "\"nGroups\": 3");
    IllegalArgumentException g = assertThrows(IllegalArgumentException.class, () -> TrainConfig.fromJson(groups));
    assertTrue(g.getMessage().contains("nGroups = 3"), g.getMessage());
  }

  @Test
  void fromJsonRejectsMalformedText() {
    for (String bad : new String[] {"{", "[1, 2]", "{\"imageSize\": \"big\"}", "{\"model\": {\"chMults\": null}}"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainConfig.fromJson(bad), bad);
      assertTrue(e.getMessage().startsWith("malformed configuration") || e.getMessage().startsWith("invalid configuration:"),
          e.getMessage());
    }
    assertEquals("empty configuration", assertThrows(IllegalArgumentException.class, () -> TrainConfig.fromJson("")).getMessage());
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> TrainConfig.fromJson("{}"));
    assertTrue(missing.getMessage().contains("data"), missing.getMessage());
  }

  @Test
  void aRunMayChangeOnlyItsNumberOfSteps() {
    TrainConfig c = custom();
    TrainConfig longer = c.withTrainSteps(1000);
    assertEquals(1000, longer.trainSteps());
    assertNotEquals(c, longer);
    assertTrue(longer.sameRunAs(c));
    assertTrue(c.sameRunAs(longer));
    assertEquals(List.of("trainSteps: 123 vs 1000"), c.differences(longer));
    TrainConfig other = with("lr", 1e-3);
    assertFalse(other.sameRunAs(c));
    assertFalse(other.withTrainSteps(1000).sameRunAs(c));
    assertEquals(List.of("lr: 3.0E-4 vs 0.001"), c.differences(other));
    assertFalse(c.sameRunAs(null));
    assertThrows(IllegalArgumentException.class, () -> c.withTrainSteps(0));
  }
}
