package io.github.ddpm4j.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataLoaderTest extends TorchTestBase {
  private static final int COUNT = 10;

  @TempDir Path dir;
  private ImageDataset data;

  /** Image i is the 2x2 picture [[20i, 20i+1], [20i+2, 20i+3]]: its index and orientation can be read back. */
  @BeforeEach
  void writeData() throws IOException {
    byte[] px = new byte[COUNT * 4];
    for (int i = 0; i < COUNT; i++) for (int p = 0; p < 4; p++) px[i * 4 + p] = (byte) (20 * i + p);
    Path f = Files.write(dir.resolve("d-idx3-ubyte"), IdxFiles.bytes(IdxReader.IMAGES_MAGIC, COUNT, 2, 2, px));
    data = IdxReader.readImages(f, 0);
  }

  @AfterEach
  void closeData() {
    data.close();
  }

  /** The images of a batch: the index, negated when the image is mirrored. */
  private static List<Integer> decode(Tensor batch) {
    assertEquals(DType.FLOAT32, batch.dtype());
    float[] v = batch.toFloatArray();
    List<Integer> out = new ArrayList<>();
    for (int b = 0; b < v.length / 4; b++) {
      int[] px = new int[4];
      for (int p = 0; p < 4; p++) px[p] = Math.round((v[b * 4 + p] + 1) * 127.5f);
      int i = Math.min(px[0], px[1]) / 20;
      int base = 20 * i;
      if (px[0] == base && px[1] == base + 1 && px[2] == base + 2 && px[3] == base + 3) {
        out.add(i);
      } else if (px[0] == base + 1 && px[1] == base && px[2] == base + 3 && px[3] == base + 2) {
        out.add(-i - 1);
      } else {
        throw new AssertionError("not an image of the set: " + java.util.Arrays.toString(px));
      }
    }
    return out;
  }

  private static List<List<Integer>> batches(DataLoader loader, int n) {
    List<List<Integer>> out = new ArrayList<>();
    for (int i = 0; i < n; i++) out.add(decode(loader.next()));
    return out;
  }

  @Test
  void everyImageAppearsOncePerEpoch() {
    try (DataLoader loader = new DataLoader(data, 5, false, Device.CPU, 3)) {
      for (int e = 0; e < 4; e++) {
        Set<Integer> seen = new HashSet<>();
        for (int b = 0; b < 2; b++) {
          Tensor batch = loader.next();
          assertArrayEquals(new long[] {5, 1, 2, 2}, batch.shape());
          for (int i : decode(batch)) assertTrue(seen.add(i), "image " + i + " twice in epoch " + e);
        }
        assertEquals(Set.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), seen);
      }
      assertEquals(3, loader.epoch());
    }
  }

  @Test
  void dropsTheIncompleteLastBatchAndReshuffles() {
    try (DataLoader loader = new DataLoader(data, 3, false, Device.CPU, 11)) {
      List<List<Integer>> orders = new ArrayList<>();
      for (int e = 0; e < 3; e++) {
        Set<Integer> seen = new HashSet<>();
        List<Integer> order = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
          for (int i : decode(loader.next())) {
            assertTrue(seen.add(i));
            order.add(i);
          }
        }
        assertEquals(9, seen.size());
        assertEquals(e, loader.epoch());
        assertEquals(9, loader.position());
        orders.add(order);
      }
      assertFalse(orders.get(0).equals(orders.get(1)) && orders.get(1).equals(orders.get(2)), "epochs are reshuffled");
    }
  }

  @Test
  void theSameSeedGivesTheSameBatches() {
    try (DataLoader a = new DataLoader(data, 4, true, Device.CPU, 5); DataLoader b = new DataLoader(data, 4, true, Device.CPU, 5);
         DataLoader c = new DataLoader(data, 4, true, Device.CPU, 6)) {
      List<List<Integer>> first = batches(a, 6);
      assertEquals(first, batches(b, 6));
      assertFalse(first.equals(batches(c, 6)));
    }
  }

  @Test
  void flipMirrorsAboutHalfTheImages() {
    int mirrored = 0, total = 0;
    try (DataLoader loader = new DataLoader(data, 5, true, Device.CPU, 1)) {
      for (List<Integer> batch : batches(loader, 40)) {
        for (int i : batch) {
          total++;
          if (i < 0) mirrored++;
        }
      }
    }
    assertEquals(200, total);
    assertTrue(mirrored > 70 && mirrored < 130, mirrored + " of 200 mirrored");
    try (DataLoader loader = new DataLoader(data, 5, false, Device.CPU, 1)) {
      for (List<Integer> batch : batches(loader, 10)) for (int i : batch) assertTrue(i >= 0);
    }
  }

  @Test
  void restoreContinuesWithTheSameBatches() {
    for (int taken : new int[] {0, 1, 2, 3, 5}) {
      try (DataLoader a = new DataLoader(data, 4, true, Device.CPU, 21); DataLoader b = new DataLoader(data, 4, true, Device.CPU, 99)) {
        batches(a, taken);
        DataLoader.State s = a.state();
        assertEquals(a.epoch(), s.epoch());
        List<List<Integer>> expected = batches(a, 7);
        b.restore(s);
        assertEquals(s.epoch(), b.epoch());
        assertEquals(expected, batches(b, 7), "after " + taken + " batches");
        assertEquals(a.epoch(), b.epoch());
        assertEquals(a.position(), b.position());
      }
    }
  }

  @Test
  void stateIsASnapshot() {
    try (DataLoader a = new DataLoader(data, 4, true, Device.CPU, 2); DataLoader b = new DataLoader(data, 4, true, Device.CPU, 2)) {
      batches(a, 1);
      DataLoader.State s = a.state();
      List<List<Integer>> expected = batches(a, 3);
      batches(a, 4);
      b.restore(s);
      assertEquals(expected, batches(b, 3));
    }
  }

  @Test
  void rejectsBadArguments() {
    IllegalArgumentException big = assertThrows(IllegalArgumentException.class, () -> new DataLoader(data, 11, false, Device.CPU, 0));
    assertTrue(big.getMessage().contains("batchSize = 11"), big.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new DataLoader(data, 0, false, Device.CPU, 0));
    try (DataLoader a = new DataLoader(data, 2, false, Device.CPU, 0)) {
      DataLoader.State s = a.state();
      assertThrows(IllegalArgumentException.class,
          () -> a.restore(new DataLoader.State(0, COUNT + 1, s.epochStart(), s.current())));
      assertThrows(IllegalArgumentException.class, () -> a.restore(new DataLoader.State(0, -1, s.epochStart(), s.current())));
    }
  }
}
