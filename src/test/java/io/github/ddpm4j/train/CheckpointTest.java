package io.github.ddpm4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.data.DataLoader;
import io.github.ddpm4j.data.IdxReader;
import io.github.ddpm4j.data.ImageDataset;
import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.serialize.CorruptFileException;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.serialize.ZipRecords;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest extends TorchTestBase {
  @TempDir Path dir;
  private Path valid;
  private TrainConfig config;

  /** Writes a checkpoint of the tiny UNet at step 42, as the trainer would. */
  @BeforeEach
  void save() throws IOException {
    Path data = TrainFixtures.data(dir.resolve("data"));
    config = TrainFixtures.config(data, 100);
    valid = dir.resolve("checkpoint.pt");
    try (ImageDataset ds = IdxReader.readImages(IdxReader.trainImages(data), 0);
         DataLoader loader = new DataLoader(ds, 8, true, Device.CPU, 1);
         UNet model = new UNet(TrainFixtures.TINY); UNet ema = new UNet(TrainFixtures.TINY);
         Adam opt = new Adam(model.parameters(), 1e-3); Generator g = new Generator(3)) {
      loader.next();
      Checkpoint.save(new Checkpoint.State(config, 42, model, ema, opt.saveState(), Torch.getRngState(), g.getState(),
          loader.state(), null), valid);
    }
  }

  @Test
  void roundTripsEveryPart() throws IOException {
    try (StateDict ck = Checkpoint.open(valid); UNet fresh = new UNet(TrainFixtures.TINY)) {
      assertEquals(config, Checkpoint.config(ck));
      assertEquals(42, Checkpoint.meta(ck, "meta.step"));
      assertEquals(0, Checkpoint.meta(ck, "meta.loader_epoch"));
      assertEquals(8, Checkpoint.meta(ck, "meta.loader_position"));
      Map<String, Tensor> weights = Checkpoint.weights(ck, "ema.");
      assertEquals(fresh.stateDict().keySet(), weights.keySet());
      fresh.loadStateDict(weights, true);
      assertEquals(DType.UINT8, ck.get("optimizer").dtype());
      assertTrue(ck.get("optimizer").numel() > 0);
      assertThrows(IllegalArgumentException.class, () -> Checkpoint.meta(ck, "meta.nothing"));
      assertTrue(ck.get("rng.torch").numel() > 0);
    }
  }

  @Test
  void aCheckpointOfSeveralProcessesRecordsTheWorldSizeAndEveryRanksGenerator() throws IOException {
    try (StateDict ck = Checkpoint.open(valid)) {
      assertEquals(1, Checkpoint.meta(ck, "meta.world_size"));
    }
    try (Checkpoint.Contents c = Checkpoint.read(valid)) {
      assertEquals(1, c.worldSize());
      assertEquals(c.torchRng(), c.rankTorchRng(0));
      assertEquals(null, c.rankTorchRng(1));
    }
    Path three = dir.resolve("three.pt");
    try (UNet model = new UNet(TrainFixtures.TINY); UNet ema = new UNet(TrainFixtures.TINY); Adam opt = new Adam(model.parameters(), 1e-3);
         Generator g = new Generator(3); Generator g1 = new Generator(11); Generator g2 = new Generator(12);
         ImageDataset ds = IdxReader.readImages(IdxReader.trainImages(Path.of(config.data())), 0);
         DataLoader loader = new DataLoader(ds, 8, true, Device.CPU, 1)) {
      Tensor r1 = g1.getState(), r2 = g2.getState();
      assertThrows(IllegalArgumentException.class, () -> new Checkpoint.State(config, 5, model, ema, opt.saveState(), Torch.getRngState(),
          g.getState(), loader.state(), null, 3, List.of(r1)));
      Checkpoint.save(new Checkpoint.State(config, 5, model, ema, opt.saveState(), Torch.getRngState(), g.getState(), loader.state(), null, 3,
          List.of(r1, r2)), three);
      try (Checkpoint.Contents c = Checkpoint.read(three)) {
        assertEquals(3, c.worldSize());
        assertArrayEquals(r1.toByteArray(), c.rankTorchRng(1).toByteArray());
        assertArrayEquals(r2.toByteArray(), c.rankTorchRng(2).toByteArray());
        assertArrayEquals(c.entries().get("rng.torch.rank2").toByteArray(), r2.toByteArray());
      }
    }
  }

  private IOException rejects(Path file) {
    IOException e = assertThrows(IOException.class, () -> Checkpoint.open(file));
    assertTrue(e.getMessage().contains(file.toString()), () -> "the path is not in: " + e.getMessage());
    return e;
  }

  @Test
  void aMissingFileIsNamed() {
    Path missing = dir.resolve("nope.pt");
    IOException e = rejects(missing);
    assertTrue(e instanceof NoSuchFileException);
    assertEquals(missing + ": no such checkpoint file", e.getMessage());
  }

  @Test
  void aTruncatedFileIsRejected() throws IOException {
    byte[] all = Files.readAllBytes(valid);
    for (int keep : new int[] {all.length / 2, all.length - 30, 3}) {
      Path cut = Files.write(dir.resolve("cut-" + keep + ".pt"), Arrays.copyOf(all, keep));
      rejects(cut);
    }
  }

  @Test
  void garbageIsRejected() throws IOException {
    rejects(Files.writeString(dir.resolve("garbage.pt"), "this is not a checkpoint, just some text"));
    rejects(Files.write(dir.resolve("empty.pt"), new byte[0]));
    rejects(Files.createDirectories(dir.resolve("folder.pt")));
  }

  @Test
  void aPyTorchFileThatIsNoTrainingCheckpointIsRejected() throws IOException {
    Path weights = dir.resolve("weights.pt");
    StateDict.savePyTorch(Map.of("conv.weight", Torch.ones(2, 2)), weights);
    IOException e = rejects(weights);
    assertTrue(e.getMessage().contains("not a ddpm4j checkpoint (no 'meta.config' entry)"), e.getMessage());
    Path safetensors = dir.resolve("weights.safetensors");
    StateDict.saveSafetensors(Map.of("conv.weight", Torch.ones(2, 2)), safetensors);
    rejects(safetensors);
  }

  @Test
  void aFlippedBitInTheWeightsIsRejectedNamingTheRecord() throws IOException {
    String record = ZipRecords.holding(Files.readAllBytes(valid), TrainFixtures.largestEmaWeight(valid));
    ZipRecords.Flipped f = ZipRecords.flip(valid, dir.resolve("flipped.pt"), record, 6);
    IOException e = rejects(f.file());
    assertTrue(e.getMessage().startsWith(f.file() + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("'" + f.entry() + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("CRC-32 check failed"), e.getMessage());
    assertTrue(e.getCause() instanceof CorruptFileException, () -> "cause: " + e.getCause());
  }

  private Path rewritten(String name, String key, Tensor value) throws IOException {
    Path out = dir.resolve(name);
    try (StateDict ck = StateDict.load(valid)) {
      Map<String, Tensor> entries = new LinkedHashMap<>(ck);
      if (value == null) entries.remove(key);
      else entries.put(key, value);
      StateDict.savePyTorch(entries, out);
    }
    return out;
  }

  @Test
  void aCorruptConfigurationOrStepIsRejected() throws IOException {
    byte[] json = "{\"data\": \"x\", \"imageSize\": 3}".getBytes(StandardCharsets.UTF_8);
    Path config = rewritten("config.pt", "meta.config", Torch.tensor(json, json.length));
    IOException bad = rejects(config);
    assertEquals(config + ": invalid configuration: imageSize = 3 must be in 4..1024", bad.getMessage());
    rejects(rewritten("text.pt", "meta.config", Torch.tensor(new byte[] {'{', '{'}, 2)));
    rejects(rewritten("float-config.pt", "meta.config", Torch.ones(5)));
    rejects(rewritten("float-step.pt", "meta.step", Torch.ones(1)));
    rejects(rewritten("negative-step.pt", "meta.step", Torch.full(new long[0], -1, DType.INT64, Device.CPU)));
    IOException noStep = rejects(rewritten("no-step.pt", "meta.step", null));
    assertTrue(noStep.getMessage().contains("no 'meta.step' entry"), noStep.getMessage());
  }

  @Test
  void isAFlatDictOfTensorsForPython() throws IOException {
    try (StateDict ck = StateDict.loadPyTorch(valid)) {
      assertArrayEquals(new long[0], ck.get("meta.step").shape());
      assertEquals(DType.INT64, ck.get("meta.step").dtype());
      String json = new String(ck.get("meta.config").toByteArray(), StandardCharsets.UTF_8);
      assertEquals(config.toJson(), json);
    }
  }
}
