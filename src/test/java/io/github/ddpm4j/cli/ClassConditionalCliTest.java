package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.data.IdxReader;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code train --class-conditional} and {@code sample --class/--guidance/--per-class} on a tiny 3-class model of 8x8
 * images; a grid of k columns of 8x8 images is {@code k * 10 + 2} pixels wide.
 */
@ExtendWith(CliRunner.Threads.class)
class ClassConditionalCliTest {
  @TempDir static Path dir;
  private static Path data;
  private static Path checkpoint;
  /** A checkpoint of an unconditional model written before class-conditional models existed. */
  private static Path unconditional;

  private static String[] trainArgs(Path data, Path out, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--data", data.toString(), "--output-dir", out.toString(), "--train-steps", "2",
        "--batch-size", "4", "--image-size", "8", "--base-channels", "8", "--groups", "4", "--channel-mults", "1,2", "--attention",
        "false,true", "--timesteps", "20", "--warmup", "1", "--samples", "1", "--sampling-steps", "2", "--no-progress", "--threads",
        CliRunner.THREADS, "--seed", "3"));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  private static String[] sampleArgs(Path model, String... more) {
    List<String> args = new ArrayList<>(List.of("sample", "--checkpoint", model.toString(), "--sampling-steps", "2", "--no-progress",
        "--threads", CliRunner.THREADS));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @BeforeAll
  static void trainAConditionalModel() throws IOException {
    data = dir.resolve("idx");
    IdxFiles.write(data.resolve("train-images-idx3-ubyte.gz"), 24, 8, 8);
    byte[] labels = new byte[24];
    for (int i = 0; i < 24; i++) labels[i] = (byte) (i % 3);
    Files.write(data.resolve("train-labels-idx1-ubyte.gz"),
        IdxFiles.gzip(ByteBuffer.allocate(32).putInt(IdxReader.LABELS_MAGIC).putInt(24).put(labels).array()));
    CliRunner.ok(trainArgs(data, dir.resolve("run"), "--class-conditional", "--p-uncond", "0.2"));
    checkpoint = dir.resolve("run/checkpoint.pt");
    unconditional = dir.resolve("unconditional.pt");
    try (InputStream in = ClassConditionalCliTest.class.getResourceAsStream("/fixtures/train/unconditional-b7627c3.pt")) {
      Files.copy(in, unconditional);
    }
  }

  private static BufferedImage png(Path file) throws IOException {
    BufferedImage img = ImageIO.read(file.toFile());
    assertTrue(img != null, file + " is a PNG");
    return img;
  }

  private static void fails(String expected, String... args) {
    CliRunner.Result r = CliRunner.run(args);
    assertNotEquals(0, r.code(), r.toString());
    assertTrue(r.err().contains(expected), "expected '" + expected + "' in\n" + r);
  }

  @Test
  void samplesOfAClassWithGuidanceAndAGridPerClass() throws IOException {
    Path one = dir.resolve("class1.png");
    CliRunner.ok(sampleArgs(checkpoint, "--class", "1", "--guidance", "2.5", "-n", "4", "--out", one.toString()));
    assertEquals(22, png(one).getWidth(), "2 columns");
    Path grid = dir.resolve("per-class.png");
    CliRunner.ok(sampleArgs(checkpoint, "--per-class", "2", "--out", grid.toString()));
    BufferedImage g = png(grid);
    assertEquals(22, g.getWidth(), "2 images per row");
    assertEquals(32, g.getHeight(), "one row per class: 3 rows");
    Path plain = dir.resolve("plain.png");
    CliRunner.ok(sampleArgs(checkpoint, "-n", "4", "--out", plain.toString()));
    assertEquals(22, png(plain).getWidth(), "without --class: unconditional samples");
    Path unguided = dir.resolve("w0.png");
    CliRunner.ok(sampleArgs(checkpoint, "--class", "1", "--guidance", "0", "-n", "4", "--out", unguided.toString()));
    assertArrayEquals(Files.readAllBytes(plain), Files.readAllBytes(unguided), "w = 0 is the unconditional model");
  }

  @Test
  void badClassOptionsAreRefused() {
    fails("--class 3 is not a class of this model; the valid classes are 0 (0), 1 (1), 2 (2)",
        sampleArgs(checkpoint, "--class", "3", "--out", dir.resolve("x.png").toString()));
    fails("the valid classes are", sampleArgs(checkpoint, "--class", "Sneaker", "--out", dir.resolve("x.png").toString()));
    fails("--guidance must be finite and >= 0", sampleArgs(checkpoint, "--class", "1", "--guidance", "-1"));
    fails("--guidance applies to --class or --per-class", sampleArgs(checkpoint, "--guidance", "2"));
    fails("--class and --per-class exclude each other", sampleArgs(checkpoint, "--class", "1", "--per-class", "2"));
    fails("--per-class must be >= 1", sampleArgs(checkpoint, "--per-class", "0"));
    fails("holds an unconditional one", sampleArgs(unconditional, "--class", "0", "--out", dir.resolve("x.png").toString()));
    fails("holds an unconditional one", sampleArgs(unconditional, "--per-class", "1", "--out", dir.resolve("x.png").toString()));
  }

  @Test
  void anOldUnconditionalCheckpointStillSamples() throws IOException {
    Path out = dir.resolve("old.png");
    CliRunner.ok(sampleArgs(unconditional, "-n", "1", "--out", out.toString()));
    assertEquals(12, png(out).getWidth());
  }

  @Test
  void classConditionalTrainingNeedsLabels() throws IOException {
    Path plain = dir.resolve("plain-idx");
    IdxFiles.write(plain.resolve("train-images-idx3-ubyte.gz"), 8, 8, 8);
    fails("--class-conditional needs a data set with class labels", trainArgs(plain, dir.resolve("run2"), "--class-conditional"));
  }

  @Test
  void classesAreNamedByIndexOrName() {
    Sampling.Conditioning byName = new Sampling.Conditioning("Sneaker", 3.0, 0);
    assertArrayEquals(new long[] {7}, byName.labels(Datasets.FASHION_MNIST_CLASSES));
    assertArrayEquals(new long[] {9}, new Sampling.Conditioning("9", 3.0, 0).labels(Datasets.FASHION_MNIST_CLASSES));
    assertArrayEquals(new long[] {0, 0, 1, 1, 2, 2}, new Sampling.Conditioning(null, 3.0, 2).labels(List.of("a", "b", "c")));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Sampling.Conditioning("Sandals", 3.0, 0).labels(Datasets.FASHION_MNIST_CLASSES));
    assertTrue(e.getMessage().contains("5 (Sandal)"), e.getMessage());
  }
}
