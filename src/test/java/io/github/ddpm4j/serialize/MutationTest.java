package io.github.ddpm4j.serialize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Serialization;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loads hundreds of corrupted variants of valid files of each format. Each load
 * must either succeed, with tensors that can be read and closed, or throw
 * {@link CorruptFileException} naming the file; any other exception, a crash,
 * a hang or running out of memory fails the test. Mutants come from a seeded
 * generator, so a failure names a reproducible case. Some kinds must always be
 * rejected: truncations, and in PyTorch files bit flips inside the data of zip
 * records, which the records' CRC-32s catch. Safetensors has no checksum, so
 * flips in its tensor data load.
 */
class MutationTest extends TorchTestBase {
  private static final long SEED = 0x5EED_D1C7L;
  private static final int PER_FORMAT = 550;

  @TempDir Path dir;

  record Mutant(String kind, String detail, byte[] bytes) {}

  /** Makes one mutant of its kind from a valid file. */
  interface Mutator {
    Mutant mutate(Random rnd, byte[] base);
  }

  /** {@code count} mutants of one kind. */
  record Batch(int count, Mutator mutator) {}

  enum Outcome { LOADED, REJECTED }

  // ------------------------------------------------------------ running

  private final TreeMap<String, int[]> tally = new TreeMap<>();

  private void check(List<Mutant> mutants, boolean pytorch) throws IOException {
    int index = 0;
    for (Mutant m : mutants) {
      Path file = dir.resolve("mutant-" + index + (pytorch ? ".pt" : ".safetensors"));
      Files.write(file, m.bytes());
      String what = "mutant " + index + " (" + m.kind() + ": " + m.detail() + ", seed " + Long.toHexString(SEED) + ")";
      Outcome o = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> attempt(file, pytorch, what), what);
      tally.computeIfAbsent(m.kind(), k -> new int[2])[o.ordinal()]++;
      Files.delete(file);
      index++;
    }
  }

  private static Outcome attempt(Path file, boolean pytorch, String what) throws IOException {
    StateDict sd;
    try {
      sd = pytorch ? StateDict.loadPyTorch(file) : StateDict.loadSafetensors(file);
    } catch (CorruptFileException e) {
      assertTrue(e.getMessage() != null && e.getMessage().startsWith(file.toString()), what + ": message " + e.getMessage());
      return Outcome.REJECTED;
    }
    List<Tensor> tensors = new ArrayList<>(sd.values());
    try (sd; Scope s = Scope.open()) {
      for (Tensor t : tensors) {
        // Every element is read: converted, summed, and copied out.
        double sum = t.to(DType.FLOAT64).sum().item();
        assertTrue(Double.isFinite(sum) || Double.isNaN(sum) || Double.isInfinite(sum));
        Tensor c = t.contiguous();
        if (c.numel() > 0) assertEquals(t.nbytes(), c.data().toArray(ValueLayout.JAVA_BYTE).length, what);
      }
    }
    for (Tensor t : tensors) assertTrue(t.isClosed(), what + ": closing the dict closes its tensors");
    return Outcome.LOADED;
  }

  /**
   * Makes the mutants of each batch in turn, from the bases in turn, with one generator; loads
   * every mutant, reports the tally, and requires every mutant of the given kinds to be rejected.
   */
  private void campaign(boolean pytorch, Random rnd, List<byte[]> bases, List<Batch> batches, String... alwaysRejected)
      throws IOException {
    List<Mutant> mutants = new ArrayList<>();
    for (Batch b : batches) {
      for (int i = 0; i < b.count(); i++) mutants.add(b.mutator().mutate(rnd, bases.get(i % bases.size())));
    }
    assertEquals(PER_FORMAT, mutants.size());
    check(mutants, pytorch);
    report(pytorch ? "PyTorch" : "safetensors", mutants.size());
    for (String kind : alwaysRejected) expectAllRejected(kind);
  }

  private void expectAllRejected(String kind) {
    int[] t = tally.get(kind);
    assertTrue(t != null && t[0] == 0 && t[1] > 0, kind + " mutants must all be rejected: " + Arrays.toString(t));
  }

  private void report(String format, int total) {
    StringBuilder sb = new StringBuilder(format + " mutants (" + total + "), loaded/rejected by kind:");
    tally.forEach((k, v) -> sb.append(' ').append(k).append('=').append(v[0]).append('/').append(v[1]));
    System.out.println(sb);
    int loaded = tally.values().stream().mapToInt(v -> v[0]).sum();
    int rejected = tally.values().stream().mapToInt(v -> v[1]).sum();
    assertEquals(total, loaded + rejected);
    assertTrue(rejected > total / 2, "most mutants are invalid: " + sb);
    assertTrue(loaded > 0, "some mutants (bytes that no check covers, e.g. safetensors data or zip timestamps) still load: " + sb);
  }

  // ------------------------------------------------------------ PyTorch

  @Test
  void corruptedPyTorchCheckpoints() throws IOException {
    Path own = dir.resolve("own.pt");
    StateDict.savePyTorch(mixedTensors(), own);
    List<byte[]> bases = List.of(fixtureBytes("serialize/model.pt"), Files.readAllBytes(own), libTorchFile());
    List<Batch> batches = List.of(new Batch(150, MutationTest::zipBitFlips), new Batch(75, MutationTest::truncation),
        new Batch(125, MutationTest::zipField), new Batch(175, MutationTest::pickleEdit), new Batch(25, MutationTest::recordEdit));
    campaign(true, new Random(SEED), bases, batches, "truncate", "dataflip");
  }

  private static Map<String, Tensor> mixedTensors() {
    LinkedHashMap<String, Tensor> m = new LinkedHashMap<>();
    m.put("w", Torch.randn(3, 4));
    m.put("h", Torch.randn(5).to(DType.BFLOAT16));
    m.put("i", Torch.arange(6).reshape(2, 3));
    m.put("b", Torch.tensor(new boolean[] {true, false, true}, 3));
    m.put("s", Torch.scalarTensor(1.25));
    m.put("e", Torch.zeros(0, 2));
    return m;
  }

  /** A file of LibTorch's own writer: storages shared between views, and restore_type_tag. */
  private static byte[] libTorchFile() {
    Tensor base = Torch.arange(0, 12, 1, DType.FLOAT32, Device.CPU).reshape(3, 4);
    LinkedHashMap<String, Tensor> m = new LinkedHashMap<>();
    m.put("base", base);
    m.put("t", base.transpose(0, 1));
    m.put("row", base.select(0, 1));
    return Serialization.pickleSaveDict(m);
  }

  private static Mutant bitFlips(Random rnd, byte[] base) {
    return bitFlips(rnd, base, "bitflip");
  }

  private static Mutant bitFlips(Random rnd, byte[] base, String kind) {
    byte[] b = base.clone();
    int flips = 1 + rnd.nextInt(3);
    StringBuilder d = new StringBuilder();
    for (int i = 0; i < flips; i++) {
      int at = rnd.nextInt(b.length), bit = rnd.nextInt(8);
      b[at] ^= (byte) (1 << bit);
      d.append(at).append(':').append(bit).append(' ');
    }
    return new Mutant(kind, d.toString().strip(), b);
  }

  /**
   * Bit flips in a zip archive, of the kind "dataflip" where every changed byte lies in the data
   * of a record (each of which the reader checks against its CRC-32, the pickle and the tensor
   * storages alike, so such mutants must all be rejected), else "bitflip".
   */
  private static Mutant zipBitFlips(Random rnd, byte[] base) {
    Mutant m = bitFlips(rnd, base);
    List<ZipRecords.Record> records = ZipRecords.records(base);
    boolean changed = false, allInData = true;
    for (int i = 0; i < base.length; i++) {
      if (m.bytes()[i] == base[i]) continue;
      changed = true;
      int at = i;
      allInData &= records.stream().anyMatch(r -> at >= r.data() && at < r.data() + r.size());
    }
    return changed && allInData ? new Mutant("dataflip", m.detail(), m.bytes()) : m;
  }

  private static Mutant truncation(Random rnd, byte[] base) {
    int n = rnd.nextInt(base.length);
    return new Mutant("truncate", "to " + n + " of " + base.length, Arrays.copyOf(base, n));
  }

  /** Zip structure of a base file, located by the test itself (APPNOTE 4.3). */
  private record ZipLayout(int eocd, List<Integer> central, List<Integer> local) {}

  private static int u16(byte[] b, int at) {
    return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
  }

  private static long u32(byte[] b, int at) {
    return ByteBuffer.wrap(b, at, 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFFFFFFL;
  }

  private static ZipLayout layout(byte[] b) {
    List<ZipRecords.Record> records = ZipRecords.records(b);
    return new ZipLayout(b.length - 22, records.stream().map(ZipRecords.Record::central).toList(),
        records.stream().map(ZipRecords.Record::local).toList());
  }

  private static final int[][] LOCAL_FIELDS = {{4, 2}, {6, 2}, {8, 2}, {14, 4}, {18, 4}, {22, 4}, {26, 2}, {28, 2}};
  private static final int[][] CENTRAL_FIELDS = {{8, 2}, {10, 2}, {16, 4}, {20, 4}, {24, 4}, {28, 2}, {30, 2}, {32, 2}, {34, 2}, {42, 4}};
  private static final int[][] EOCD_FIELDS = {{4, 2}, {6, 2}, {8, 2}, {10, 2}, {12, 4}, {16, 4}, {20, 2}};

  private static long forgedValue(Random rnd, long original, int width, int fileSize) {
    long max = width == 2 ? 0xFFFF : 0xFFFFFFFFL;
    return switch (rnd.nextInt(9)) {
      case 0 -> 0;
      case 1 -> max;
      case 2 -> (original + 1) & max;
      case 3 -> (original - 1) & max;
      case 4 -> fileSize & max;
      case 5 -> (fileSize + 1 + rnd.nextInt(100)) & max;
      case 6 -> width == 2 ? 0x8000 : 0x80000000L;
      case 7 -> (original + 64) & max;
      default -> rnd.nextLong() & max;
    };
  }

  private static Mutant zipField(Random rnd, byte[] base) {
    byte[] b = base.clone();
    ZipLayout z = layout(b);
    int where = rnd.nextInt(3);
    int at;
    int[] field;
    String name;
    if (where == 0) {
      int e = rnd.nextInt(z.local().size());
      field = LOCAL_FIELDS[rnd.nextInt(LOCAL_FIELDS.length)];
      at = z.local().get(e) + field[0];
      name = "local header " + e + " +" + field[0];
    } else if (where == 1) {
      int e = rnd.nextInt(z.central().size());
      field = CENTRAL_FIELDS[rnd.nextInt(CENTRAL_FIELDS.length)];
      at = z.central().get(e) + field[0];
      name = "central entry " + e + " +" + field[0];
    } else {
      field = EOCD_FIELDS[rnd.nextInt(EOCD_FIELDS.length)];
      at = z.eocd() + field[0];
      name = "end record +" + field[0];
    }
    long original = field[1] == 2 ? u16(b, at) : u32(b, at);
    long v = forgedValue(rnd, original, field[1], b.length);
    for (int i = 0; i < field[1]; i++) b[at + i] = (byte) (v >>> (8 * i));
    return new Mutant("zipfield", name + " " + original + " -> " + v, b);
  }

  /** The entries of a base archive, by name, in order. */
  private static LinkedHashMap<String, byte[]> entries(byte[] zip) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment seg = arena.allocate(zip.length);
      seg.copyFrom(MemorySegment.ofArray(zip));
      ZipArchive z = ZipArchive.read(seg, "base");
      LinkedHashMap<String, byte[]> out = new LinkedHashMap<>();
      for (ZipArchive.Entry e : z.entries().values()) out.put(e.name(), z.data(e).toArray(ValueLayout.JAVA_BYTE));
      return out;
    } catch (CorruptFileException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] rebuild(LinkedHashMap<String, byte[]> entries) {
    TorchZip z = new TorchZip();
    entries.forEach(z::put);
    return z.bytes();
  }

  private static String pickleName(Map<String, byte[]> entries) {
    return entries.keySet().stream().filter(n -> n.endsWith("/data.pkl")).findFirst().orElseThrow();
  }

  /** Pickle opcodes of protocols 0 to 5 (CPython's Lib/pickle.py), for plausible corruption. */
  private static final byte[] OPCODES = "()0123FIJKLMNPQRSTUVXabcdeghijlopqrstu}]".getBytes(StandardCharsets.US_ASCII);
  private static final int[] HIGH_OPCODES = {0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8c,
    0x8d, 0x8e, 0x8f, 0x90, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98};

  private static byte opcode(Random rnd) {
    return rnd.nextBoolean() ? OPCODES[rnd.nextInt(OPCODES.length)] : (byte) HIGH_OPCODES[rnd.nextInt(HIGH_OPCODES.length)];
  }

  private static final String[][] GLOBAL_SWAPS = {
    {"FloatStorage", "LongStorage"}, {"FloatStorage", "BoolStorage"}, {"FloatStorage", "HalfStorage"},
    {"LongStorage", "ByteStorage"}, {"FloatStorage", "DoubleStorage"}, {"_rebuild_tensor_v2", "_rebuild_parameter"},
    {"OrderedDict", "defaultdict"}, {"collections", "posix"}, {"torch._utils", "torch.storage"}, {"BFloat16Storage", "FloatStorage"},
  };

  private static Mutant pickleEdit(Random rnd, byte[] base) {
    LinkedHashMap<String, byte[]> entries = entries(base);
    String name = pickleName(entries);
    byte[] p = entries.get(name);
    byte[] q;
    String d;
    switch (rnd.nextInt(7)) {
      case 0 -> {
        q = p.clone();
        int at = rnd.nextInt(q.length);
        q[at] = opcode(rnd);
        d = "opcode at " + at + " := " + (q[at] & 0xff);
      }
      case 1 -> {
        int at = rnd.nextInt(p.length), len = 1 + rnd.nextInt(Math.min(8, p.length - at));
        q = new byte[p.length - len];
        System.arraycopy(p, 0, q, 0, at);
        System.arraycopy(p, at + len, q, at, p.length - at - len);
        d = "delete " + len + " at " + at;
      }
      case 2 -> {
        int at = rnd.nextInt(p.length + 1), len = 1 + rnd.nextInt(4);
        q = new byte[p.length + len];
        System.arraycopy(p, 0, q, 0, at);
        for (int i = 0; i < len; i++) q[at + i] = opcode(rnd);
        System.arraycopy(p, at, q, at + len, p.length - at);
        d = "insert " + len + " opcodes at " + at;
      }
      case 3 -> {
        // A BININT1 argument: sizes, strides, offsets and storage sizes are mostly these.
        List<Integer> ks = new ArrayList<>();
        for (int i = 0; i + 1 < p.length; i++) if (p[i] == 'K') ks.add(i);
        q = p.clone();
        int at = ks.get(rnd.nextInt(ks.size())) + 1;
        int v = rnd.nextInt(5) == 0 ? 0 : rnd.nextInt(256);
        d = "BININT1 at " + at + " " + (q[at] & 0xff) + " -> " + v;
        q[at] = (byte) v;
      }
      case 4 -> {
        String text = new String(p, StandardCharsets.ISO_8859_1);
        String[] swap = GLOBAL_SWAPS[rnd.nextInt(GLOBAL_SWAPS.length)];
        String changed = text.replaceFirst(java.util.regex.Pattern.quote(swap[0]), swap[1]);
        q = changed.getBytes(StandardCharsets.ISO_8859_1);
        d = "global " + swap[0] + " -> " + swap[1] + (changed.equals(text) ? " (absent)" : "");
      }
      case 5 -> {
        List<Integer> xs = new ArrayList<>();
        for (int i = 0; i + 4 < p.length; i++) if (p[i] == 'X') xs.add(i);
        q = p.clone();
        int at = xs.isEmpty() ? 0 : xs.get(rnd.nextInt(xs.size())) + 1;
        int v = rnd.nextBoolean() ? rnd.nextInt() : rnd.nextInt(64);
        ByteBuffer.wrap(q, at, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(v);
        d = "length prefix at " + at + " := " + v;
      }
      default -> {
        int from = rnd.nextInt(p.length), len = 1 + rnd.nextInt(Math.min(40, p.length - from));
        int at = rnd.nextInt(p.length + 1);
        q = new byte[p.length + len];
        System.arraycopy(p, 0, q, 0, at);
        System.arraycopy(p, from, q, at, len);
        System.arraycopy(p, at, q, at + len, p.length - at);
        d = "copy " + len + " from " + from + " to " + at;
      }
    }
    entries.put(name, q);
    return new Mutant("pickle", d, rebuild(entries));
  }

  private static Mutant recordEdit(Random rnd, byte[] base) {
    LinkedHashMap<String, byte[]> entries = entries(base);
    String prefix = pickleName(entries).replace("data.pkl", "");
    List<String> storages = entries.keySet().stream().filter(n -> n.startsWith(prefix + "data/")).toList();
    String s = storages.get(rnd.nextInt(storages.size()));
    String d;
    switch (rnd.nextInt(5)) {
      case 0 -> {
        entries.remove(s);
        d = "remove " + s;
      }
      case 1 -> {
        byte[] v = entries.get(s);
        entries.put(s, Arrays.copyOf(v, Math.max(0, v.length + (rnd.nextBoolean() ? 1 : -1))));
        d = "resize " + s;
      }
      case 2 -> {
        entries.put(prefix + "byteorder", (rnd.nextBoolean() ? "big" : "middle").getBytes(StandardCharsets.US_ASCII));
        d = "byteorder";
      }
      case 3 -> {
        entries.put(prefix + "version", (rnd.nextBoolean() ? "99\n" : "x\n").getBytes(StandardCharsets.US_ASCII));
        d = "version";
      }
      default -> {
        TorchZip z = new TorchZip();
        entries.forEach(z::put);
        return new Mutant("record", "deflate " + s, z.deflate(java.util.Set.of(s)).bytes());
      }
    }
    return new Mutant("record", d, rebuild(entries));
  }

  // ------------------------------------------------------------ safetensors

  @Test
  void corruptedSafetensorsFiles() throws IOException {
    Path own = dir.resolve("own.safetensors");
    StateDict.saveSafetensors(mixedTensors(), Map.of("format", "pt", "step", "12"), own);
    byte[] handMade = SafetensorsTest.file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        + "\"m\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[8,10]}}",
        SafetensorsTest.le(10).putFloat(1).putFloat(2).put((byte) 1).put((byte) 0).array());
    List<Batch> batches = List.of(new Batch(150, MutationTest::bitFlips), new Batch(75, MutationTest::truncation),
        new Batch(75, MutationTest::headerLength), new Batch(200, MutationTest::jsonEdit), new Batch(50, MutationTest::headerChar));
    campaign(false, new Random(SEED ^ 0xABCDEF), List.of(Files.readAllBytes(own), handMade), batches, "truncate", "headerlength");
  }

  private static long headerSize(byte[] b) {
    return ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  private static Mutant headerLength(Random rnd, byte[] base) {
    byte[] b = base.clone();
    long n = headerSize(b);
    long v;
    do {
      v = switch (rnd.nextInt(8)) {
        case 0 -> n + 1 + rnd.nextInt(16);
        case 1 -> n - 1 - rnd.nextInt(16);
        case 2 -> 0;
        case 3 -> b.length;
        case 4 -> b.length - 8;
        case 5 -> Long.MIN_VALUE + rnd.nextInt(1000);
        case 6 -> 100_000_001;
        default -> rnd.nextLong();
      };
    } while (v == n);
    ByteBuffer.wrap(b, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
    return new Mutant("headerlength", n + " -> " + Long.toUnsignedString(v), b);
  }

  private static final String[] DTYPES = {"F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL", "U16", "f32", "F8_E4M3", ""};

  private static JsonElement number(Random rnd, long original) {
    return switch (rnd.nextInt(7)) {
      case 0 -> new JsonPrimitive(original + 1);
      case 1 -> new JsonPrimitive(original - 1);
      case 2 -> new JsonPrimitive(0);
      case 3 -> new JsonPrimitive(-1 - rnd.nextInt(5));
      case 4 -> new JsonPrimitive(Long.MAX_VALUE - rnd.nextInt(3));
      case 5 -> new JsonPrimitive(original * 2 + 1);
      default -> new JsonPrimitive(rnd.nextInt(1 << 20));
    };
  }

  /** Re-serializes the header with one structural change; the data is kept. */
  private static Mutant jsonEdit(Random rnd, byte[] base) {
    int n = (int) headerSize(base);
    byte[] data = Arrays.copyOfRange(base, 8 + n, base.length);
    JsonObject header = JsonParser.parseString(new String(base, 8, n, StandardCharsets.UTF_8)).getAsJsonObject();
    List<String> names = header.keySet().stream().filter(k -> !k.equals("__metadata__")).toList();
    String name = names.get(rnd.nextInt(names.size()));
    JsonObject t = header.getAsJsonObject(name);
    String d;
    String extra = null;
    switch (rnd.nextInt(9)) {
      case 0, 1 -> {
        JsonArray o = t.getAsJsonArray("data_offsets");
        int which = rnd.nextInt(2);
        o.set(which, number(rnd, o.get(which).getAsLong()));
        d = name + " data_offsets := " + o;
      }
      case 2 -> {
        JsonArray o = t.getAsJsonArray("data_offsets");
        JsonElement first = o.get(0);
        o.set(0, o.get(1));
        o.set(1, first);
        d = name + " data_offsets swapped";
      }
      case 3, 4 -> {
        JsonArray s = t.getAsJsonArray("shape");
        int op = rnd.nextInt(3);
        if (op == 0 || s.isEmpty()) s.add(number(rnd, 1));
        else if (op == 1) s.remove(rnd.nextInt(s.size()));
        else {
          int i = rnd.nextInt(s.size());
          s.set(i, number(rnd, s.get(i).getAsLong()));
        }
        d = name + " shape := " + s;
      }
      case 5 -> {
        String dt = DTYPES[rnd.nextInt(DTYPES.length)];
        t.addProperty("dtype", dt);
        d = name + " dtype := " + dt;
      }
      case 6 -> {
        String field = List.of("dtype", "shape", "data_offsets").get(rnd.nextInt(3));
        if (rnd.nextBoolean()) t.remove(field);
        else t.addProperty(field, rnd.nextBoolean() ? "x" : null);
        d = name + " " + field + " removed or retyped";
      }
      case 7 -> {
        if (rnd.nextBoolean()) {
          header.remove(name);
          d = "remove " + name;
        } else {
          extra = ",\"" + name + "\":" + t;
          d = "duplicate " + name;
        }
      }
      default -> {
        JsonObject meta = new JsonObject();
        meta.addProperty("k", rnd.nextInt(100));
        header.add("__metadata__", rnd.nextBoolean() ? meta : new JsonPrimitive("text"));
        d = "metadata not a string map";
      }
    }
    String json = header.toString();
    if (extra != null) json = json.substring(0, json.length() - 1) + extra + "}";
    if (rnd.nextBoolean()) json += " ".repeat((8 - json.length() % 8) % 8);
    return new Mutant("json", d, SafetensorsTest.file(json, data));
  }

  private static final byte[] JSON_CHARS = "{}[]\":,0123456789-.eE tfnul\\F".getBytes(StandardCharsets.US_ASCII);

  private static Mutant headerChar(Random rnd, byte[] base) {
    byte[] b = base.clone();
    int n = (int) headerSize(b);
    int at = 8 + rnd.nextInt(n);
    byte v = JSON_CHARS[rnd.nextInt(JSON_CHARS.length)];
    String d = "header byte " + at + " '" + (char) b[at] + "' -> '" + (char) v + "'";
    b[at] = v;
    return new Mutant("headerchar", d, b);
  }
}
