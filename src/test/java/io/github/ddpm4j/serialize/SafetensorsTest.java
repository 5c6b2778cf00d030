package io.github.ddpm4j.serialize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafetensorsTest extends TorchTestBase {
  @TempDir Path dir;

  /** A file assembled by hand from the specification: size prefix, header as given, then data. */
  static byte[] file(String header, byte[]... data) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
    out.writeBytes(h);
    for (byte[] d : data) out.writeBytes(d);
    return out.toByteArray();
  }

  static ByteBuffer le(int bytes) {
    return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  private Path write(byte[] bytes) throws IOException {
    Path p = Files.createTempFile(dir, "case", ".safetensors");
    Files.write(p, bytes);
    return p;
  }

  @Test
  void handBuiltFileOfEveryDtypeParses() throws IOException {
    String header = "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"hand made\"},"
        + "\"f64\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},"
        + "\"i64\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[16,24]},"
        + "\"f32\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[24,40]},"
        + "\"i32\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[40,44]},"
        + "\"f16\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[44,48]},"
        + "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[48,52]},"
        + "\"i16\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[52,54]},"
        + "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[54,56]},"
        + "\"u8\":{\"dtype\":\"U8\",\"shape\":[1,1],\"data_offsets\":[56,57]},"
        + "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[57,60]},"
        + "\"none\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[60,60]}}";
    header += " ".repeat((8 - header.length() % 8) % 8);
    byte[] data = le(60).putDouble(0.25).putDouble(-8) // f64
        .putLong(-(1L << 50)) // i64
        .putFloat(1).putFloat(2).putFloat(3).putFloat(-4) // f32
        .putInt(-123456) // i32
        .putShort((short) 0x3c00).putShort((short) 0xc000) // f16: 1.0, -2.0
        .putShort((short) 0x3fc0).putShort((short) 0x4480) // bf16: 1.5, 1024.0
        .putShort((short) -300) // i16
        .put((byte) -5).put((byte) 100) // i8
        .put((byte) 0xfe) // u8
        .put((byte) 1).put((byte) 0).put((byte) 1) // bool
        .array();
    try (StateDict sd = StateDict.loadSafetensors(write(file(header, data)))) {
      assertEquals(List.of("f64", "i64", "f32", "i32", "f16", "bf16", "i16", "i8", "u8", "mask", "none"), new ArrayList<>(sd.keySet()));
      assertEquals(Map.of("format", "pt", "note", "hand made"), sd.metadata());
      assertArrayEquals(new double[] {0.25, -8}, sd.get("f64").toDoubleArray());
      assertEquals(-(1L << 50), sd.get("i64").itemLong());
      assertEquals(0, sd.get("i64").dim());
      assertArrayEquals(new long[] {2, 2}, sd.get("f32").shape());
      assertArrayEquals(new float[] {1, 2, 3, -4}, sd.get("f32").toFloatArray());
      assertArrayEquals(new int[] {-123456}, sd.get("i32").toIntArray());
      assertEquals(DType.FLOAT16, sd.get("f16").dtype());
      assertArrayEquals(new double[] {1, -2}, doubles(sd.get("f16")));
      assertEquals(DType.BFLOAT16, sd.get("bf16").dtype());
      assertArrayEquals(new double[] {1.5, 1024}, doubles(sd.get("bf16")));
      assertArrayEquals(new double[] {-300}, doubles(sd.get("i16")));
      assertArrayEquals(new double[] {-5, 100}, doubles(sd.get("i8")));
      assertArrayEquals(new byte[] {(byte) 0xfe}, sd.get("u8").toByteArray());
      assertArrayEquals(new byte[] {1, 0, 1}, sd.get("mask").toByteArray());
      assertArrayEquals(new long[] {0, 5}, sd.get("none").shape());
    }
  }

  @Test
  void misalignedDataIsCopiedAndStillCorrect() throws IOException {
    // A 9-byte header puts the float data at file offset 17: not 4-aligned.
    String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    assertTrue((8 + header.length()) % 4 != 0);
    try (StateDict sd = StateDict.loadSafetensors(write(file(header, le(8).putFloat(7).putFloat(-1).array())))) {
      assertArrayEquals(new float[] {7, -1}, sd.get("a").toFloatArray());
      assertEquals(0, sd.get("a").data().address() % 4);
    }
  }

  /** The format has no checksum (unlike PyTorch's zip records), as StateDict.loadSafetensors documents. */
  @Test
  void aFlippedBitInTheDataLoadsUndetected() throws IOException {
    String header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    byte[] bytes = file(header, le(8).putFloat(1).putFloat(2).array());
    bytes[bytes.length - 1] ^= 0x01; // the top byte of 2.0f (0x40000000)
    try (StateDict sd = StateDict.loadSafetensors(write(bytes))) {
      assertArrayEquals(new float[] {1, Float.intBitsToFloat(0x41000000)}, sd.get("a").toFloatArray());
    }
  }

  @Test
  void tensorsAreViewsOfTheMappedFile() throws IOException {
    Path p = dir.resolve("m.safetensors");
    StateDict.saveSafetensors(Map.of("w", Torch.randn(8, 8), "b", Torch.arange(5)), p);
    try (StateDict sd = StateDict.loadSafetensors(p)) {
      assertTrue(sd.isMemoryMapped());
      MemorySegment region = sd.region();
      for (Tensor t : sd.values()) {
        MemorySegment d = t.data();
        assertTrue(d.address() >= region.address() && d.address() + d.byteSize() <= region.address() + region.byteSize());
      }
    }
  }

  /** The exact bytes that the specification prescribes for these tensors, assembled by hand. */
  @Test
  void writerOutputMatchesHandAssembledBytes() throws IOException {
    LinkedHashMap<String, Tensor> tensors = new LinkedHashMap<>();
    tensors.put("mask", Torch.tensor(new boolean[] {true, false}, 2));
    tensors.put("w", Torch.tensor(new float[] {1, 2, 3, 4}, 2, 2));
    tensors.put("idx", Torch.tensor(new long[] {5, -1, 1L << 40}, 3));
    tensors.put("h", Torch.tensor(new float[] {0.5f}, 1).to(DType.FLOAT16));
    tensors.put("q\"uote\n", Torch.scalarTensor(2).to(DType.FLOAT64));
    LinkedHashMap<String, String> metadata = new LinkedHashMap<>();
    metadata.put("format", "pt");
    metadata.put("tab", "a\tb");
    Path p = dir.resolve("w.safetensors");
    StateDict.saveSafetensors(tensors, metadata, p);

    // Largest elements first (I64 and F64 in given order, then F32, F16, BOOL), offsets back to back.
    String json = "{\"__metadata__\":{\"format\":\"pt\",\"tab\":\"a\\tb\"},"
        + "\"idx\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
        + "\"q\\\"uote\\n\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[24,32]},"
        + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[32,48]},"
        + "\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[48,50]},"
        + "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[50,52]}}";
    int padding = (8 - json.length() % 8) % 8;
    byte[] data = le(52).putLong(5).putLong(-1).putLong(1L << 40).putDouble(2)
        .putFloat(1).putFloat(2).putFloat(3).putFloat(4).putShort((short) 0x3800).put((byte) 1).put((byte) 0).array();
    byte[] expected = file(json + " ".repeat(padding), data);
    assertArrayEquals(expected, Files.readAllBytes(p));
    assertEquals(0, (expected.length - 52) % 8, "data starts at a multiple of 8");
  }

  @Test
  void writerWithoutMetadataAndWithNoTensors() throws IOException {
    Path p = dir.resolve("e.safetensors");
    StateDict.saveSafetensors(Map.of(), p);
    assertArrayEquals(file("{}      "), Files.readAllBytes(p));
    try (StateDict sd = StateDict.loadSafetensors(p)) {
      assertTrue(sd.isEmpty());
      assertTrue(sd.metadata().isEmpty());
    }
  }

  @Test
  void roundTripOfEveryDtypeViewsScalarsAndEmptyTensors() throws IOException {
    LinkedHashMap<String, Tensor> m = new LinkedHashMap<>();
    Tensor base = Torch.randn(3, 5);
    m.put("transposed", base.transpose(0, 1));
    m.put("sliced", base.slice(1, 1, 4, 2));
    for (DType d : DType.values()) m.put(d.name().toLowerCase(Locale.ROOT), Torch.arange(-3, 3, 1, DType.FLOAT32, Device.CPU).to(d));
    m.put("scalar", Torch.scalarTensor(4.5));
    m.put("empty", Torch.zeros(new long[] {2, 0, 3}, DType.INT32, Device.CPU));
    Map<String, String> meta = Map.of("epoch", "3");
    Path p = dir.resolve("rt.safetensors");
    StateDict.saveSafetensors(m, meta, p);
    try (StateDict back = StateDict.loadSafetensors(p)) {
      assertEquals(m.keySet(), back.keySet());
      assertEquals(meta, back.metadata());
      List<String> order = new ArrayList<>(back.keySet());
      for (int i = 1; i < order.size(); i++) {
        assertTrue(back.get(order.get(i - 1)).dtype().elementSize() >= back.get(order.get(i)).dtype().elementSize(), "largest elements first");
      }
      for (Map.Entry<String, Tensor> e : m.entrySet()) {
        Tensor t = back.get(e.getKey());
        assertEquals(e.getValue().dtype(), t.dtype(), e.getKey());
        assertArrayEquals(e.getValue().shape(), t.shape(), e.getKey());
        assertTrue(t.equal(e.getValue()), e.getKey());
      }
    }
  }

  @Test
  void writingRejectsReservedAndNullNames() {
    Path p = dir.resolve("x.safetensors");
    assertThrows(IllegalArgumentException.class, () -> StateDict.saveSafetensors(Map.of("__metadata__", Torch.ones(1)), p));
    LinkedHashMap<String, Tensor> nullValue = new LinkedHashMap<>();
    nullValue.put("a", null);
    assertThrows(IllegalArgumentException.class, () -> StateDict.saveSafetensors(nullValue, p));
    Tensor closed = Torch.ones(1);
    closed.close();
    assertThrows(IllegalStateException.class, () -> StateDict.saveSafetensors(Map.of("a", closed), p));
    assertFalse(Files.exists(p));
  }

  private String rejection(byte[] bytes) throws IOException {
    Path p = write(bytes);
    CorruptFileException e = assertThrows(CorruptFileException.class, () -> StateDict.loadSafetensors(p).close());
    assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
    return e.getMessage();
  }

  private static String one(String dtype, String shape, String offsets) {
    return "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + offsets + "}}";
  }

  @Test
  void everyRuleOfTheFormatIsEnforced() throws IOException {
    byte[] four = new byte[4];
    assertTrue(rejection(new byte[0]).contains("too short"));
    assertTrue(rejection(new byte[5]).contains("too short"));
    byte[] huge = le(8).putLong(Long.MAX_VALUE).array();
    assertTrue(rejection(huge).contains("only 0 follow"));
    byte[] negative = le(16).putLong(-8).putLong(0).array();
    assertTrue(rejection(negative).contains("18446744073709551608"));
    assertTrue(rejection(file("[]")).contains("start with '{'"));
    assertTrue(rejection(file("{\"t\":")).contains("not valid JSON"));
    assertTrue(rejection(file("{} x")).contains("not valid JSON"));
    assertTrue(rejection(file("{'t':1}")).contains("not valid JSON"));
    byte[] badUtf8 = file("{\"\u00e9\":1}");
    badUtf8[10] = (byte) 0xff;
    assertTrue(rejection(badUtf8).contains("UTF-8"));
    assertTrue(rejection(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        new byte[8])).contains("twice"));
    assertTrue(rejection(file(one("F33", "[1]", "[0,4]"), four)).contains("unknown dtype"));
    assertTrue(rejection(file(one("U16", "[2]", "[0,4]"), four)).contains("does not support"));
    assertTrue(rejection(file(one("F32", "[-1]", "[0,4]"), four)).contains("not an integer"));
    assertTrue(rejection(file(one("F32", "[1.0]", "[0,4]"), four)).contains("not an integer"));
    assertTrue(rejection(file(one("F32", "[\"1\"]", "[0,4]"), four)).contains("not a number"));
    assertTrue(rejection(file(one("F32", "[2]", "[0,4]"), four)).contains("needs 8 bytes"));
    assertTrue(rejection(file(one("F32", "[1]", "[0,4,8]"), four)).contains("instead of 2"));
    assertTrue(rejection(file(one("F32", "[1]", "[4,0]"), four)).contains("before it begins"));
    assertTrue(rejection(file(one("F32", "[1]", "[4,8]"), new byte[8])).contains("hole"));
    assertTrue(rejection(file(one("F32", "[1]", "[0,4]"), new byte[8])).contains("trailing"));
    assertTrue(rejection(file(one("F32", "[1]", "[0,4]"), new byte[2])).contains("truncated"));
    assertTrue(rejection(file(one("F32", "[4294967296,4294967296]", "[0,4]"), four)).contains("overflows"));
    assertTrue(rejection(file(one("F32", "[99999999999999999999]", "[0,4]"), four)).contains("not an integer"));
    assertTrue(rejection(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8])).contains("overlapping"));
    assertTrue(rejection(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1]}}", four)).contains("lacks"));
    assertTrue(rejection(file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", four)).contains("unknown field"));
    assertTrue(rejection(file("{\"__metadata__\":{\"k\":1}}")).contains("not a string"));
    assertTrue(rejection(file("{\"__metadata__\":{\"k\":\"a\",\"k\":\"b\"}}")).contains("twice"));
    assertTrue(rejection(file(one("BOOL", "[2]", "[0,2]"), new byte[] {1, 2})).contains("bool"));
    assertTrue(rejection(file(one("F32", "[" + "1,".repeat(70) + "1]", "[0,4]"), four)).contains("dimensions"));
  }

  @Test
  void paddingAndNullMetadataAreAccepted() throws IOException {
    String header = "{\"__metadata__\":null,\"t\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}   \n ";
    try (StateDict sd = StateDict.loadSafetensors(write(file(header, le(4).putInt(42).array())))) {
      assertArrayEquals(new int[] {42}, sd.get("t").toIntArray());
      assertTrue(sd.metadata().isEmpty());
    }
  }
}
