package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.serialize.ZipRecords;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Usage errors exit with 2 and name the option at fault; failures at run time (missing or corrupt
 * files) exit with 1 and name the file; {@code --help} exits with 0. The checkpoint is the tiny
 * model of {@link TrainFixtures} (T = 50) after one step, on 20 training images.
 */
@ExtendWith(CliRunner.Threads.class)
class CliArgumentsTest {
  @TempDir static Path dir;
  private static Path data;
  private static Path ck;
  private static Path missing;
  private static Path garbage;
  private static Path weights;
  private static Path png;
  private static Path mismatch;
  private static ZipRecords.Flipped corrupted;
  private static Path tampered;

  @BeforeAll
  static void makeFiles() throws IOException {
    data = TrainFixtures.data(dir.resolve("data"));
    ck = TrainFixtures.train(data, dir.resolve("run"), 1);
    missing = dir.resolve("absent/checkpoint.pt");
    garbage = Files.writeString(dir.resolve("garbage.pt"), "definitely not a checkpoint");
    weights = dir.resolve("weights.pt");
    StateDict.savePyTorch(Map.of("w", Torch.ones(3)), weights);
    mismatch = dir.resolve("mismatch.pt");
    try (StateDict full = StateDict.load(ck)) {
      Map<String, io.github.ddpm4j.torch.Tensor> entries = new java.util.LinkedHashMap<>(full);
      entries.keySet().removeIf(k -> k.startsWith("ema.final."));
      StateDict.savePyTorch(entries, mismatch);
    }
    String record = ZipRecords.holding(Files.readAllBytes(ck), TrainFixtures.largestEmaWeight(ck));
    corrupted = ZipRecords.flip(ck, dir.resolve("corrupted.pt"), record, 4);
    tampered = dir.resolve("tampered.pt");
    try (StateDict full = StateDict.load(ck)) {
      Map<String, io.github.ddpm4j.torch.Tensor> entries = new java.util.LinkedHashMap<>(full);
      com.google.gson.JsonObject config = com.google.gson.JsonParser.parseString(
          new String(full.get("meta.config").toByteArray(), java.nio.charset.StandardCharsets.UTF_8)).getAsJsonObject();
      config.addProperty("imageSize", 100000);
      byte[] json = config.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
      entries.put("meta.config", Torch.tensor(json, json.length));
      StateDict.savePyTorch(entries, tampered);
    }
    png = dir.resolve("a.png");
    javax.imageio.ImageIO.write(new java.awt.image.BufferedImage(8, 8, java.awt.image.BufferedImage.TYPE_BYTE_GRAY), "png",
        png.toFile());
  }

  private static String[] args(String... a) {
    return a;
  }

  private static String[] withCheckpoint(String command, String... more) {
    List<String> out = new ArrayList<>(List.of(command, "--checkpoint", ck.toString(), "--threads", CliRunner.THREADS));
    out.addAll(List.of(more));
    return out.toArray(String[]::new);
  }

  private static String[] train(String... more) {
    List<String> out = new ArrayList<>(List.of("train", "--data", data.toString(), "--output-dir", dir.resolve("train-out").toString(),
        "--no-progress", "--threads", CliRunner.THREADS));
    out.addAll(List.of(more));
    return out.toArray(String[]::new);
  }

  static Stream<Arguments> usageErrors() {
    return Stream.of(
        // train
        Arguments.of(train("--bogus"), "--bogus"),
        Arguments.of(train("--train-steps", "many"), "--train-steps"),
        Arguments.of(train("--lr", "fast"), "--lr"),
        Arguments.of(train("--device", "tpu"), "--device tpu"),
        Arguments.of(train("--threads", "-1"), "--threads"),
        Arguments.of(train("--image-size", "30"), "--image-size=30 must be divisible by 4"),
        Arguments.of(train("--channel-mults", "1,2", "--attention", "false"), "--attention has 1 entries but --channel-mults has 2"),
        Arguments.of(train("--channel-mults", "1,x"), "--channel-mults"),
        Arguments.of(train("--attention", "false,maybe,true"), "--attention"),
        Arguments.of(train("--train-steps", "0"), "--train-steps=0 must be >= 1"),
        Arguments.of(train("--batch-size", "0"), "--batch-size=0"),
        Arguments.of(train("--lr", "-1"), "--lr=-1.0"),
        Arguments.of(train("--grad-clip", "Infinity"), "--grad-clip=Infinity"),
        Arguments.of(train("--ema-decay", "1"), "--ema-decay=1.0"),
        Arguments.of(train("--schedule", "quadratic"), "'--schedule': expected one of linear, cosine, got 'quadratic'"),
        Arguments.of(train("--timesteps", "1"), "--timesteps=1"),
        Arguments.of(train("--base-channels", "7"), "--base-channels=7"),
        Arguments.of(train("--groups", "3"), "--groups=3"),
        Arguments.of(train("--dropout", "1.5"), "--dropout=1.5"),
        Arguments.of(train("--checkpoint-every", "0"), "--checkpoint-every=0"),
        Arguments.of(train("--samples", "0"), "--samples=0"),
        Arguments.of(train("--channels", "3", "--base-channels", "8", "--groups", "4", "--channel-mults", "1,2", "--attention",
            "false,false", "--image-size", "8"), "--channels must be 1"),
        Arguments.of(train("--limit", "4", "--batch-size", "8", "--base-channels", "8", "--groups", "4", "--channel-mults", "1,2",
            "--attention", "false,false", "--image-size", "8"), "--batch-size=8 must be in 1..4"),
        // train: upper bounds (the same ones guard configurations read from checkpoints)
        Arguments.of(train("--lr", "1e308"), "--lr=1.0E308 must be in (0, 1.0]"),
        Arguments.of(train("--lr", "1.5"), "--lr=1.5 must be in (0, 1.0]"),
        Arguments.of(train("--lr", "NaN"), "--lr=NaN must be in (0, 1.0]"),
        Arguments.of(train("--image-size", "100000"), "--image-size=100000 must be in 4..1024"),
        Arguments.of(train("--timesteps", "100001"), "--timesteps=100001 must be in 2..100000"),
        Arguments.of(train("--batch-size", "4097"), "--batch-size=4097 must be in 1..4096"),
        Arguments.of(train("--base-channels", "2048"), "--base-channels=2048 must be even and in 4..1024"),
        Arguments.of(train("--channel-mults", "1,2,1000"), "--channel-mults=[1, 2, 1000] make the widest level (--base-channels=32 times their product) wider than 4096"),
        Arguments.of(train("--channel-mults", "1,1,1,1,1,1,1,1,1", "--attention", "false,false,false,false,false,false,false,false,false"),
            "--channel-mults has 9 levels, at most 8"),
        Arguments.of(train("--blocks", "17"), "--blocks=17 must be in 1..16"),
        Arguments.of(train("--channels", "2", "--base-channels", "8", "--groups", "4", "--channel-mults", "1,2", "--attention",
            "false,false", "--image-size", "8"), "--channels=2 must be 1 (grayscale) or 3 (RGB)"),
        Arguments.of(train("--samples", "4097"), "--samples=4097 must be in 1..4096"),
        Arguments.of(train("--warmup", "-1"), "--warmup=-1"),
        Arguments.of(train("--ema-decay", "NaN"), "--ema-decay=NaN"),
        Arguments.of(train("--dropout", "NaN"), "--dropout=NaN"),
        Arguments.of(train("--grad-clip", "NaN"), "--grad-clip=NaN"),
        Arguments.of(train("--keep-checkpoints", "-1"), "--keep-checkpoints=-1 must be >= 0"),
        Arguments.of(train("--eval-every", "-1"), "--eval-every=-1 must be >= 0"),
        Arguments.of(train("--eval-samples", "0"), "--eval-samples=0 must be >= 1"),
        Arguments.of(train("--eval-every", "100", "--image-size", "32"), "--eval-every=100: evaluation scores samples with ddpm4j's "
            + "Fashion-MNIST classifier, which takes 28x28 grayscale images, and this run makes 1x32x32 ones"),
        // sample
        Arguments.of(withCheckpoint("sample", "--bogus"), "--bogus"),
        Arguments.of(withCheckpoint("sample", "--count", "some"), "--count"),
        Arguments.of(withCheckpoint("sample", "--count", "0"), "--count"),
        Arguments.of(withCheckpoint("sample", "--count", "4097"), "--count=4097 must be in 1..4096"),
        Arguments.of(withCheckpoint("sample", "--sampler", "foo"), "'--sampler': expected one of ddim, ancestral, dpm-solver++, got 'foo'"),
        Arguments.of(withCheckpoint("sample", "--sampler", "ddim", "--sampling-steps", "0", "--no-progress"), "--sampling-steps=0 must lie in [1, T = 50]"),
        Arguments.of(withCheckpoint("sample", "--sampler", "ddim", "--sampling-steps", "51", "--no-progress"), "--sampling-steps=51 must lie in [1, T = 50]"),
        Arguments.of(withCheckpoint("sample", "--sampler", "ddim", "--eta", "-1", "--sampling-steps", "5", "--no-progress"), "--eta=-1.0 must be finite and >= 0"),
        Arguments.of(withCheckpoint("sample", "--device", "tpu"), "--device tpu"),
        Arguments.of(withCheckpoint("sample", "--threads", "-1"), "--threads"),
        Arguments.of(withCheckpoint("sample", "--seed", "1.5"), "--seed"),
        // interpolate
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--bogus"), "--bogus"),
        Arguments.of(withCheckpoint("interpolate"), "--indices"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--images", "a.png,b.png"),
            "--indices=I,J, --images=A,B are mutually exclusive"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--frames", "1"), "--frames"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--frames", "x"), "--frames"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1,2"), "--indices needs exactly two"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,x"), "--indices"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,20"), "--indices 0,20: the training set has only 20"),
        Arguments.of(withCheckpoint("interpolate", "--images", png.toString()), "--images needs exactly two"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--t", "50"), "--t must be in [0, 50)"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--t", "-1"), "--t must be >= 0"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--device", "tpu"), "--device"),
        // animate
        Arguments.of(withCheckpoint("animate", "--bogus"), "--bogus"),
        Arguments.of(withCheckpoint("animate", "--out", dir.resolve("x.txt").toString()), "--out must end in .gif or .png"),
        Arguments.of(withCheckpoint("animate", "--every", "0"), "--every"),
        Arguments.of(withCheckpoint("animate", "--every", "often"), "--every"),
        Arguments.of(withCheckpoint("animate", "--count", "0"), "--count"),
        Arguments.of(withCheckpoint("animate", "--delay", "5"), "--delay"),
        Arguments.of(withCheckpoint("animate", "--threads", "-1"), "--threads"),
        Arguments.of(withCheckpoint("animate", "--count", "4097"), "--count=4097 must be in 1..4096"),
        Arguments.of(withCheckpoint("animate", "--sampler", "ddim", "--sampling-steps", "51", "--no-progress"), "--sampling-steps=51 must lie in [1, T = 50]"),
        Arguments.of(withCheckpoint("sample", "--out", dir.resolve("x.jpg").toString()), "--out must end in .png, got"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--out", dir.resolve("x.gif").toString()), "--out must end in .png"),
        // the sampler options mean one thing everywhere: DDIM's settings are refused with the ancestral sampler
        Arguments.of(withCheckpoint("sample", "--sampler", "ancestral", "--eta", "0.5"), "--eta applies to --sampler ddim only"),
        Arguments.of(withCheckpoint("animate", "--sampler", "ancestral", "--sampling-steps", "10"),
            "--sampling-steps applies to --sampler ddim or dpm-solver++ only"),
        Arguments.of(train("--sampler", "ancestral", "--sampling-steps", "10"), "--sampling-steps applies to --sampler ddim or dpm-solver++ only"),
        Arguments.of(train("--sampler", "ddim", "--sampling-steps", "51", "--timesteps", "50"), "--sampling-steps=51 must lie in [1, T = 50]"),
        Arguments.of(withCheckpoint("sample", "--sampler", "dpm-solver++", "--eta", "0.5"),
            "--eta applies to --sampler ddim only: dpm-solver++ is deterministic"),
        Arguments.of(withCheckpoint("sample", "--sampler", "dpm-solver++", "--sampling-steps", "50"),
            "--sampling-steps=50 must lie in [1, T - 1 = 49] for dpm-solver++"),
        Arguments.of(train("--sampler", "dpm-solver++", "--eta", "1"), "--eta applies to --sampler ddim only: dpm-solver++ is deterministic"),
        Arguments.of(withCheckpoint("sample", "--sampler", "ddim", "--timestep-spacing", "logsnr"), "--timestep-spacing applies to --sampler dpm-solver++ only"),
        Arguments.of(withCheckpoint("sample", "--sampler", "dpm-solver++", "--timestep-spacing", "karras"),
            "'--timestep-spacing': expected one of linspace, logsnr, got 'karras'"),
        Arguments.of(train("--precision", "fp8"), "'--precision': precision must be fp32, bf16 or fp16, got 'fp8'"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--precision", "fp16"), "fp16 precision needs a CUDA device"),
        Arguments.of(withCheckpoint("interpolate", "--indices", "0,1", "--cuda-graphs"), "--cuda-graphs needs a CUDA device"),
        // serve
        Arguments.of(withCheckpoint("serve", "--port", "65536"), "--port=65536 must be in 0..65535"),
        Arguments.of(withCheckpoint("serve", "--port", "http"), "--port"),
        Arguments.of(withCheckpoint("serve", "--max-images", "0"), "--max-images=0 must be in 1..4096"),
        Arguments.of(withCheckpoint("serve", "--max-images", "4097"), "--max-images=4097 must be in 1..4096"),
        Arguments.of(withCheckpoint("serve", "--batch-window", "-1"), "--batch-window=-1 must be >= 0"),
        Arguments.of(withCheckpoint("serve", "--max-batch-images", "0"), "--max-batch-images=0 must be >= 1"),
        Arguments.of(withCheckpoint("serve", "--queue-capacity", "0"), "--queue-capacity=0 must be >= 1"),
        Arguments.of(withCheckpoint("serve", "--workers", "0"), "--workers=0 must be >= 1"),
        Arguments.of(withCheckpoint("serve", "--drain-timeout", "-1"), "--drain-timeout=-1 must be >= 0"),
        Arguments.of(withCheckpoint("serve", "--threads", "-1"), "--threads"),
        Arguments.of(withCheckpoint("serve", "--device", "tpu"), "--device tpu"),
        Arguments.of(withCheckpoint("serve", "--sampler", "ddim"), "--sampler"),
        // info
        Arguments.of(args("info", "--bogus"), "--bogus"),
        Arguments.of(args("info", "--threads", "x"), "--threads"),
        Arguments.of(args("info", "--device", "tpu"), "--device tpu"),
        Arguments.of(args("info", "--threads", "-1"), "--threads"),
        // the top level
        Arguments.of(args(), "Missing command"),
        Arguments.of(args("frobnicate"), "frobnicate"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("usageErrors")
  void usageErrorsExitWithTwoAndNameTheOption(String[] args, String message) {
    CliRunner.Result r = CliRunner.run(args);
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().contains(message), () -> "'" + message + "' not in:\n" + r);
    assertTrue(r.out().isEmpty(), r::toString);
  }

  static Stream<Arguments> runtimeFailures() {
    Path noData = dir.resolve("no-data");
    Path notAnImage = dir.resolve("broken.png");
    return Stream.of(
        Arguments.of(args("sample", "--checkpoint", missing.toString(), "--no-progress"), missing),
        Arguments.of(args("sample", "--checkpoint", garbage.toString(), "--no-progress"), garbage),
        Arguments.of(args("sample", "--checkpoint", weights.toString(), "--no-progress"), weights),
        Arguments.of(args("interpolate", "--checkpoint", missing.toString(), "--indices", "0,1"), missing),
        Arguments.of(args("interpolate", "--checkpoint", garbage.toString(), "--indices", "0,1"), garbage),
        Arguments.of(withCheckpoint("interpolate", "--images", png + "," + noData), noData),
        Arguments.of(withCheckpoint("interpolate", "--images", png + "," + notAnImage), notAnImage),
        Arguments.of(args("sample", "--checkpoint", mismatch.toString(), "--no-progress"), mismatch),
        Arguments.of(args("sample", "--checkpoint", corrupted.file().toString(), "--sampling-steps", "5", "-n", "1",
            "--out", dir.resolve("never.png").toString(), "--no-progress"), corrupted.file()),
        Arguments.of(args("info", "--checkpoint", corrupted.file().toString()), corrupted.file()),
        Arguments.of(args("animate", "--checkpoint", missing.toString()), missing),
        Arguments.of(args("animate", "--checkpoint", weights.toString()), weights),
        Arguments.of(args("serve", "--checkpoint", missing.toString(), "--port", "0", "--no-progress"), missing),
        Arguments.of(args("serve", "--checkpoint", garbage.toString(), "--port", "0", "--no-progress"), garbage),
        Arguments.of(args("serve", "--checkpoint", tampered.toString(), "--port", "0", "--no-progress"), tampered),
        Arguments.of(args("info", "--checkpoint", missing.toString()), missing),
        Arguments.of(args("info", "--checkpoint", garbage.toString()), garbage),
        Arguments.of(args("sample", "--checkpoint", tampered.toString(), "--no-progress"), tampered),
        Arguments.of(args("info", "--checkpoint", tampered.toString()), tampered),
        Arguments.of(args("animate", "--checkpoint", tampered.toString()), tampered),
        Arguments.of(args("interpolate", "--checkpoint", tampered.toString(), "--indices", "0,1"), tampered),
        Arguments.of(args("train", "--data", noData.toString(), "--output-dir", dir.resolve("t1").toString(), "--no-progress", "--threads",
            CliRunner.THREADS), noData),
        Arguments.of(args("train", "--data", data.toString(), "--output-dir", dir.resolve("t2").toString(), "--resume", "--batch-size", "8",
            "--no-progress", "--threads", CliRunner.THREADS), dir.resolve("t2/checkpoint.pt")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("runtimeFailures")
  void runtimeFailuresExitWithOneAndNameTheFile(String[] args, Path file) throws IOException {
    Files.writeString(dir.resolve("broken.png"), "not a png");
    CliRunner.Result r = CliRunner.run(args);
    assertEquals(1, r.code(), r::toString);
    assertTrue(r.err().startsWith("ddpm4j " + args[0] + ": "), r::toString);
    assertTrue(r.err().contains(file.toString()), () -> file + " not in:\n" + r);
    assertEquals(1, r.err().lines().count(), "one line, no stack trace:\n" + r);
  }

  /**
   * A checkpoint whose stored configuration asks for 100000x100000 images fails when it is read, with the
   * check the command line's --image-size passes, and before LibTorch is asked for any memory (the
   * unchecked value used to fail in dd_randn, asking for 160 GB).
   */
  @Test
  void aCheckpointWithAnAbsurdConfigurationIsRejectedWhenRead() {
    for (String command : List.of("sample", "info")) {
      List<String> args = new ArrayList<>(List.of(command, "--checkpoint", tampered.toString(), "--threads", CliRunner.THREADS));
      if (command.equals("sample")) args.addAll(List.of("--sampling-steps", "5", "--no-progress"));
      CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
      assertEquals(1, r.code(), r::toString);
      assertEquals("ddpm4j " + command + ": " + tampered + ": invalid configuration: imageSize = 100000 must be in 4..1024",
          r.err().strip(), r::toString);
    }
  }

  /** Failures to write name the file and the reason, in one line, with exit code 1; nothing is written. */
  @Test
  void ioErrorsNameThePathAndTheReason() throws IOException {
    Path regular = Files.writeString(dir.resolve("a-file.txt"), "x");
    Path folder = Files.createDirectories(dir.resolve("a-folder.png"));
    Files.writeString(folder.resolve("inside"), "x");
    Path logIsFolder = Files.createDirectories(dir.resolve("log-is-folder/loss.csv"));
    List<List<String>> cases = List.of(
        List.of("ddpm4j sample: /proc/ddpm4j-test.png: No such file or directory",
            "sample", "--out", "/proc/ddpm4j-test.png"),
        List.of("ddpm4j sample: /proc/ddpm4j-test: No such file or directory",
            "sample", "--out", "/proc/ddpm4j-test/grid.png"),
        List.of("ddpm4j sample: " + regular + ": exists and is not a directory",
            "sample", "--output-dir", regular.toString()),
        List.of("ddpm4j sample: " + folder + ": Is a directory",
            "sample", "--out", folder.toString()),
        List.of("ddpm4j animate: " + regular + ": exists and is not a directory",
            "animate", "--out", regular.resolve("t.gif").toString()),
        List.of("ddpm4j train: " + regular + ": exists and is not a directory",
            "train", "--output-dir", regular.toString()),
        List.of("ddpm4j train: " + logIsFolder + ": Is a directory",
            "train", "--output-dir", logIsFolder.getParent().toString(), "--force"));
    for (List<String> c : cases) {
      List<String> args = new ArrayList<>(c.subList(1, c.size()));
      if (args.get(0).equals("train")) {
        args.addAll(List.of("--data", data.toString(), "--train-steps", "1", "--batch-size", "8", "--image-size", "8", "--base-channels", "8",
            "--groups", "4", "--channel-mults", "1,2", "--attention", "false,false", "--no-progress"));
      } else {
        args.addAll(List.of("--checkpoint", ck.toString()));
        if (args.get(0).equals("sample")) args.addAll(List.of("-n", "1", "--sampling-steps", "2", "--no-progress"));
        else args.addAll(List.of("--count", "1", "--every", "25"));
      }
      args.addAll(List.of("--threads", CliRunner.THREADS));
      CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
      assertEquals(1, r.code(), r::toString);
      assertEquals(c.get(0), r.err().strip(), r::toString);
    }
    assertEquals("x", Files.readString(regular));
    assertEquals(List.of("inside"), Files.list(folder).map(p -> p.getFileName().toString()).toList());
    assertEquals(List.of("loss.csv"), Files.list(logIsFolder.getParent()).map(p -> p.getFileName().toString()).toList());
  }

  @Test
  void aCheckpointWithAFlippedBitInItsWeightsExitsWithOneNamingTheRecord() {
    CliRunner.Result r = CliRunner.run("sample", "--checkpoint", corrupted.file().toString(), "--no-progress", "-n", "1",
        "--sampling-steps", "5", "--out", dir.resolve("never.png").toString(), "--threads", CliRunner.THREADS);
    assertEquals(1, r.code(), r::toString);
    assertTrue(r.err().contains(corrupted.file().toString()), r::toString);
    assertTrue(r.err().contains("'" + corrupted.entry() + "'"), r::toString);
    assertTrue(r.err().contains("CRC-32 check failed"), r::toString);
    assertTrue(Files.notExists(dir.resolve("never.png")), "no samples are written");
  }

  @Test
  void corruptTrainingDataExitsWithOne() throws IOException {
    Path bad = Files.write(dir.resolve("bad-idx3-ubyte.gz"), IdxFiles.bytes(0x803, 2, 8, 8, new byte[128]));
    Path empty = Files.createDirectories(dir.resolve("empty-folder"));
    for (Path p : List.of(bad, empty)) {
      CliRunner.Result r = CliRunner.run("train", "--data", p.toString(), "--output-dir", dir.resolve("t3").toString(), "--no-progress",
          "--threads", CliRunner.THREADS);
      assertEquals(1, r.code(), r::toString);
      assertTrue(r.err().contains(p.toString()), r::toString);
    }
  }

  @Test
  void aSingleImageAsDataExitsWithOneSayingWhatDataTakes() {
    CliRunner.Result r = CliRunner.run("train", "--data", png.toString(), "--output-dir", dir.resolve("t4").toString(), "--no-progress",
        "--threads", CliRunner.THREADS);
    assertEquals(1, r.code(), r::toString);
    assertTrue(r.err().startsWith("ddpm4j train: " + png + ": "), r::toString);
    assertTrue(r.err().contains("a single PNG image"), r::toString);
    assertTrue(r.err().contains("fashion-mnist") && r.err().contains("folder of PNG/JPEG images"), r::toString);
    assertEquals(1, r.err().lines().count(), "one line, no stack trace:\n" + r);
    assertTrue(r.out().isEmpty(), r::toString);
  }

  @ParameterizedTest
  @ValueSource(strings = {"train", "sample", "interpolate", "animate", "info"})
  void helpExitsWithZero(String command) {
    CliRunner.Result r = CliRunner.run(command, "--help");
    assertEquals(0, r.code(), r::toString);
    assertTrue(r.out().startsWith("Usage: ddpm4j " + command), r::toString);
    assertTrue(r.out().contains("--threads"), r::toString);
    CliRunner.Result viaHelp = CliRunner.run("help", command);
    assertEquals(0, viaHelp.code(), viaHelp::toString);
    assertEquals(r.out(), viaHelp.out());
  }

  @Test
  void versionAndTopLevelHelp() {
    CliRunner.Result v = CliRunner.run("--version");
    assertEquals(0, v.code(), v::toString);
    assertTrue(v.out().contains("LibTorch " + Torch.version()), v::toString);
    CliRunner.Result h = CliRunner.run("--help");
    assertEquals(0, h.code(), h::toString);
    for (String c : List.of("train", "sample", "interpolate", "animate", "info")) assertTrue(h.out().contains(c), h::toString);
  }

  @Test
  void infoWithoutACheckpointDescribesTheDefaultModel() {
    CliRunner.Result r = CliRunner.run("info", "--threads", CliRunner.THREADS);
    assertEquals(0, r.code(), r::toString);
    assertTrue(r.out().contains("images:      1x28x28 from fashion-mnist"), r::toString);
  }
}
