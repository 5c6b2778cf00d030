package io.github.ddpm4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.TorchTestBase;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Class labels of the data sets: IDX label files, image-folder subfolders, and their batches. */
class DatasetLabelsTest extends TorchTestBase {
  @TempDir Path dir;

  /** @return an IDX label file's bytes: magic 0x801, the count, then one byte per label */
  static byte[] labelFile(int count, byte[] labels) {
    return ByteBuffer.allocate(8 + labels.length).putInt(IdxReader.LABELS_MAGIC).putInt(count).put(labels).array();
  }

  private static Path png(Path file, int value) throws IOException {
    Files.createDirectories(file.getParent());
    BufferedImage img = new BufferedImage(4, 4, BufferedImage.TYPE_BYTE_GRAY);
    for (int y = 0; y < 4; y++) for (int x = 0; x < 4; x++) img.getRaster().setSample(x, y, 0, value);
    assertTrue(ImageIO.write(img, "png", file.toFile()));
    return file;
  }

  @Test
  void fashionMnistTrainHas6000ImagesOfEachOfItsTenNamedClasses() throws IOException {
    assumeTrue(Files.isDirectory(Datasets.FASHION_MNIST), "Fashion-MNIST is not installed");
    try (ImageDataset ds = Datasets.open("fashion-mnist", 28, 1, 0)) {
      assertTrue(ds.hasLabels());
      assertEquals(10, ds.numClasses());
      assertEquals(List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
          ds.classNames());
      assertArrayEquals(new long[] {60000}, ds.labels().shape());
      long[] counts = new long[10];
      for (long l : ds.labels().toLongArray()) counts[(int) l]++;
      for (int k = 0; k < 10; k++) assertEquals(6000, counts[k], "images of class " + k);
    }
    assertEquals(10, Datasets.classNames("fashion-mnist").size());
  }

  @Test
  void idxLabelsFollowTheImagesAndTheirLimit() throws IOException {
    IdxFiles.write(dir.resolve("train-images-idx3-ubyte.gz"), 5, 2, 2);
    Files.write(dir.resolve("train-labels-idx1-ubyte.gz"), IdxFiles.gzip(labelFile(5, new byte[] {2, 0, 1, 2, 0})));
    try (ImageDataset ds = Datasets.open(dir.toString(), 2, 1, 3)) {
      assertArrayEquals(new long[] {2, 0, 1}, ds.labels().toLongArray());
      assertEquals(List.of("0", "1", "2"), ds.classNames());
    }
    // resized sets keep their labels
    try (ImageDataset ds = Datasets.open(dir.toString(), 4, 1, 0)) {
      assertArrayEquals(new long[] {2, 0, 1, 2, 0}, ds.labels().toLongArray());
    }
  }

  @Test
  void anIdxSetWithoutALabelFileHasNoLabels() throws IOException {
    IdxFiles.write(dir.resolve("train-images-idx3-ubyte"), 3, 2, 2);
    try (ImageDataset ds = Datasets.open(dir.toString(), 2, 1, 0)) {
      assertFalse(ds.hasLabels());
      assertEquals(0, ds.numClasses());
      assertThrows(IllegalStateException.class, ds::labels);
    }
    assertEquals(List.of(), Datasets.classNames(dir.toString()));
  }

  @Test
  void aLabelFileWithAnotherCountIsRefusedNamingBothFiles() throws IOException {
    Path images = IdxFiles.write(dir.resolve("train-images-idx3-ubyte"), 3, 2, 2);
    Path labels = Files.write(dir.resolve("train-labels-idx1-ubyte"), labelFile(2, new byte[] {0, 1}));
    DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(dir.toString(), 2, 1, 0));
    assertTrue(e.getMessage().contains(labels.toString()) && e.getMessage().contains(images.toString()), e.getMessage());
    assertTrue(e.getMessage().contains("2 labels") && e.getMessage().contains("3 images"), e.getMessage());
    assertThrows(DatasetException.class, () -> Datasets.classNames(dir.toString()));
  }

  @Test
  void aLabelFileWithAWrongMagicOrTooFewBytesIsRefused() throws IOException {
    IdxFiles.write(dir.resolve("train-images-idx3-ubyte"), 3, 2, 2);
    Path labels = dir.resolve("train-labels-idx1-ubyte");
    Files.write(labels, IdxFiles.bytes(IdxReader.IMAGES_MAGIC, 3, 1, 1, new byte[3]));
    DatasetException magic = assertThrows(DatasetException.class, () -> Datasets.open(dir.toString(), 2, 1, 0));
    assertTrue(magic.getMessage().contains("magic"), magic.getMessage());
    Files.write(labels, labelFile(3, new byte[] {0, 1}));
    DatasetException truncated = assertThrows(DatasetException.class, () -> Datasets.open(dir.toString(), 2, 1, 0));
    assertTrue(truncated.getMessage().contains("truncated"), truncated.getMessage());
  }

  @Test
  void anImageFolderWithTwoClassSubfoldersIsLabelledBySubfolder() throws IOException {
    png(dir.resolve("shoes/a.png"), 10);
    png(dir.resolve("shoes/deeper/b.png"), 20);
    png(dir.resolve("bags/c.png"), 30);
    try (ImageDataset ds = Datasets.open(dir.toString(), 4, 1, 0)) {
      assertEquals(List.of("bags", "shoes"), ds.classNames());
      // sorted paths: bags/c.png, shoes/a.png, shoes/deeper/b.png
      assertArrayEquals(new long[] {0, 1, 1}, ds.labels().toLongArray());
      assertEquals(30, Byte.toUnsignedInt(ds.pixels().narrow(0, 0, 1).contiguous().toByteArray()[0]), "labels aligned with the images");
    }
    assertEquals(List.of("bags", "shoes"), Datasets.classNames(dir.toString()));
  }

  @Test
  void anImageFolderWithAnImageInItsRootHasNoLabels() throws IOException {
    png(dir.resolve("shoes/a.png"), 10);
    png(dir.resolve("loose.png"), 20);
    try (ImageDataset ds = Datasets.open(dir.toString(), 4, 1, 0)) {
      assertFalse(ds.hasLabels());
      assertEquals(List.of(), ds.classNames());
    }
  }

  /** Image i of 10 is uniform with pixel 20 i and has label i mod 3: every batch's labels must match its images. */
  @Test
  void batchesCarryTheLabelsOfTheirImagesAlsoShardedAndResumed() throws IOException {
    int count = 10;
    byte[] px = new byte[count * 4];
    byte[] lab = new byte[count];
    for (int i = 0; i < count; i++) {
      for (int p = 0; p < 4; p++) px[i * 4 + p] = (byte) (20 * i);
      lab[i] = (byte) (i % 3);
    }
    Files.write(dir.resolve("train-images-idx3-ubyte"), IdxFiles.bytes(IdxReader.IMAGES_MAGIC, count, 2, 2, px));
    Files.write(dir.resolve("train-labels-idx1-ubyte"), labelFile(count, lab));
    try (ImageDataset ds = Datasets.open(dir.toString(), 2, 1, 0);
         DataLoader one = new DataLoader(ds, 4, true, Device.CPU, 5);
         DataLoader r0 = new DataLoader(ds, 4, true, Device.CPU, 5, 0, 2);
         DataLoader r1 = new DataLoader(ds, 4, true, Device.CPU, 5, 1, 2)) {
      for (int step = 0; step < 6; step++) {
        List<Long> whole = check(one.nextBatch());
        List<Long> a = check(r0.nextBatch());
        List<Long> b = check(r1.nextBatch());
        assertEquals(List.of(whole.get(0), whole.get(2)), a, "rank 0 takes positions 0, 2");
        assertEquals(List.of(whole.get(1), whole.get(3)), b, "rank 1 takes positions 1, 3");
      }
      // a loader restored from another's state gives the same labelled batches, and next() the same images
      try (DataLoader resumed = new DataLoader(ds, 4, true, Device.CPU, 99)) {
        resumed.restore(one.state());
        DataLoader.Batch expected = one.nextBatch();
        DataLoader.Batch got = resumed.nextBatch();
        assertArrayEquals(expected.labels().toLongArray(), got.labels().toLongArray());
        assertArrayEquals(expected.images().toFloatArray(), got.images().toFloatArray());
      }
    }
  }

  /** @return the image indices of a batch, after checking that each label is its image's (index mod 3) */
  private static List<Long> check(DataLoader.Batch batch) {
    float[] v = batch.images().toFloatArray();
    long[] labels = batch.labels().toLongArray();
    assertEquals(v.length / 4, labels.length);
    List<Long> indices = new ArrayList<>();
    for (int b = 0; b < labels.length; b++) {
      long i = Math.round((v[b * 4] + 1) * 127.5) / 20;
      assertEquals(i % 3, labels[b], "label of image " + i);
      indices.add(i);
    }
    return indices;
  }

  @Test
  void aDatasetWithoutLabelsGivesBatchesWithoutThem() throws IOException {
    IdxFiles.write(dir.resolve("train-images-idx3-ubyte"), 4, 2, 2);
    try (ImageDataset ds = Datasets.open(dir.toString(), 2, 1, 0); DataLoader loader = new DataLoader(ds, 2, false, Device.CPU, 1)) {
      DataLoader.Batch b = loader.nextBatch();
      assertEquals(null, b.labels());
      assertArrayEquals(new long[] {2, 1, 2, 2}, b.images().shape());
    }
  }
}
