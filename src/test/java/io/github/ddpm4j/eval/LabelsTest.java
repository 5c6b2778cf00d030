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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The IDX label reader, and the trainer's checks of its settings and of its files. */
class LabelsTest extends TorchTestBase {
  @TempDir Path dir;



  private Path labels(String name, int magic, int count, int... values) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + values.length).putInt(magic).putInt(count);
    for (int v : values) b.put((byte) v);
    Path file = dir.resolve(name);
    Files.write(file, name.endsWith(".gz") ? IdxFiles.gzip(b.array()) : b.array());
    return file;
  }

  @Test
  void readsTheLabelsBesideTheImagesGzippedOrNot() throws IOException {
    IdxFiles.write(dir.resolve("a-images-idx3-ubyte.gz"), 3, 2, 2);
    labels("a-labels-idx1-ubyte", 0x801, 3, 3, 0, 9);
    assertArrayEquals(new long[] {3, 0, 9}, Labels.read(dir.resolve("a-images-idx3-ubyte.gz"), 10).toLongArray());
    IdxFiles.write(dir.resolve("b-images-idx3-ubyte"), 2, 2, 2);
    labels("b-labels-idx1-ubyte.gz", 0x801, 2, 1, 2);
    assertArrayEquals(new long[] {1, 2}, Labels.read(dir.resolve("b-images-idx3-ubyte"), 10).toLongArray());
  }

  @Test
  void refusesMissingOrOutOfRangeLabelsNamingTheFile() throws IOException {
    IdxFiles.write(dir.resolve("r-images-idx3-ubyte"), 2, 2, 2);
    labels("r-labels-idx1-ubyte", 0x801, 2, 1, 12);
    DatasetException e = assertThrows(DatasetException.class, () -> Labels.read(dir.resolve("r-images-idx3-ubyte"), 10));
    assertTrue(e.getMessage().contains("label 12 of image 1 is not in 0..9"), e.getMessage());
    IdxFiles.write(dir.resolve("n-images-idx3-ubyte"), 2, 2, 2);
    e = assertThrows(DatasetException.class, () -> Labels.read(dir.resolve("n-images-idx3-ubyte"), 10));
    assertTrue(e.getMessage().contains("no label file beside it (n-labels-idx1-ubyte, gzipped or not)"), e.getMessage());
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
    assertTrue(e.getMessage().contains("holds 3 labels but") && e.getMessage().contains("holds 4 images"), e.getMessage());
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
