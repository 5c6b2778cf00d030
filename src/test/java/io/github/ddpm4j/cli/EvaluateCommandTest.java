package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.eval.Evaluator;
import io.github.ddpm4j.eval.FashionClassifier;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.train.TrainConfig;
import io.github.ddpm4j.train.TrainFixtures;
import io.github.ddpm4j.train.Trainer;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ddpm4j evaluate} and {@code ddpm4j train-classifier} on a tiny MNIST-style directory of 28x28
 * images (20 to train on, 16 to test on), a tiny 28x28 checkpoint after one step, and the shipped
 * classifier's weights as a {@code --feature-extractor}, so that no test reads all of Fashion-MNIST.
 */
@ExtendWith(CliRunner.Threads.class)
class EvaluateCommandTest {
  @TempDir static Path dir;
  private static Path data;
  private static Path ck;
  private static Path weights;

  @BeforeAll
  static void fixtures() throws IOException {
    data = dir.resolve("data");
    IdxFiles.write(data.resolve("train-images-idx3-ubyte.gz"), 20, 28, 28);
    IdxFiles.write(data.resolve("t10k-images-idx3-ubyte.gz"), 16, 28, 28);
    writeLabels(data.resolve("train-labels-idx1-ubyte"), 20);
    writeLabels(data.resolve("t10k-labels-idx1-ubyte"), 16);
    TrainConfig tiny = TrainFixtures.config(data, 1);
    TrainConfig at28 = new TrainConfig(tiny.data(), 28, tiny.limit(), tiny.flip(), tiny.model(), tiny.schedule(), tiny.timesteps(),
        tiny.betaStart(), tiny.betaEnd(), tiny.batchSize(), tiny.trainSteps(), tiny.lr(), tiny.warmupSteps(), tiny.gradClip(), tiny.emaDecay(),
        tiny.emaWarmup(), tiny.seed(), tiny.precision());
    Trainer t = new Trainer(at28, TrainFixtures.output(dir.resolve("run")), Device.CPU, new java.io.PrintWriter(new StringWriter(), true));
    t.run(Trainer.Mode.NEW);
    ck = t.checkpointFile();
    weights = dir.resolve("classifier.safetensors");
    try (InputStream in = Evaluator.class.getResourceAsStream(Evaluator.CLASSIFIER_RESOURCE)) {
      Files.copy(in, weights);
    }
  }

  /** Labels 0, 1, ..., 9, 0, 1, ... as an IDX label file. */
  private static void writeLabels(Path file, int count) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + count).putInt(0x00000801).putInt(count);
    for (int i = 0; i < count; i++) b.put((byte) (i % 10));
    Files.write(file, b.array());
  }

  private static Path pngs(String name, int count, int size, int type) throws IOException {
    Path folder = Files.createDirectories(dir.resolve(name));
    for (int i = 0; i < count; i++) {
      BufferedImage img = new BufferedImage(size, size, type);
      for (int y = 0; y < size; y++) for (int x = 0; x < size; x++) img.setRGB(x, y, ((x * 9 + y * 5 + i * 31) % 256) * 0x010101);
      ImageIO.write(img, "png", folder.resolve(String.format("img-%02d.png", i)).toFile());
    }
    return folder;
  }

  @Test
  void aMissingCheckpointIsAUsageErrorThatNamesTheAlternatives() {
    CliRunner.Result r = CliRunner.run("evaluate", "--checkpoint", dir.resolve("absent.pt").toString(), "-n", "4");
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().startsWith("ddpm4j evaluate: no checkpoint at " + dir.resolve("absent.pt") + ": give --checkpoint FILE"), r::toString);
    assertTrue(r.err().contains("--images DIR"), r::toString);
  }

  @Test
  void fewerThanTwoImagesIsAUsageError() {
    CliRunner.Result r = CliRunner.run("evaluate", "--checkpoint", ck.toString(), "-n", "1");
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().contains("--count=1 must be in 2..100000"), r::toString);
  }

  @Test
  void colorImagesWithoutAFeatureExtractorAreRefusedWithTheReason() throws IOException {
    Path rgb = pngs("rgb", 3, 32, BufferedImage.TYPE_INT_RGB);
    CliRunner.Result r = CliRunner.run("evaluate", "--images", rgb.toString());
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().contains("cannot score 32x32 color images"), r::toString);
    assertTrue(r.err().contains("only 28x28 grayscale garments"), r::toString);
    assertTrue(r.err().contains("--feature-extractor FILE"), r::toString);
  }

  @Test
  void optionsThatDoNotGoTogetherAreUsageErrors() throws IOException {
    Path gray = pngs("gray-conflict", 2, 28, BufferedImage.TYPE_BYTE_GRAY);
    CliRunner.Result both = CliRunner.run("evaluate", "--checkpoint", ck.toString(), "--images", gray.toString());
    assertEquals(2, both.code(), both::toString);
    assertTrue(both.err().contains("give --checkpoint or --images, not both"), both::toString);
    CliRunner.Result ref = CliRunner.run("evaluate", "--checkpoint", ck.toString(), "--reference", data.toString());
    assertEquals(2, ref.code(), ref::toString);
    assertTrue(ref.err().contains("--reference needs --feature-extractor"), ref::toString);
    CliRunner.Result json = CliRunner.run("evaluate", "--checkpoint", ck.toString(), "--json", dir.resolve("x.txt").toString());
    assertEquals(2, json.code(), json::toString);
    assertTrue(json.err().contains("--json must end in .json"), json::toString);
  }

  @Test
  void scoresSamplesOfACheckpointAndWritesJson() throws IOException {
    Path out = dir.resolve("scores.json");
    CliRunner.Result r = CliRunner.ok("evaluate", "--checkpoint", ck.toString(), "-n", "6", "--sampling-steps", "2",
        "--feature-extractor", weights.toString(), "--reference", data.toString(), "--json", out.toString(),
        "--threads", CliRunner.THREADS, "--no-progress");
    assertTrue(r.out().startsWith("images"), r::toString);
    assertTrue(r.out().contains("samples of " + ck.getFileName() + "       6 "), r::toString);
    assertTrue(r.out().contains("class histogram"), r::toString);
    assertTrue(r.out().matches("(?s).*\nddpm4j: scored 6 images: FID \\d+\\.\\d{3}, wrote " + java.util.regex.Pattern.quote(out.toString()) + "\n"),
        r::toString);
    JsonObject row = JsonParser.parseString(Files.readString(out)).getAsJsonObject().getAsJsonArray("results").get(0).getAsJsonObject();
    assertEquals(6, row.get("n").getAsInt());
    assertTrue(Double.isFinite(row.get("fid").getAsDouble()) && row.get("fid").getAsDouble() > 0, row::toString);
    assertTrue(Double.isFinite(row.get("kid_std_err").getAsDouble()), row::toString);
    long sum = 0;
    for (String name : FashionClassifier.CLASS_NAMES) sum += row.getAsJsonObject("class_counts").get(name).getAsLong();
    assertEquals(6, sum);
    assertEquals("", r.err(), r::toString);
  }

  /** {@code train --eval-every} scores the run's samples with the shipped evaluator against Fashion-MNIST's test set. */
  @Test
  void trainEvaluatesItsSamplesEveryKSteps() throws IOException {
    Path run = dir.resolve("evaluated-run");
    CliRunner.Result r = CliRunner.ok("train", "--data", data.toString(), "--output-dir", run.toString(), "--train-steps", "2",
        "--batch-size", "4", "--base-channels", "8", "--channel-mults", "1,2", "--attention", "false,false", "--groups", "4",
        "--timesteps", "20", "--sampling-steps", "2", "--samples", "4", "--eval-every", "1", "--eval-samples", "5",
        "--threads", CliRunner.THREADS, "--no-progress");
    List<String> rows = Files.readAllLines(run.resolve("eval.csv"));
    assertEquals("step,train_seconds,fid,kid,kid_std_err", rows.getFirst(), r::toString);
    assertEquals(3, rows.size(), rows::toString);
    for (String row : rows.subList(1, 3)) {
      double fid = Double.parseDouble(row.split(",")[2]);
      assertTrue(Double.isFinite(fid) && fid > 0, row);
    }
    assertTrue(r.out().contains("FID"), r::toString);
  }

  /**
   * {@code --guidance-scales} samples a class-conditional checkpoint's classes in turn at each scale and reports how
   * often the classifier agrees with the requested class: the share of images whose prediction equals their class.
   */
  @Test
  void guidanceScalesReportTheClassAgreementOfAConditionalCheckpoint() throws IOException {
    Path run = dir.resolve("conditional-run");
    CliRunner.ok("train", "--data", data.toString(), "--output-dir", run.toString(), "--train-steps", "1", "--batch-size", "4",
        "--base-channels", "8", "--channel-mults", "1,2", "--attention", "false,false", "--groups", "4", "--timesteps", "20",
        "--sampling-steps", "2", "--samples", "4", "--class-conditional", "--threads", CliRunner.THREADS, "--no-progress");
    Path out = dir.resolve("guided.json");
    CliRunner.Result r = CliRunner.ok("evaluate", "--checkpoint", run.resolve("checkpoint.pt").toString(), "-n", "12",
        "--sampling-steps", "2", "--guidance-scales", "0,3", "--json", out.toString(), "--threads", CliRunner.THREADS, "--no-progress");
    assertTrue(r.out().contains("class agreement"), r::toString);
    var results = JsonParser.parseString(Files.readString(out)).getAsJsonObject().getAsJsonArray("results");
    assertEquals(2, results.size());
    for (var e : results) {
      JsonObject row = e.getAsJsonObject();
      assertEquals(12, row.get("n").getAsInt());
      double agreement = row.get("class_agreement").getAsDouble();
      // a share of 12 images: a multiple of 1/12 in [0, 1]
      assertTrue(agreement >= 0 && agreement <= 1 && Math.abs(agreement * 12 - Math.rint(agreement * 12)) < 1e-9, row::toString);
    }
    assertTrue(r.out().contains("guidance 0.0") && r.out().contains("guidance 3.0"), r::toString);

    CliRunner.Result unconditional = CliRunner.run("evaluate", "--checkpoint", ck.toString(), "-n", "4", "--sampling-steps", "2",
        "--guidance-scales", "2", "--threads", CliRunner.THREADS, "--no-progress");
    assertEquals(2, unconditional.code(), unconditional::toString);
    assertTrue(unconditional.err().contains("--guidance-scales needs a class-conditional model"), unconditional::toString);
    CliRunner.Result negative = CliRunner.run("evaluate", "--checkpoint", ck.toString(), "--guidance-scales", "-1", "--no-progress");
    assertTrue(negative.err().contains("--guidance-scales: -1.0 must be finite and >= 0"), negative::toString);
  }

  @Test
  void scoresAFolderOfGrayscaleImages() throws IOException {
    Path gray = pngs("gray", 5, 28, BufferedImage.TYPE_BYTE_GRAY);
    CliRunner.Result r = CliRunner.ok("evaluate", "--images", gray.toString(), "--feature-extractor", weights.toString(),
        "--reference", data.toString(), "--threads", CliRunner.THREADS, "-q");
    assertTrue(r.out().contains(gray + "       5 "), r::toString);
    // a folder of 28x28 grayscale images needs no feature extractor, but scores against Fashion-MNIST then
  }

  @Test
  void calibrateScoresRealAndCorruptedImagesWithProgressOnStandardError() {
    CliRunner.Result mixed = CliRunner.run("evaluate", "--calibrate", "--checkpoint", ck.toString());
    assertEquals(2, mixed.code(), mixed::toString);
    assertTrue(mixed.err().contains("--calibrate scores real and corrupted images: it takes no --checkpoint or --images"), mixed::toString);
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(io.github.ddpm4j.data.Datasets.FASHION_MNIST), "Fashion-MNIST is not installed");
    CliRunner.Result r = CliRunner.ok("evaluate", "--calibrate", "-n", "40", "--threads", CliRunner.THREADS);
    for (String row : new String[] {"real train images", "real, 3x3 box blur", "real, 5x5 box blur", "real + noise sigma 0.1",
        "real + noise sigma 0.3", "uniform noise in [-1, 1]"}) {
      assertTrue(r.out().contains(row + " ".repeat(26 - row.length()) + "    40 "), () -> row + "\n" + r);
    }
    String[] bar = r.err().strip().split("\n");
    assertEquals(6, bar.length, r::toString); // one line a row: each is 16% or more of the work
    assertTrue(bar[5].startsWith("calibrate 100% [") && bar[5].contains("] 6/6 it"), r::toString);
    assertTrue(r.out().strip().endsWith("ddpm4j: calibrated at n = 40"), r::toString);
  }

  @Test
  void trainClassifierWritesWeightsTheEvaluatorLoads() throws IOException {
    Path out = dir.resolve("tiny-classifier.safetensors");
    CliRunner.Result r = CliRunner.ok("train-classifier", "--data", data.toString(), "--epochs", "1", "--batch-size", "8",
        "--out", out.toString(), "--threads", CliRunner.THREADS, "--no-progress");
    assertTrue(r.out().matches("(?s)test accuracy: \\d+\\.\\d\\d% \\(16 images\\), trained in \\d+ s\nddpm4j: wrote .*\n"), r::toString);
    try (FashionClassifier c = FashionClassifier.load(out, Device.CPU)) {
      assertEquals(FashionClassifier.CLASSES, c.stateDict().get("fc.bias").size(0));
    }
    CliRunner.Result bad = CliRunner.run("train-classifier", "--data", data.toString(), "--epochs", "0");
    assertEquals(2, bad.code(), bad::toString);
    assertTrue(bad.err().contains("--epochs=0 must be >= 1"), bad::toString);
    CliRunner.Result ext = CliRunner.run("train-classifier", "--data", data.toString(), "--out", dir.resolve("w.pt").toString());
    assertEquals(2, ext.code(), ext::toString);
    assertTrue(ext.err().contains("--out must end in .safetensors"), ext::toString);
    CliRunner.Result noLabels = CliRunner.run("train-classifier", "--data", dir.resolve("rgb-none").toString(), "--out", out.toString());
    assertEquals(1, noLabels.code(), noLabels::toString);
  }
}
