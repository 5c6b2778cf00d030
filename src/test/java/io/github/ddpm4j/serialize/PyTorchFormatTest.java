package io.github.ddpm4j.serialize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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

class PyTorchFormatTest extends TorchTestBase {
  @TempDir Path dir;

  private Path fixture() throws IOException {
    Path p = dir.resolve("model.pt");
    Files.write(p, fixtureBytes("serialize/model.pt"));
    return p;
  }

  private static JsonArray expected() {
    return fixtureJson("serialize/model.json").getAsJsonArray();
  }

  private static long[] longs(JsonElement e) {
    JsonArray a = e.getAsJsonArray();
    long[] v = new long[a.size()];
    for (int i = 0; i < v.length; i++) v[i] = a.get(i).getAsLong();
    return v;
  }

  private static double[] values(JsonObject o) {
    JsonArray a = o.getAsJsonArray("values");
    double[] v = new double[a.size()];
    for (int i = 0; i < v.length; i++) v[i] = a.get(i).getAsDouble();
    return v;
  }

  private static DType dtype(String torchName) {
    return switch (torchName) {
      case "float32" -> DType.FLOAT32;
      case "float64" -> DType.FLOAT64;
      case "float16" -> DType.FLOAT16;
      case "bfloat16" -> DType.BFLOAT16;
      case "int64" -> DType.INT64;
      case "int32" -> DType.INT32;
      case "int16" -> DType.INT16;
      case "int8" -> DType.INT8;
      case "uint8" -> DType.UINT8;
      case "bool" -> DType.BOOL;
      default -> throw new IllegalArgumentException(torchName);
    };
  }

  @Test
  void loadsPythonStateDictWithEveryDtypeAndSharedStorageViews() throws IOException {
    JsonArray expected = expected();
    try (StateDict sd = StateDict.loadPyTorch(fixture())) {
      assertTrue(sd.isMemoryMapped());
      List<String> keys = new ArrayList<>();
      expected.forEach(e -> keys.add(e.getAsJsonObject().get("key").getAsString()));
      assertEquals(keys, new ArrayList<>(sd.keySet()), "file order");
      for (JsonElement e : expected) {
        JsonObject o = e.getAsJsonObject();
        String key = o.get("key").getAsString();
        Tensor t = sd.get(key);
        assertEquals(dtype(o.get("dtype").getAsString()), t.dtype(), key);
        assertArrayEquals(longs(o.get("shape")), t.shape(), key);
        assertArrayEquals(longs(o.get("stride")), t.stride(), key);
        assertArrayEquals(values(o), doubles(t), key);
        if (t.dtype() == DType.INT64) {
          long[] exact = new long[(int) t.numel()];
          JsonArray a = o.getAsJsonArray("values");
          for (int i = 0; i < exact.length; i++) exact[i] = a.get(i).getAsLong();
          assertArrayEquals(exact, t.contiguous().toLongArray(), key);
        }
      }
      assertEquals(0, sd.get("scalar").dim());
      assertEquals(0, sd.get("empty").numel());
      assertFalse(sd.get("lin_weight_t").isContiguous());
      assertFalse(sd.get("lin_weight_cols").isContiguous());
    }
  }

  private static boolean inside(MemorySegment region, MemorySegment data) {
    return data.address() >= region.address() && data.address() + data.byteSize() <= region.address() + region.byteSize();
  }

  @Test
  void tensorsAreViewsOfTheMappedFileAndShareStoragesAsSaved() throws IOException {
    Path file = fixture();
    byte[] before = Files.readAllBytes(file);
    try (StateDict sd = StateDict.loadPyTorch(file)) {
      MemorySegment region = sd.region();
      for (Map.Entry<String, Tensor> e : sd.entrySet()) {
        Tensor t = e.getValue();
        if (t.isContiguous() && t.numel() > 0) assertTrue(inside(region, t.data()), e.getKey() + " is a view of the mapping");
      }
      Tensor w = sd.get("lin.weight");
      Tensor row = sd.get("lin_weight_row");
      // lin_weight_row is w[1]: the same storage, one row (4 floats) further on.
      assertEquals(w.data().address() + 4 * 4, row.data().address());
      // lin_weight_t is w.t(): transposing it back gives w's own memory.
      assertEquals(w.data().address(), sd.get("lin_weight_t").transpose(0, 1).data().address());

      // In-place writes are seen by every view of the storage, and never reach the file.
      float[] original = w.toFloatArray();
      w.mul_(2.0);
      float[] doubled = w.toFloatArray();
      for (int i = 0; i < original.length; i++) assertEquals(original[i] * 2, doubled[i]);
      assertArrayEquals(w.transpose(0, 1).contiguous().toFloatArray(), sd.get("lin_weight_t").contiguous().toFloatArray());
      assertEquals(doubled[5], sd.get("lin_weight_row").toFloatArray()[1]);
    }
    assertArrayEquals(before, Files.readAllBytes(file), "the file is unchanged");
  }

  @Test
  void closeFreesTensorsAndMakesViewsFailCleanly() throws IOException {
    long live = Torch.liveHandles(Torch.HandleKind.TENSOR);
    StateDict sd = StateDict.loadPyTorch(fixture());
    Tensor w = sd.get("lin.weight");
    Tensor view;
    try (var keep = io.github.ddpm4j.torch.Scope.open()) {
      view = io.github.ddpm4j.torch.Scope.release(w.view(-1));
    }
    Tensor copy = io.github.ddpm4j.torch.Scope.release(w.clone());
    sd.close();
    sd.close();
    assertTrue(sd.isClosed());
    assertTrue(w.isClosed());
    assertFalse(sd.region().scope().isAlive(), "the file is unmapped");
    assertThrows(IllegalStateException.class, () -> sd.get("lin.weight"));
    assertThrows(IllegalStateException.class, sd::size);
    assertThrows(IllegalStateException.class, view::toFloatArray);
    assertEquals(12, copy.toFloatArray().length, "a clone owns its memory");
    view.close();
    copy.close();
    assertEquals(live, Torch.liveHandles(Torch.HandleKind.TENSOR));
  }

  /** Makes a file unwritable: by its mode, or, for root, whom modes do not stop, by the immutable attribute. */
  private static boolean makeUnwritable(Path file) throws InterruptedException {
    assertTrue(file.toFile().setWritable(false, false));
    if (!canOpenForWriting(file)) return true;
    return chattr("+i", file) && !canOpenForWriting(file);
  }

  private static boolean chattr(String change, Path file) throws InterruptedException {
    try {
      Process p = new ProcessBuilder("chattr", change, file.toString()).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor() == 0;
    } catch (IOException e) {
      return false; // no chattr here
    }
  }

  private static boolean canOpenForWriting(Path file) {
    try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void unwritableFilesAreReadInsteadOfMapped() throws Exception {
    Path file = fixture();
    try {
      org.junit.jupiter.api.Assumptions.assumeTrue(makeUnwritable(file), "cannot make a file unwritable here");
      try (StateDict sd = StateDict.loadPyTorch(file)) {
        assertFalse(sd.isMemoryMapped());
        assertEquals(expected().size(), sd.size());
        Tensor w = sd.get("lin.weight");
        float[] before = w.toFloatArray();
        w.add_(1.0); // the in-memory copy is writable too
        assertEquals(before[0] + 1, w.toFloatArray()[0]);
      }
    } finally {
      chattr("-i", file);
      file.toFile().setWritable(true, false);
    }
  }

  @Test
  void readIntoMemoryWhenTheFileCannotBeMapped() throws IOException {
    Path file = fixture();
    try (Arena arena = Arena.ofConfined()) {
      MappedFile read = MappedFile.read(file, arena);
      assertFalse(read.mapped);
      assertEquals(0, read.bytes.address() % 64);
      assertArrayEquals(Files.readAllBytes(file), read.bytes.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }
  }

  @Test
  void loadTellsTheFormatFromTheFile() throws IOException {
    try (StateDict sd = StateDict.load(fixture())) {
      assertEquals(expected().size(), sd.size());
    }
    Path st = dir.resolve("x.safetensors");
    StateDict.saveSafetensors(Map.of("a", Torch.ones(2)), st);
    try (StateDict sd = StateDict.load(st)) {
      assertArrayEquals(new float[] {1, 1}, sd.get("a").toFloatArray());
    }
    assertThrows(java.nio.file.NoSuchFileException.class, () -> StateDict.load(dir.resolve("missing.pt")));
    assertThrows(IOException.class, () -> StateDict.load(dir));
  }

  /** Tensors of every dtype, a transposed view, a sliced view with an offset, a 0-d and an empty tensor. */
  private static Map<String, Tensor> javaTensors() {
    LinkedHashMap<String, Tensor> m = new LinkedHashMap<>();
    Tensor base = Torch.arange(0, 12, 1, DType.FLOAT32, Device.CPU).reshape(3, 4).div(8);
    m.put("base", base);
    m.put("base_t", base.transpose(0, 1));
    m.put("base_row", base.select(0, 2));
    m.put("f64", Torch.linspace(-1, 1, 5, DType.FLOAT64, Device.CPU));
    m.put("f16", Torch.tensor(new float[] {0.5f, -2f, 1024f}, 3).to(DType.FLOAT16));
    m.put("bf16", Torch.tensor(new float[] {1.5f, -3f}, 2).to(DType.BFLOAT16));
    m.put("i64", Torch.tensor(new long[] {-(1L << 40), 7, 1L << 50}, 3));
    m.put("i32", Torch.tensor(new int[] {-3, 0, 3, 9}, 2, 2));
    m.put("i16", Torch.tensor(new int[] {-32768, 32767}, 2).to(DType.INT16));
    m.put("i8", Torch.tensor(new int[] {-128, 127}, 2).to(DType.INT8));
    m.put("u8", Torch.tensor(new byte[] {0, (byte) 200, (byte) 255}, 3));
    m.put("flags", Torch.tensor(new boolean[] {true, false, true}, 3));
    m.put("scalar", Torch.scalarTensor(-2.5));
    m.put("empty", Torch.zeros(0, 3));
    return m;
  }

  /** Python prints, per file and key: dtype, shape, stride and values. */
  private static final String DESCRIBE = String.join("\n",
      "import sys, json, torch",
      "for path in sys.argv[1:]:",
      "    sd = torch.load(path, weights_only=True)",
      "    assert type(sd).__name__ == 'OrderedDict', type(sd)",
      "    out = []",
      "    for k, t in sd.items():",
      "        f = t.contiguous().reshape(-1)",
      "        vals = [float(v) for v in f.to(torch.float64).tolist()] if (t.dtype.is_floating_point or t.dtype == torch.bool) else [int(v) for v in f.tolist()]",
      "        out.append({'key': k, 'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'stride': list(t.stride()), 'values': vals})",
      "    print('JSON' + json.dumps(out))");

  private static long[] contiguousStrides(long[] shape) {
    long[] s = new long[shape.length];
    long step = 1;
    for (int i = s.length - 1; i >= 0; i--) {
      s[i] = step;
      step *= Math.max(1, shape[i]);
    }
    return s;
  }

  /** Python reads Java's files, plain and zip64, with {@code weights_only=True}. */
  @Test
  void pythonReadsWhatJavaSaves() throws IOException {
    PythonTorch.assumeAvailable();
    Map<String, Tensor> tensors = javaTensors();
    Path file = dir.resolve("java.pt");
    Path zip64 = dir.resolve("java64.pt");
    StateDict.savePyTorch(tensors, file);
    PyTorchFormat.write(tensors, zip64, true);
    PythonTorch.Result r = PythonTorch.run(DESCRIBE, file.toString(), zip64.toString());
    assertEquals(0, r.exitCode(), r.output());
    String[] lines = r.output().lines().filter(l -> l.startsWith("JSON")).toArray(String[]::new);
    assertEquals(2, lines.length, r.output());
    assertEquals(lines[0], lines[1], "the zip64 file reads the same");
    JsonArray described = JsonParser.parseString(lines[0].substring(4)).getAsJsonArray();
    assertEquals(tensors.size(), described.size());
    int i = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      JsonObject o = described.get(i++).getAsJsonObject();
      assertEquals(e.getKey(), o.get("key").getAsString());
      Tensor t = e.getValue();
      assertEquals(t.dtype(), dtype(o.get("dtype").getAsString()), e.getKey());
      assertArrayEquals(t.shape(), longs(o.get("shape")), e.getKey());
      assertArrayEquals(contiguousStrides(t.shape()), longs(o.get("stride")), e.getKey() + ": each tensor is saved contiguous");
      assertArrayEquals(doubles(t), values(o), e.getKey());
    }
    // And Java reads its own file back.
    try (StateDict back = StateDict.loadPyTorch(file)) {
      assertEquals(new ArrayList<>(tensors.keySet()), new ArrayList<>(back.keySet()));
      for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
        assertTrue(back.get(e.getKey()).equal(e.getValue()), e.getKey());
        assertEquals(e.getValue().dtype(), back.get(e.getKey()).dtype(), e.getKey());
      }
    }
  }

  @Test
  void javaReadsItsOwnFileWithoutPython() throws IOException {
    Map<String, Tensor> tensors = javaTensors();
    Path file = dir.resolve("own.pt");
    StateDict.savePyTorch(tensors, file);
    StateDict.savePyTorch(tensors, file); // replaces the file
    try (StateDict back = StateDict.loadPyTorch(file)) {
      assertEquals(new ArrayList<>(tensors.keySet()), new ArrayList<>(back.keySet()));
      for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
        assertTrue(back.get(e.getKey()).equal(e.getValue()), e.getKey());
      }
    }
    try (var files = Files.list(dir)) {
      assertEquals(List.of(file), files.toList(), "no temporary file is left behind");
    }
  }

  @Test
  void pythonStateDictRoundTripsThroughAJavaComputation() throws IOException {
    PythonTorch.assumeAvailable();
    Path in = fixture();
    Path out = dir.resolve("computed.pt");
    try (StateDict sd = StateDict.loadPyTorch(in)) {
      LinkedHashMap<String, Tensor> computed = new LinkedHashMap<>();
      for (Map.Entry<String, Tensor> e : sd.entrySet()) {
        Tensor t = e.getValue();
        Tensor r;
        if (t.dtype().isFloatingPoint()) r = t.mul(2.0).add(1.0);
        else if (t.dtype() == DType.BOOL) r = t.logicalNot();
        else r = t.clone();
        computed.put(e.getKey(), r);
      }
      StateDict.savePyTorch(computed, out);
    }
    String check = String.join("\n",
        "import sys, os, torch",
        "sys.path.insert(0, sys.argv[3])",
        "from make_serialize_fixtures import Block",
        "orig = torch.load(sys.argv[1])",
        "got = torch.load(sys.argv[2])",
        "assert list(got.keys()) == list(orig.keys()), (list(got.keys()), list(orig.keys()))",
        "for k, t in orig.items():",
        "    want = t * 2 + 1 if t.dtype.is_floating_point else (t.logical_not() if t.dtype == torch.bool else t)",
        "    assert got[k].dtype == want.dtype, (k, got[k].dtype, want.dtype)",
        "    assert torch.equal(got[k], want), (k, got[k], want)",
        "m = Block()",
        "m.load_state_dict(got, strict=True)",
        "assert torch.equal(m.lin.bias, orig['lin.bias'] * 2 + 1)",
        "print('ROUNDTRIP OK')");
    Path scripts = Path.of("src/test/python").toAbsolutePath();
    PythonTorch.Result r = PythonTorch.run(check, in.toString(), out.toString(), scripts.toString());
    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains("ROUNDTRIP OK"), r.output());
  }

  @Test
  void filesOfLibTorchPickleSaveLoadWithSharedStorages() throws IOException {
    Tensor base = Torch.arange(0, 12, 1, DType.FLOAT32, Device.CPU).reshape(3, 4);
    LinkedHashMap<String, Tensor> m = new LinkedHashMap<>();
    m.put("base", base);
    m.put("t", base.transpose(0, 1));
    m.put("row", base.select(0, 2));
    Path file = dir.resolve("libtorch.pt");
    Files.write(file, io.github.ddpm4j.torch.Serialization.pickleSaveDict(m));
    try (StateDict sd = StateDict.loadPyTorch(file)) {
      assertEquals(List.of("base", "t", "row"), new ArrayList<>(sd.keySet()));
      for (String k : m.keySet()) {
        assertTrue(sd.get(k).equal(m.get(k)), k);
        assertArrayEquals(m.get(k).stride(), sd.get(k).stride(), k);
      }
      long at = sd.get("base").data().address();
      assertEquals(at, sd.get("t").transpose(0, 1).data().address());
      assertEquals(at + 8 * 4, sd.get("row").data().address());
    }
  }

  @Test
  void zip64ArchivesRoundTrip() throws IOException {
    Map<String, Tensor> tensors = javaTensors();
    Path file = dir.resolve("zip64.pt");
    PyTorchFormat.write(tensors, file, true);
    try (StateDict back = StateDict.loadPyTorch(file)) {
      assertTrue(back.isMemoryMapped());
      for (Map.Entry<String, Tensor> e : tensors.entrySet()) assertTrue(back.get(e.getKey()).equal(e.getValue()), e.getKey());
    }
  }

  @Test
  void writerAlignsEveryRecordTo64Bytes() throws IOException {
    Path file = dir.resolve("aligned.pt");
    StateDict.savePyTorch(javaTensors(), file);
    try (Arena arena = Arena.ofConfined()) {
      MappedFile f = MappedFile.read(file, arena);
      ZipArchive zip = ZipArchive.read(f.bytes, file.toString());
      assertEquals("archive/data.pkl", zip.entries().keySet().iterator().next());
      for (ZipArchive.Entry e : zip.entries().values()) {
        assertEquals(0, e.dataOffset() % 64, e.name());
        assertEquals(ZipArchive.STORED, e.method(), e.name());
      }
      assertTrue(zip.entries().containsKey("archive/version"));
      assertEquals("little", new String(zip.readChecked(zip.entries().get("archive/byteorder")), StandardCharsets.US_ASCII));
    }
  }

  // ------------------------------------------------------------------ rejections

  private Path write(byte[] bytes) throws IOException {
    Path p = Files.createTempFile(dir, "case", ".pt");
    Files.write(p, bytes);
    return p;
  }

  private static byte[] oneTensorPickle() {
    return new PickleBytes().proto(2).orderedDict().mark().str("w")
        .tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}).op('u').stop().bytes();
  }

  private static byte[] floats(float... v) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (float f : v) b.putFloat(f);
    return b.array();
  }

  @Test
  void handBuiltArchiveLoads() throws IOException {
    byte[] zip = TorchZip.archive(oneTensorPickle(), Map.of("0", floats(1.5f, -2f))).bytes();
    try (StateDict sd = StateDict.loadPyTorch(write(zip))) {
      assertArrayEquals(new float[] {1.5f, -2f}, sd.get("w").toFloatArray());
    }
  }

  @Test
  void misalignedStorageIsCopiedNotReadMisaligned() throws IOException {
    byte[] pickle = oneTensorPickle();
    // A storage placed at an odd offset: the reader must copy it to aligned memory.
    java.io.ByteArrayOutputStream zip = new java.io.ByteArrayOutputStream();
    try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(zip)) {
      for (var e : new LinkedHashMap<>(Map.of("archive/data.pkl", pickle)).entrySet()) storedEntry(z, e.getKey(), e.getValue());
      storedEntry(z, "archive/data/0", floats(3f, 4f));
      storedEntry(z, "archive/version", "3\n".getBytes(StandardCharsets.UTF_8));
    }
    try (StateDict sd = StateDict.loadPyTorch(write(zip.toByteArray()))) {
      assertArrayEquals(new float[] {3f, 4f}, sd.get("w").toFloatArray());
    }
  }

  private static void storedEntry(java.util.zip.ZipOutputStream z, String name, byte[] data) throws IOException {
    java.util.zip.ZipEntry e = new java.util.zip.ZipEntry(name);
    e.setMethod(java.util.zip.ZipEntry.STORED);
    e.setSize(data.length);
    java.util.zip.CRC32 crc = new java.util.zip.CRC32();
    crc.update(data);
    e.setCrc(crc.getValue());
    z.putNextEntry(e);
    z.write(data);
    z.closeEntry();
  }

  private static String rejection(Path p) {
    CorruptFileException e = assertThrows(CorruptFileException.class, () -> StateDict.loadPyTorch(p).close());
    assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
    return e.getMessage().toLowerCase(Locale.ROOT);
  }

  private static void assertCrcFailure(ZipRecords.Flipped f, IOException e) {
    assertTrue(e.getMessage().startsWith(f.file() + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("'" + f.entry() + "'"), e.getMessage());
    assertTrue(e.getMessage().contains("CRC-32 check failed"), e.getMessage());
  }

  @Test
  void aFlippedBitInTensorDataFailsItsRecordsCrc() throws IOException {
    Path own = dir.resolve("own.pt");
    StateDict.savePyTorch(javaTensors(), own);
    for (Path base : List.of(fixture(), own)) {
      for (int bit : new int[] {0, 7}) {
        ZipRecords.Flipped f = ZipRecords.flipInLargestStorage(base, dir.resolve("flipped-" + bit + "-" + base.getFileName()), bit);
        CorruptFileException e = assertThrows(CorruptFileException.class, () -> StateDict.loadPyTorch(f.file()).close());
        assertCrcFailure(f, e);
        assertCrcFailure(f, assertThrows(CorruptFileException.class, () -> StateDict.load(f.file()).close()));
      }
    }
  }

  @Test
  void theCrcOfARecordIsTheSameInChunks() {
    byte[] bytes = fixtureBytes("serialize/model.pt");
    java.util.zip.CRC32 whole = new java.util.zip.CRC32();
    whole.update(bytes);
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment offHeap = arena.allocate(bytes.length).copyFrom(MemorySegment.ofArray(bytes));
      for (long chunk : new long[] {1, 7, 64, bytes.length - 1, bytes.length, ZipArchive.CRC_CHUNK}) {
        assertEquals(whole.getValue(), ZipArchive.crc32(offHeap, chunk), "chunks of " + chunk);
      }
      assertEquals(0, ZipArchive.crc32(offHeap.asSlice(0, 0), ZipArchive.CRC_CHUNK));
    }
  }

  @Test
  void aFlippedBitIsCaughtAlsoWhenTheFileIsReadIntoMemory() throws Exception {
    ZipRecords.Flipped f = ZipRecords.flipInLargestStorage(fixture(), dir.resolve("flipped.pt"), 3);
    try {
      org.junit.jupiter.api.Assumptions.assumeTrue(makeUnwritable(f.file()), "cannot make a file unwritable here");
      assertCrcFailure(f, assertThrows(CorruptFileException.class, () -> StateDict.loadPyTorch(f.file()).close()));
    } finally {
      chattr("-i", f.file());
      f.file().toFile().setWritable(true, false);
    }
  }

  @Test
  void compressedStorageIsRejectedClearly() throws IOException {
    byte[] zip = TorchZip.archive(oneTensorPickle(), Map.of("0", floats(1f, 2f))).deflate(java.util.Set.of("archive/data/0")).bytes();
    assertTrue(rejection(write(zip)).contains("compressed"));
  }

  @Test
  void bigEndianDataIsRejected() throws IOException {
    byte[] zip = TorchZip.archive(oneTensorPickle(), Map.of("0", floats(1f, 2f))).put("archive/byteorder", "big").bytes();
    assertTrue(rejection(write(zip)).contains("big-endian"));
    byte[] little = TorchZip.archive(oneTensorPickle(), Map.of("0", floats(1f, 2f))).put("archive/byteorder", "little").bytes();
    try (StateDict sd = StateDict.loadPyTorch(write(little))) {
      assertEquals(1, sd.size());
    }
  }

  @Test
  void structuralProblemsAreNamed() throws IOException {
    assertTrue(rejection(write(new byte[0])).contains("too short"));
    assertTrue(rejection(write(floats(1, 2, 3, 4, 5, 6, 7))).contains("zip"));
    byte[] noStorage = TorchZip.archive(oneTensorPickle(), Map.of()).bytes();
    assertTrue(rejection(write(noStorage)).contains("lacks the record archive/data/0"));
    byte[] shortStorage = TorchZip.archive(oneTensorPickle(), Map.of("0", floats(1f))).bytes();
    assertTrue(rejection(write(shortStorage)).contains("should hold 2"));
    byte[] noVersion = new TorchZip().put("archive/data.pkl", oneTensorPickle()).put("archive/data/0", floats(1, 2)).bytes();
    assertTrue(rejection(write(noVersion)).contains("version"));
    byte[] badBool = TorchZip.archive(new PickleBytes().proto(2).orderedDict().mark().str("b")
        .tensor("BoolStorage", "0", 2, 0, new long[] {2}, new long[] {1}).op('u').stop().bytes(), Map.of("0", new byte[] {1, 7})).bytes();
    assertTrue(rejection(write(badBool)).contains("bool"));
    byte[] beyond = TorchZip.archive(new PickleBytes().proto(2).orderedDict().mark().str("w")
        .tensor("FloatStorage", "0", 2, 1, new long[] {2}, new long[] {1}).op('u').stop().bytes(), Map.of("0", floats(1, 2))).bytes();
    assertTrue(rejection(write(beyond)).contains("reaches past"));
    byte[] nested = TorchZip.archive(new PickleBytes().proto(2).op('}').str("model").op('}').op('s').stop().bytes(), Map.of()).bytes();
    assertTrue(rejection(write(nested)).contains("only flat state dicts"));
    byte[] gradInt = TorchZip.archive(new PickleBytes().proto(2).op('}').str("i")
        .global("torch._utils", "_rebuild_tensor_v2").mark().mark().str("storage").global("torch", "LongStorage").str("0")
        .str("cpu").integer(1).tuple().op('Q').integer(0).ints().ints().op(0x88).orderedDict().tuple().reduce()
        .op('s').stop().bytes(), Map.of("0", new byte[8])).bytes();
    assertTrue(rejection(write(gradInt)).contains("only floating-point tensors can"));
  }

  @Test
  void parameterAndRequiresGradAreHonoured() throws IOException {
    byte[] pickle = new PickleBytes().proto(2).orderedDict().mark().str("p")
        .global("torch._utils", "_rebuild_parameter").mark()
        .tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1}).op(0x88).orderedDict().tuple().reduce()
        .op('u').stop().bytes();
    try (StateDict sd = StateDict.loadPyTorch(write(TorchZip.archive(pickle, Map.of("0", floats(1, 2))).bytes()))) {
      assertTrue(sd.get("p").requiresGrad());
    }
  }
}
