package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.CpuCache;
import io.github.ddpm4j.train.Checkpoint;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole command line on a tiny model: train with checkpoints, resume, sample (grid and
 * single images, DDIM and ancestral), interpolate (training-set indices and image files),
 * animate (GIF and PNG strip), info. Images are 12x12, so a grid of k columns is {@code k * 14 + 2} wide.
 */
@ExtendWith(CliRunner.Threads.class)
class CliEndToEndTest {
  private static final int SIZE = 12;

  @TempDir static Path dir;
  private static Path run;
  private static Path checkpoint;
  private static CliRunner.Result trained;
  private static CliRunner.Result resumed;

  private static String[] trainArgs(Path data, Path out, int steps, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--data", data.toString(), "--output-dir", out.toString(), "--train-steps",
        Integer.toString(steps), "--limit", "64", "--batch-size", "8", "--image-size", Integer.toString(SIZE), "--base-channels", "8",
        "--groups", "4", "--channel-mults", "1,2", "--attention", "false,true", "--blocks", "1", "--timesteps", "50",
        "--warmup", "2", "--checkpoint-every", "3", "--sample-every", "3", "--samples", "4", "--sampling-steps", "5", "--flip",
        "--no-progress", "--threads", CliRunner.THREADS, "--seed", "3"));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @BeforeAll
  static void trainAndResume() throws IOException {
    Path data = dir.resolve("idx");
    IdxFiles.write(data.resolve("train-images-idx3-ubyte.gz"), 80, SIZE, SIZE);
    run = dir.resolve("run");
    checkpoint = run.resolve("checkpoint.pt");
    trained = CliRunner.ok(trainArgs(data, run, 6));
    resumed = CliRunner.ok(trainArgs(data, run, 10, "--resume"));
  }

  /**
   * Runs {@code command} on a trained checkpoint at the commands' thread count, and checks that it succeeds.
   *
   * @param command sample, interpolate, animate or info
   * @param model the checkpoint
   * @param args the command's other arguments
   * @return what it printed
   */
  private static CliRunner.Result ok(String command, Path model, String... args) {
    List<String> all = new ArrayList<>(List.of(command, "--checkpoint", model.toString()));
    all.addAll(List.of(args));
    all.addAll(List.of("--threads", CliRunner.THREADS));
    return CliRunner.ok(all.toArray(String[]::new));
  }

  private static BufferedImage image(Path file) throws IOException {
    assertTrue(Files.isRegularFile(file), file + " exists");
    BufferedImage img = ImageIO.read(file.toFile());
    assertTrue(img != null, file + " is an image");
    return img;
  }

  private static void assertSize(int width, int height, BufferedImage img) {
    assertEquals(width + "x" + height, img.getWidth() + "x" + img.getHeight());
  }

  private static int grid(int columns) {
    return columns * (SIZE + 2) + 2;
  }

  @Test
  void trainingWritesCheckpointLossAndSampleGrids() throws IOException {
    assertTrue(trained.out().contains("64 images 1x12x12"), trained::toString);
    assertTrue(trained.out().contains("after 6 steps"), trained::toString);
    assertTrue(trained.out().contains("wrote checkpoint.pt, loss.csv, loss.png, samples/step-*.png and samples.png into " + run),
        trained::toString);
    assertSize(grid(2), grid(2), image(run.resolve("samples/step-000003.png")));
    assertSize(grid(2), grid(2), image(run.resolve("samples/step-000006.png")));
    assertSize(900, 500, image(run.resolve("loss.png")));
  }

  @Test
  void resumingContinuesTheRunToTheNewStepCount() throws IOException {
    assertTrue(resumed.out().contains("resuming at step 6 of 10"), resumed::toString);
    assertTrue(resumed.out().contains("after 10 steps"), resumed::toString);
    List<String> rows = Files.readAllLines(run.resolve("loss.csv"));
    assertEquals(11, rows.size());
    for (int s = 0; s < 10; s++) assertTrue(rows.get(s + 1).startsWith(s + ","), rows.get(s + 1));
    assertSize(grid(2), grid(2), image(run.resolve("samples/step-000009.png")));
    assertSize(grid(2), grid(2), image(run.resolve("samples/step-000010.png")));
    try (StateDict ck = Checkpoint.open(checkpoint)) {
      assertEquals(10, Checkpoint.meta(ck, "meta.step"));
      assertEquals(10, Checkpoint.config(ck).trainSteps());
    }
  }

  @Test
  void resumingWithAnotherLearningRateIsAUsageError() throws IOException {
    Path copy = Files.createDirectories(dir.resolve("copy"));
    Files.copy(checkpoint, copy.resolve("checkpoint.pt"));
    CliRunner.Result r = CliRunner.run(trainArgs(dir.resolve("idx"), copy, 12, "--resume", "--lr", "0.005"));
    assertEquals(2, r.code(), r::toString);
    assertTrue(r.err().contains("--lr: 0.002 vs 0.005"), r::toString);
  }

  @Test
  void sampleWritesAGridAndSingleImagesWithDdim() throws IOException {
    Path grid = dir.resolve("out/ddim.png");
    Path singles = dir.resolve("out/singles");
    CliRunner.Result r = ok("sample", checkpoint, "--count", "5", "--sampler", "ddim", "--sampling-steps", "5", "--out", grid.toString(),
        "--output-dir", singles.toString(), "--no-progress");
    assertTrue(r.out().contains("wrote 5 images into " + singles), r::toString);
    assertSize(grid(3), grid(2), image(grid));
    try (Stream<Path> files = Files.list(singles)) {
      assertEquals(List.of("sample-0000.png", "sample-0001.png", "sample-0002.png", "sample-0003.png", "sample-0004.png"),
          files.map(p -> p.getFileName().toString()).sorted().toList());
    }
    for (int i = 0; i < 5; i++) assertSize(SIZE, SIZE, image(singles.resolve("sample-000" + i + ".png")));
  }

  @Test
  void ddimWithTheSameSeedIsReproducible() throws IOException {
    Path a = dir.resolve("repro/a.png");
    Path b = dir.resolve("repro/b.png");
    for (Path p : List.of(a, b)) {
      ok("sample", checkpoint, "--count", "2", "--sampling-steps", "4", "--out", p.toString(), "--no-progress", "--seed", "11");
    }
    assertTrue(Arrays.equals(Files.readAllBytes(a), Files.readAllBytes(b)));
  }

  /** A checkpoint written before T was called timesteps has {@code "steps": 50} in its configuration. */
  @Test
  void aCheckpointWithTheOldConfigurationKeysStillLoads() throws IOException {
    Path old = Files.createDirectories(dir.resolve("old")).resolve("checkpoint.pt");
    try (StateDict full = StateDict.load(checkpoint)) {
      Map<String, io.github.ddpm4j.torch.Tensor> entries = new LinkedHashMap<>(full);
      JsonObject config = JsonParser.parseString(new String(full.get("meta.config").toByteArray(), StandardCharsets.UTF_8))
          .getAsJsonObject();
      config.add("steps", config.remove("timesteps"));
      byte[] json = config.toString().getBytes(StandardCharsets.UTF_8);
      entries.put("meta.config", io.github.ddpm4j.torch.Torch.tensor(json, json.length));
      StateDict.savePyTorch(entries, old);
    }
    assertTrue(new String(Files.readAllBytes(old), StandardCharsets.ISO_8859_1).contains("\"steps\":50"));
    CliRunner.Result info = ok("info", old);
    assertTrue(info.out().contains("T = 50"), info::toString);
    Path grid = dir.resolve("old/grid.png");
    ok("sample", old, "-n", "2", "--sampler", "ddim", "--sampling-steps", "50", "--out", grid.toString(), "--no-progress");
    assertSize(grid(2), grid(1), image(grid));
  }

  @Test
  void aVPredictionRunWithMinSnrSamplesWithDpmSolverFromItsCheckpoint() throws IOException {
    Path vRun = dir.resolve("v-run");
    CliRunner.Result t = CliRunner.ok(trainArgs(dir.resolve("idx"), vRun, 2, "--prediction-type", "v_prediction", "--loss-weighting",
        "min-snr", "--snr-gamma", "5", "--sampler", "dpm-solver++"));
    assertTrue(t.out().contains("after 2 steps"), t::toString);
    assertSize(grid(2), grid(2), image(vRun.resolve("samples.png")));
    Path grid = dir.resolve("out/dpm-solver.png");
    CliRunner.Result r = ok("sample", vRun.resolve("checkpoint.pt"), "-n", "3", "--sampler", "dpm-solver++", "--sampling-steps", "8",
        "--out", grid.toString(), "--no-progress");
    assertTrue(r.out().contains("wrote " + grid), r::toString);
    assertSize(grid(2), grid(2), image(grid));
    Path logSnr = dir.resolve("out/dpm-solver-logsnr.png");
    ok("sample", vRun.resolve("checkpoint.pt"), "-n", "3", "--sampler", "dpm-solver++", "--sampling-steps", "8", "--timestep-spacing",
        "logsnr", "--out", logSnr.toString(), "--no-progress");
    assertSize(grid(2), grid(2), image(logSnr));
    assertFalse(Arrays.equals(Files.readAllBytes(grid), Files.readAllBytes(logSnr)), "another spacing gives other images");
  }

  @Test
  void sampleWithTheAncestralSampler() throws IOException {
    Path grid = dir.resolve("out/ancestral.png");
    CliRunner.Result r = ok("sample", checkpoint, "-n", "2", "--sampler", "ancestral", "--out", grid.toString(), "--no-progress");
    assertTrue(r.out().contains("wrote " + grid), r::toString);
    assertSize(grid(2), grid(1), image(grid));
  }

  @Test
  void interpolateBetweenTrainingImages() throws IOException {
    Path strip = dir.resolve("out/interp-indices.png");
    CliRunner.Result r = ok("interpolate", checkpoint, "--indices", "0,5", "--t", "10", "--frames", "3", "--out", strip.toString());
    assertTrue(r.out().contains("wrote 3 images from lambda = 0 to 1 into " + strip), r::toString);
    assertSize(grid(3), grid(1), image(strip));
  }

  /** Without --t, the images are noised to T / 2 = 25 (the default of 500 suits only T = 1000). */
  @Test
  void interpolateBetweenImageFiles() throws IOException {
    Path a = dir.resolve("pics/a.png");
    Path b = dir.resolve("pics/b.png");
    Files.createDirectories(a.getParent());
    BufferedImage big = new BufferedImage(30, 20, BufferedImage.TYPE_INT_RGB);
    big.setRGB(15, 10, 0xffffff);
    ImageIO.write(big, "png", a.toFile());
    ImageIO.write(new BufferedImage(SIZE, SIZE, BufferedImage.TYPE_BYTE_GRAY), "png", b.toFile());
    Path strip = dir.resolve("out/interp-images.png");
    ok("interpolate", checkpoint, "--images", a + "," + b, "--frames", "4", "--out", strip.toString());
    assertSize(grid(4), grid(1), image(strip));
  }

  @Test
  void animateAsGif() throws IOException {
    Path gif = dir.resolve("out/trajectory.gif");
    CliRunner.Result r = ok("animate", checkpoint, "--count", "2", "--sampler", "ddim", "--every", "10", "--delay", "50", "--out", gif.toString());
    assertTrue(r.out().contains("wrote 5 frames"), r::toString);
    ImageReader reader = ImageIO.getImageReadersByFormatName("gif").next();
    try (ImageInputStream in = ImageIO.createImageInputStream(gif.toFile())) {
      reader.setInput(in);
      assertEquals(5, reader.getNumImages(true), "frames at t = 40, 30, 20, 10, 0");
      for (int f = 0; f < 5; f++) assertSize(grid(2), grid(1), reader.read(f));
    } finally {
      reader.dispose();
    }
    // The mode a plain write gives (umask applied), not the 0600 of a temporary file.
    Path plain = Files.createFile(dir.resolve("out/plain-" + System.nanoTime()));
    assertEquals(Files.getPosixFilePermissions(plain), Files.getPosixFilePermissions(gif));
  }

  @Test
  void animateAsPngStrip() throws IOException {
    Path png = dir.resolve("out/trajectory.png");
    CliRunner.Result r = ok("animate", checkpoint, "--count", "3", "--sampler", "ddim", "--every", "25", "--out", png.toString());
    assertTrue(r.out().contains("wrote 2 frames"), r::toString);
    assertSize(grid(2), grid(3), image(png));
  }

  @Test
  void infoDescribesTheCheckpoint() {
    CliRunner.Result r = ok("info", checkpoint);
    assertTrue(r.out().contains("threads:     " + CliRunner.THREADS), r::toString);
    assertTrue(r.out().contains("CPU cache:   " + (CpuCache.limit() == 0 ? "off" : "up to " + (CpuCache.limit() >> 20) + " MiB")),
        r::toString);
    assertTrue(r.out().contains("images:      1x12x12 from " + dir.resolve("idx")), r::toString);
    assertTrue(r.out().contains("linear schedule, T = 50"), r::toString);
    assertTrue(r.out().matches("(?s).*parameters:  [0-9,]+.*"), r::toString);
  }

  @Test
  void trainOnARawIdxFileResizedToTheModel() throws IOException {
    Path raw = IdxFiles.write(dir.resolve("raw/images-idx3-ubyte"), 16, 10, 10);
    Path out = dir.resolve("run-raw");
    CliRunner.Result r = CliRunner.ok("train", "--data", raw.toString(), "--output-dir", out.toString(), "--train-steps", "2", "--image-size", "8",
        "--batch-size", "8", "--base-channels", "8", "--groups", "4", "--channel-mults", "1,2", "--attention", "false,false",
        "--timesteps", "20", "--samples", "1", "--sample-every", "0", "--no-progress", "--threads", CliRunner.THREADS);
    assertTrue(r.out().contains("16 images 1x8x8"), r::toString);
    assertTrue(r.out().contains("resized to 8"), r::toString);
    assertSize(8 + 4, 8 + 4, image(out.resolve("samples.png")));
    try (Stream<Path> s = Files.list(out.resolve("samples"))) {
      assertEquals(0, s.count(), "--sample-every 0 draws no intermediate grids");
    }
  }
}
