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

  /** The shards of ranks 0..worldSize-1 of one loader each, batch by batch. */
  private List<List<List<Integer>>> shards(int batchSize, boolean flip, long seed, int worldSize, int n) {
    List<List<List<Integer>>> out = new ArrayList<>();
    for (int r = 0; r < worldSize; r++) {
      try (DataLoader loader = new DataLoader(data, batchSize, flip, Device.CPU, seed, r, worldSize)) {
        assertEquals(batchSize / worldSize, loader.shardSize());
        out.add(batches(loader, n));
      }
    }
    return out;
  }

  @Test
  void theRanksShardsOfAStepAreTheBatchOfOneProcessDealtOutLikeDistributedSampler() {
    for (int worldSize : new int[] {2, 3}) {
      int batchSize = 6;
      List<List<Integer>> whole;
      try (DataLoader one = new DataLoader(data, batchSize, true, Device.CPU, 17)) {
        whole = batches(one, 12); // 12 steps over 7 epochs of one 6-image batch each (4 images left over each time)
      }
      List<List<List<Integer>>> byRank = shards(batchSize, true, 17, worldSize, 12);
      for (int step = 0; step < 12; step++) {
        for (int r = 0; r < worldSize; r++) {
          List<Integer> expected = new ArrayList<>();
          for (int p = r; p < batchSize; p += worldSize) expected.add(whole.get(step).get(p)); // flips included
          assertEquals(expected, byRank.get(r).get(step), "rank " + r + " of " + worldSize + ", step " + step);
        }
      }
    }
  }

  @Test
  void everyRankHasTheSameStateAndAStateRestoresOnAnyWorldSize() {
    try (DataLoader r0 = new DataLoader(data, 4, true, Device.CPU, 8, 0, 2); DataLoader r1 = new DataLoader(data, 4, true, Device.CPU, 8, 1, 2);
         DataLoader one = new DataLoader(data, 4, true, Device.CPU, 8)) {
      batches(r0, 3);
      batches(r1, 3);
      batches(one, 3);
      DataLoader.State s0 = r0.state(), s1 = r1.state(), s = one.state();
      for (DataLoader.State other : List.of(s1, s)) {
        assertEquals(s0.epoch(), other.epoch());
        assertEquals(s0.position(), other.position());
        assertArrayEquals(s0.epochStart().toByteArray(), other.epochStart().toByteArray());
        assertArrayEquals(s0.current().toByteArray(), other.current().toByteArray());
      }
      List<List<Integer>> expected = batches(one, 5);
      // a two-process state resumed by one process, and by two
      try (DataLoader resumed = new DataLoader(data, 4, true, Device.CPU, 0)) {
        resumed.restore(s0);
        assertEquals(expected, batches(resumed, 5));
      }
      try (DataLoader a = new DataLoader(data, 4, true, Device.CPU, 0, 0, 2); DataLoader b = new DataLoader(data, 4, true, Device.CPU, 0, 1, 2)) {
        a.restore(s);
        b.restore(s);
        List<List<Integer>> left = batches(a, 5), right = batches(b, 5);
        for (int i = 0; i < 5; i++) {
          assertEquals(List.of(expected.get(i).get(0), expected.get(i).get(2)), left.get(i));
          assertEquals(List.of(expected.get(i).get(1), expected.get(i).get(3)), right.get(i));
        }
      }
    }
  }

  @Test
  void rejectsABatchThatDoesNotDivideAmongTheRanksAndRanksOutOfRange() {
    IllegalArgumentException odd = assertThrows(IllegalArgumentException.class, () -> new DataLoader(data, 5, false, Device.CPU, 0, 0, 2));
    assertTrue(odd.getMessage().contains("batchSize = 5 must be divisible by the number of processes (2)"), odd.getMessage());
    IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> new DataLoader(data, 4, false, Device.CPU, 0, 2, 2));
    assertTrue(rank.getMessage().contains("rank = 2 must be in 0..1"), rank.getMessage());
    assertThrows(IllegalArgumentException.class, () -> new DataLoader(data, 4, false, Device.CPU, 0, -1, 2));
    IllegalArgumentException world = assertThrows(IllegalArgumentException.class, () -> new DataLoader(data, 4, false, Device.CPU, 0, 0, 0));
    assertTrue(world.getMessage().contains("worldSize = 0 must be >= 1"), world.getMessage());
  }
}
