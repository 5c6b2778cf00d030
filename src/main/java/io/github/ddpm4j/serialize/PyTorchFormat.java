package io.github.ddpm4j.serialize;

import io.github.ddpm4j.io.AtomicFiles;
import io.github.ddpm4j.serialize.TorchUnpickler.StorageRef;
import io.github.ddpm4j.serialize.TorchUnpickler.TensorSpec;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads and writes PyTorch's checkpoint format, the zip archive of
 * {@code torch.save} ("new zipfile serialization", the default since PyTorch
 * 1.6), as {@code torch.serialization._load} and {@code PyTorchStreamReader}
 * read it:
 * <ul>
 *   <li>{@code <archive>/data.pkl}: the pickled object; tensor storages appear
 *       in it as persistent ids {@code ('storage', torch.FloatStorage, key, location, numel)};</li>
 *   <li>{@code <archive>/data/<key>}: each storage's raw bytes, uncompressed and
 *       64-byte aligned in the file; the CRC-32 of each record that a tensor uses is
 *       checked once at load, over the file's bytes in memory (mapped or read)
 *       without copying them;</li>
 *   <li>{@code <archive>/version}: the format version; {@code <archive>/byteorder}
 *       (PyTorch 2.1 on): {@code little} or {@code big}.</li>
 * </ul>
 */
final class PyTorchFormat {
  private PyTorchFormat() {}

  /** Largest {@code data.pkl} accepted (a state dict of about a million tensors). */
  static final long MAX_PICKLE_BYTES = 256L << 20;
  /** Oldest and newest {@code version} records that PyTorch's reader accepts. */
  static final int MIN_VERSION = 1, MAX_VERSION = 10;
  /** The folder of every record in files that ddpm4j writes. */
  static final String ARCHIVE = "archive/";

  static StateDict read(Path path) throws IOException {
    String source = path.toString();
    MappedFile file = MappedFile.open(path);
    LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
    try {
      ZipArchive zip = ZipArchive.read(file.bytes, source);
      ZipArchive.Entry pickle = null;
      for (ZipArchive.Entry e : zip.entries().values()) {
        String n = e.name();
        int slash = n.indexOf('/');
        if (slash > 0 && n.indexOf('/', slash + 1) < 0 && n.endsWith("/data.pkl") && n.length() == slash + 9) {
          if (pickle != null) throw corrupt(source, "holds two pickles, '" + pickle.name() + "' and '" + n + "'");
          pickle = e;
        }
      }
      if (pickle == null) {
        throw corrupt(source, "is a zip archive without <archive>/data.pkl; not a torch.save file");
      }
      String prefix = pickle.name().substring(0, pickle.name().length() - "data.pkl".length());
      checkVersion(zip, prefix, source);
      checkByteOrder(zip, prefix, source);
      if (pickle.size() > MAX_PICKLE_BYTES) {
        throw corrupt(source, "data.pkl holds " + pickle.size() + " bytes, more than the " + MAX_PICKLE_BYTES + " this reader accepts");
      }
      Object root = new TorchUnpickler(zip.readChecked(pickle), source).run();
      if (!(root instanceof Map<?, ?> dict)) {
        throw corrupt(source, "holds a " + typeName(root) + ", not a state dict (a dict of str to tensor)");
      }
      for (Map.Entry<?, ?> e : dict.entrySet()) {
        if (!(e.getKey() instanceof String)) throw corrupt(source, "has a state-dict key of type " + typeName(e.getKey()));
        if (!(e.getValue() instanceof TensorSpec)) {
          throw corrupt(source, "maps '" + e.getKey() + "' to a " + typeName(e.getValue())
              + ", not a tensor; only flat state dicts (str to tensor) are read");
        }
      }
      Map<String, MemorySegment> storages = new HashMap<>();
      for (Map.Entry<?, ?> e : dict.entrySet()) {
        TensorSpec spec = (TensorSpec) e.getValue();
        MemorySegment storage = storages.get(spec.storage().key());
        if (storage == null) {
          storage = storage(zip, prefix, spec.storage(), file, source);
          storages.put(spec.storage().key(), storage);
        }
        out.put((String) e.getKey(), tensor(spec, storage));
      }
      return new StateDict(out, Map.of(), file.arena, file.bytes, file.mapped);
    } catch (IOException | RuntimeException | Error e) {
      out.values().forEach(Tensor::close);
      file.arena.close();
      throw e;
    }
  }

  private static MemorySegment storage(ZipArchive zip, String prefix, StorageRef ref, MappedFile file, String source)
      throws CorruptFileException {
    ZipArchive.Entry e = zip.entries().get(prefix + "data/" + ref.key());
    if (e == null) throw corrupt(source, "lacks the record " + prefix + "data/" + ref.key() + " of storage '" + ref.key() + "'");
    long bytes;
    try {
      bytes = Math.multiplyExact(ref.numel(), (long) ref.dtype().elementSize());
    } catch (ArithmeticException x) {
      throw corrupt(source, "storage '" + ref.key() + "' is too large");
    }
    if (e.size() != bytes) {
      throw corrupt(source, "storage '" + ref.key() + "' should hold " + ref.numel() + " " + ref.dtype() + " elements ("
          + bytes + " bytes) but its record has " + e.size() + " bytes");
    }
    MemorySegment data = zip.dataChecked(e);
    if (ref.dtype() == DType.BOOL) checkBools(data, source, ref.key());
    return aligned(data, ref.dtype(), file);
  }

  /** LibTorch assumes that a bool is 0 or 1; any other byte value is undefined behaviour there. */
  static void checkBools(MemorySegment data, String source, String what) throws CorruptFileException {
    for (long i = 0; i < data.byteSize(); i++) {
      byte b = data.get(ValueLayout.JAVA_BYTE, i);
      if (b != 0 && b != 1) throw corrupt(source, "bool tensor data of '" + what + "' holds the byte " + (b & 0xff) + " at " + i);
    }
  }

  /** The data itself when aligned to its element size, else an aligned copy in the file's arena. */
  static MemorySegment aligned(MemorySegment data, DType dtype, MappedFile file) {
    if (data.address() % dtype.elementSize() == 0) return data;
    MemorySegment copy = file.arena.allocate(Math.max(1, data.byteSize()), 64).asSlice(0, data.byteSize());
    copy.copyFrom(data);
    return copy;
  }

  private static Tensor tensor(TensorSpec spec, MemorySegment storage) {
    DType dtype = spec.storage().dtype();
    Tensor t;
    if (spec.numel() == 0) {
      t = Torch.empty(spec.size(), dtype, Device.CPU);
    } else {
      long start = spec.offset() * dtype.elementSize();
      t = Torch.fromSegment(storage.asSlice(start, storage.byteSize() - start), dtype, spec.size(), spec.stride());
    }
    Scope.release(t);
    if (spec.requiresGrad()) t.requiresGrad_(true);
    return t;
  }

  private static void checkVersion(ZipArchive zip, String prefix, String source) throws CorruptFileException {
    ZipArchive.Entry e = zip.entries().get(prefix + "version");
    if (e == null) throw corrupt(source, "lacks the record " + prefix + "version");
    if (e.size() > 32) throw corrupt(source, "has a version record of " + e.size() + " bytes");
    String text = new String(zip.readChecked(e), StandardCharsets.US_ASCII).strip();
    int version;
    try {
      version = Integer.parseInt(text);
    } catch (NumberFormatException x) {
      throw corrupt(source, "has a version record that is not a number");
    }
    if (version < MIN_VERSION || version > MAX_VERSION) {
      throw corrupt(source, "has format version " + version + "; this reader supports " + MIN_VERSION + " to " + MAX_VERSION);
    }
  }

  private static void checkByteOrder(ZipArchive zip, String prefix, String source) throws CorruptFileException {
    ZipArchive.Entry e = zip.entries().get(prefix + "byteorder");
    if (e == null) return; // written since PyTorch 2.1; older files are little-endian
    if (e.size() > 16) throw corrupt(source, "has a byteorder record of " + e.size() + " bytes");
    String order = new String(zip.readChecked(e), StandardCharsets.US_ASCII).strip();
    if (order.equals("big")) throw corrupt(source, "holds big-endian tensor data, which this reader does not support");
    if (!order.equals("little")) throw corrupt(source, "has an unknown byteorder record");
  }

  static void write(Map<String, Tensor> tensors, Path path) throws IOException {
    write(tensors, path, false);
  }

  /**
   * Writes {@code tensors} as Python's {@code torch.save(state_dict, f)} does:
   * {@code archive/data.pkl} (see {@link TorchPickleWriter}), {@code archive/byteorder},
   * one record {@code archive/data/<i>} per tensor holding its elements contiguously,
   * and {@code archive/version}.
   *
   * @param forceZip64 write zip64 records even where they are not needed (for tests)
   */
  static void write(Map<String, Tensor> tensors, Path path, boolean forceZip64) throws IOException {
    if (java.nio.ByteOrder.nativeOrder() != java.nio.ByteOrder.LITTLE_ENDIAN) {
      throw new IOException("PyTorch checkpoints are written only on little-endian machines");
    }
    StateDict.checkWritable(tensors);
    List<Map.Entry<String, Tensor>> entries = new ArrayList<>(tensors.entrySet());
    List<TorchPickleWriter.Item> items = new ArrayList<>();
    for (int i = 0; i < entries.size(); i++) {
      Tensor t = entries.get(i).getValue();
      items.add(new TorchPickleWriter.Item(entries.get(i).getKey(), t.dtype(), t.shape(), Integer.toString(i), t.requiresGrad()));
    }
    byte[] pickle = TorchPickleWriter.write(items);
    AtomicFiles.write(path, ch -> {
      ZipWriter zip = new ZipWriter(ch, forceZip64);
      zip.add(ARCHIVE + "data.pkl", List.of(MemorySegment.ofArray(pickle)));
      zip.add(ARCHIVE + "byteorder", List.of(MemorySegment.ofArray("little".getBytes(StandardCharsets.US_ASCII))));
      for (int i = 0; i < entries.size(); i++) {
        Tensor t = entries.get(i).getValue();
        try (Scope s = Scope.open()) {
          Tensor c = t.device().isCuda() ? t.cpu() : t;
          if (!c.isContiguous()) c = c.contiguous();
          zip.add(ARCHIVE + "data/" + i, List.of(c.numel() == 0 ? MemorySegment.ofArray(new byte[0]) : c.data()));
        }
      }
      zip.add(ARCHIVE + "version", List.of(MemorySegment.ofArray("3\n".getBytes(StandardCharsets.US_ASCII))));
      zip.finish();
    });
  }

  static String typeName(Object o) {
    if (o == null) return "None";
    if (o instanceof Map<?, ?>) return "dict";
    if (o instanceof java.util.List<?>) return "list";
    if (o instanceof Object[]) return "tuple";
    if (o instanceof java.util.Set<?>) return "set";
    if (o instanceof String) return "str";
    if (o instanceof Number) return o instanceof Double ? "float" : "int";
    if (o instanceof Boolean) return "bool";
    if (o instanceof byte[]) return "bytes";
    if (o instanceof TensorSpec) return "tensor";
    if (o instanceof StorageRef) return "storage";
    return "Python object";
  }

  static CorruptFileException corrupt(String source, String what) {
    return new CorruptFileException(source + ": " + what);
  }
}
