package io.github.ddpm4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.data.DatasetException;
import io.github.ddpm4j.data.IdxFiles;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The IDX label reader, and the trainer's checks of its settings and of its files. */
class LabelsTest extends TorchTestBase {
  @TempDir Path dir;

  @BeforeEach
  void open() {
    openScope();
  }

  @AfterEach
  void close() {
    closeScope();
  }

  private Path labels(String name, int magic, int count, int... values) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + values.length).putInt(magic).putInt(count);
    for (int v : values) b.put((byte) v);
    Path file = dir.resolve(name);
    Files.write(file, name.endsWith(".gz") ? IdxFiles.gzip(b.array()) : b.array());
    return file;
  }

  @Test
  void readsPlainAndGzippedLabels() throws IOException {
    assertArrayEquals(new long[] {3, 0, 9}, Labels.read(labels("a-labels-idx1-ubyte", 0x801, 3, 3, 0, 9), 0, 10).toLongArray());
    assertArrayEquals(new long[] {3, 0}, Labels.read(labels("b-labels-idx1-ubyte.gz", 0x801, 3, 3, 0, 9), 2, 10).toLongArray());
  }

  @Test
  void refusesCorruptFilesNamingThem() throws IOException {
    Path magic = labels("m", 0x803, 1, 1);
    DatasetException e = assertThrows(DatasetException.class, () -> Labels.read(magic, 0, 10));
    assertTrue(e.getMessage().contains("wrong magic number 0x00000803"), e.getMessage());
    Path shortFile = labels("s", 0x801, 5, 1, 2);
    e = assertThrows(DatasetException.class, () -> Labels.read(shortFile, 0, 10));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    Path range = labels("r", 0x801, 2, 1, 12);
    e = assertThrows(DatasetException.class, () -> Labels.read(range, 0, 10));
    assertTrue(e.getMessage().contains("label 12 of image 1 is not in 0..9"), e.getMessage());
    Path empty = labels("e", 0x801, 0);
    e = assertThrows(DatasetException.class, () -> Labels.read(empty, 0, 10));
    assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
    e = assertThrows(DatasetException.class, () -> Labels.read(dir.resolve("absent"), 0, 10));
    assertTrue(e.getMessage().contains("no such file"), e.getMessage());
    e = assertThrows(DatasetException.class, () -> Labels.file(dir, "t10k"));
    assertTrue(e.getMessage().contains("no t10k-labels-idx1-ubyte[.gz] file"), e.getMessage());
  }

  @Test
  void trainerRefusesBadSettingsAndMismatchedFiles() throws IOException {
    assertThrows(IllegalArgumentException.class, () -> new ClassifierTrainer(dir, 0, 8, 1e-3, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new ClassifierTrainer(dir, 1, 0, 1e-3, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new ClassifierTrainer(dir, 1, 8, 0, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> new ClassifierTrainer(dir, 1, 8, Double.NaN, 0, 0));
    IllegalArgumentException p = assertThrows(IllegalArgumentException.class, () -> new ClassifierTrainer(dir, 1, 8, 1e-3, 1, 0));
    assertEquals("dropout = 1.0 must be in [0, 1)", p.getMessage());
    IdxFiles.write(dir.resolve("train-images-idx3-ubyte.gz"), 4, 28, 28);
    labels("train-labels-idx1-ubyte", 0x801, 3, 0, 1, 2);
    DatasetException e = assertThrows(DatasetException.class, () -> new ClassifierTrainer(dir, 1, 2, 1e-3, 0, 0).train(
        io.github.ddpm4j.torch.Device.CPU, io.github.ddpm4j.diffusion.Progress.NONE));
    assertTrue(e.getMessage().contains("4 images but 3 labels"), e.getMessage());
    labels("train-labels-idx1-ubyte", 0x801, 4, 0, 1, 2, 3);
    IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> new ClassifierTrainer(dir, 1, 8, 1e-3, 0, 0).train(
        io.github.ddpm4j.torch.Device.CPU, io.github.ddpm4j.diffusion.Progress.NONE));
    assertTrue(big.getMessage().startsWith("batchSize = 8 must be at most the training set's size, 4"), big.getMessage());
  }

  @Test
  void anEvaluatorWithoutTrainImagesCannotCalibrateAndAReferenceMustBe28x28Grayscale() throws Exception {
    Path weights = dir.resolve("w.safetensors");
    try (FashionClassifier c = new FashionClassifier(0)) {
      ClassifierTrainer.save(c, 0.1, weights);
    }
    IdxFiles.write(dir.resolve("ref").resolve("images-idx3-ubyte"), 5, 28, 28);
    try (Evaluator ev = Evaluator.of(weights, dir.resolve("ref").resolve("images-idx3-ubyte").toString(), io.github.ddpm4j.torch.Device.CPU)) {
      assertEquals(5, ev.referenceSize());
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> ev.calibrate(4, 0));
      assertTrue(e.getMessage().startsWith("no real training images to compare with"), e.getMessage());
    }
    IdxFiles.write(dir.resolve("one").resolve("images-idx3-ubyte"), 1, 28, 28);
    IllegalArgumentException one = assertThrows(IllegalArgumentException.class,
        () -> Evaluator.of(weights, dir.resolve("one").resolve("images-idx3-ubyte").toString(), io.github.ddpm4j.torch.Device.CPU));
    assertTrue(one.getMessage().contains("at least 2 images"), one.getMessage());
  }
}
