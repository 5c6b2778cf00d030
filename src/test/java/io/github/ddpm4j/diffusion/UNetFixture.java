package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The PyTorch U-Net fixture of {@code src/test/python/make_unet_fixture.py}: a JSON index over float32 data. */
final class UNetFixture {
  final JsonObject index;
  private final FloatBuffer data;

  private UNetFixture(JsonObject index, FloatBuffer data) {
    this.index = index;
    this.data = data;
  }

  static UNetFixture load() {
    JsonObject index = TorchTestBase.fixtureJson("diffusion/unet.json").getAsJsonObject();
    byte[] data = TorchTestBase.fixtureBytes("diffusion/unet.bin");
    return new UNetFixture(index, ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer());
  }

  /** @return a new float32 CPU tensor holding the named entry */
  Tensor tensor(String name) {
    JsonObject entry = index.getAsJsonObject("tensors").getAsJsonObject(name);
    assertNotNull(entry, "fixture has no tensor " + name);
    JsonArray s = entry.getAsJsonArray("shape");
    long[] shape = new long[s.size()];
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      shape[i] = s.get(i).getAsLong();
      count *= shape[i];
    }
    float[] values = new float[(int) count];
    data.get(entry.get("offset").getAsInt(), values);
    return Torch.tensor(values, shape);
  }

  List<String> strings(String key) {
    List<String> out = new ArrayList<>();
    for (var e : index.getAsJsonArray(key)) out.add(e.getAsString());
    return out;
  }

  /** @return a new int64 CPU tensor holding the timesteps the reference outputs were computed at */
  Tensor timesteps() {
    JsonArray a = index.getAsJsonArray("t");
    long[] t = new long[a.size()];
    for (int i = 0; i < t.length; i++) t[i] = a.get(i).getAsLong();
    return Torch.tensor(t, t.length);
  }

  /** The state dict, in PyTorch's order; the caller owns the tensors. */
  Map<String, Tensor> stateDict() {
    Map<String, Tensor> out = new LinkedHashMap<>();
    for (String k : strings("state_keys")) out.put(k, tensor("state/" + k));
    return out;
  }

  /** @return a new network of the fixture's configuration that holds PyTorch's weights */
  UNet unet() {
    UNet unet = new UNet(config());
    try (Scope scope = Scope.open()) {
      Module.LoadResult r = unet.loadStateDict(stateDict(), true);
      assertTrue(r.missingKeys().isEmpty() && r.unexpectedKeys().isEmpty());
    }
    return unet;
  }

  UNetConfig config() {
    JsonObject c = index.getAsJsonObject("config");
    JsonArray m = c.getAsJsonArray("ch_mults");
    JsonArray a = c.getAsJsonArray("is_attn");
    int[] mults = new int[m.size()];
    boolean[] attn = new boolean[a.size()];
    for (int i = 0; i < mults.length; i++) mults[i] = m.get(i).getAsInt();
    for (int i = 0; i < attn.length; i++) attn[i] = a.get(i).getAsBoolean();
    return UNetConfig.builder()
        .imageChannels(c.get("image_channels").getAsInt())
        .nChannels(c.get("n_channels").getAsInt())
        .chMults(mults)
        .isAttn(attn)
        .nBlocks(c.get("n_blocks").getAsInt())
        .dropout(c.get("dropout").getAsDouble())
        .nGroups(c.get("n_groups").getAsInt())
        .finalGroups(c.get("final_groups").getAsInt())
        .build();
  }
}
