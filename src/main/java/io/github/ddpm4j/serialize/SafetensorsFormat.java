package io.github.ddpm4j.serialize;

import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import io.github.ddpm4j.io.AtomicFiles;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.io.StringReader;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads and writes the safetensors format, after its published specification
 * (huggingface/safetensors, README "Format"):
 * <ol>
 *   <li>8 bytes: {@code N}, an unsigned little-endian 64-bit integer, the size of the header;</li>
 *   <li>{@code N} bytes: a UTF-8 JSON object starting with <code>{</code>, possibly padded
 *       at the end with spaces: {@code {"name": {"dtype": "F32", "shape": [2, 3],
 *       "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}};</li>
 *   <li>the byte buffer: every tensor's elements, row-major and little-endian, at
 *       {@code [begin, end)} relative to the buffer's start. The tensors cover the
 *       buffer exactly, without holes or overlaps.</li>
 * </ol>
 */
final class SafetensorsFormat {
  private SafetensorsFormat() {}

  /** Largest header accepted, as in the reference implementation ({@code MAX_HEADER_SIZE}). */
  static final long MAX_HEADER = 100_000_000;
  static final int MAX_DIMS = 64;
  static final String METADATA_KEY = "__metadata__";

  private record Info(String name, DType dtype, long[] shape, long begin, long end) {}

  /** The format's dtype name of each ddpm4j dtype. */
  static String dtypeName(DType d) {
    return switch (d) {
      case FLOAT32 -> "F32";
      case FLOAT64 -> "F64";
      case FLOAT16 -> "F16";
      case BFLOAT16 -> "BF16";
      case INT64 -> "I64";
      case INT32 -> "I32";
      case INT16 -> "I16";
      case INT8 -> "I8";
      case UINT8 -> "U8";
      case BOOL -> "BOOL";
    };
  }

  private static DType dtypeOf(String name, String tensor, String source) throws CorruptFileException {
    for (DType d : DType.values()) if (dtypeName(d).equals(name)) return d;
    String shown = name.length() > 40 ? name.substring(0, 40) + "..." : name;
    boolean known = Set.of("U16", "U32", "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64").contains(name);
    throw corrupt(source, "tensor '" + tensor + "' has " + (known ? "the dtype " + shown + ", which ddpm4j does not support"
        : "the unknown dtype '" + shown + "'"));
  }

  static StateDict read(Path path) throws IOException {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) throw new IOException("safetensors data is read only on little-endian machines");
    String source = path.toString();
    MappedFile file = MappedFile.open(path);
    LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
    try {
      MemorySegment bytes = file.bytes;
      long size = bytes.byteSize();
      if (size < 8) throw corrupt(source, "is " + size + " bytes long, too short for the 8-byte header size");
      long n = bytes.get(ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0);
      if (n < 0 || n > size - 8) {
        throw corrupt(source, "declares a header of " + Long.toUnsignedString(n) + " bytes but only " + (size - 8) + " follow");
      }
      if (n > MAX_HEADER) throw corrupt(source, "declares a header of " + n + " bytes, more than the " + MAX_HEADER + " allowed");
      if (n < 2) throw corrupt(source, "has a header of " + n + " bytes, too short for a JSON object");
      byte[] header = bytes.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
      if (header[0] != '{') throw corrupt(source, "has a header that does not start with '{'");
      String json;
      try {
        json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(header)).toString();
      } catch (CharacterCodingException e) {
        throw corrupt(source, "has a header that is not valid UTF-8");
      }
      Map<String, String> metadata = new LinkedHashMap<>();
      List<Info> infos = parseHeader(json, metadata, source);
      long dataStart = 8 + n;
      long dataSize = size - dataStart;
      checkCoverage(infos, dataSize, source);
      for (Info info : infos) {
        MemorySegment data = bytes.asSlice(dataStart + info.begin(), info.end() - info.begin());
        if (info.dtype() == DType.BOOL) PyTorchFormat.checkBools(data, source, info.name());
        Tensor t = data.byteSize() == 0
            ? Torch.empty(info.shape(), info.dtype(), Device.CPU)
            : Torch.fromSegment(PyTorchFormat.aligned(data, info.dtype(), file), info.dtype(), info.shape());
        out.put(info.name(), Scope.release(t));
      }
      return new StateDict(out, metadata, file.arena, file.bytes, file.mapped);
    } catch (IOException | RuntimeException | Error e) {
      out.values().forEach(Tensor::close);
      file.arena.close();
      throw e;
    }
  }

  private static List<Info> parseHeader(String json, Map<String, String> metadata, String source) throws CorruptFileException {
    List<Info> infos = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    try (JsonReader r = new JsonReader(new StringReader(json))) {
      r.setStrictness(Strictness.STRICT);
      r.beginObject();
      while (r.hasNext()) {
        String name = r.nextName();
        if (!seen.add(name)) throw corrupt(source, "names '" + name + "' twice in its header");
        if (name.equals(METADATA_KEY)) {
          if (r.peek() == JsonToken.NULL) {
            r.nextNull();
            continue;
          }
          Set<String> keys = new HashSet<>();
          r.beginObject();
          while (r.hasNext()) {
            String k = r.nextName();
            if (!keys.add(k)) throw corrupt(source, "names the metadata key '" + k + "' twice");
            if (r.peek() != JsonToken.STRING) throw corrupt(source, "has metadata '" + k + "' that is not a string");
            metadata.put(k, r.nextString());
          }
          r.endObject();
        } else {
          infos.add(tensorInfo(r, name, source));
        }
      }
      r.endObject();
      if (r.peek() != JsonToken.END_DOCUMENT) throw corrupt(source, "has data after the header's JSON object");
    } catch (CorruptFileException e) {
      throw e;
    } catch (IOException | IllegalStateException | NumberFormatException e) {
      throw new CorruptFileException(source + ": header is not valid JSON of the safetensors layout (" + e.getMessage() + ")", e);
    }
    return infos;
  }

  private static Info tensorInfo(JsonReader r, String name, String source) throws IOException {
    String dtype = null;
    long[] shape = null;
    long[] offsets = null;
    r.beginObject();
    while (r.hasNext()) {
      String field = r.nextName();
      switch (field) {
        case "dtype" -> {
          if (dtype != null) throw corrupt(source, "tensor '" + name + "' has two dtypes");
          if (r.peek() != JsonToken.STRING) throw corrupt(source, "tensor '" + name + "' has a dtype that is not a string");
          dtype = r.nextString();
        }
        case "shape" -> {
          if (shape != null) throw corrupt(source, "tensor '" + name + "' has two shapes");
          shape = naturals(r, name, "shape", source);
        }
        case "data_offsets" -> {
          if (offsets != null) throw corrupt(source, "tensor '" + name + "' has two data_offsets");
          offsets = naturals(r, name, "data_offsets", source);
        }
        default -> throw corrupt(source, "tensor '" + name + "' has the unknown field '" + field + "'");
      }
    }
    r.endObject();
    if (dtype == null || shape == null || offsets == null) {
      throw corrupt(source, "tensor '" + name + "' lacks one of dtype, shape and data_offsets");
    }
    if (offsets.length != 2) throw corrupt(source, "tensor '" + name + "' has " + offsets.length + " data_offsets instead of 2");
    if (shape.length > MAX_DIMS) throw corrupt(source, "tensor '" + name + "' has " + shape.length + " dimensions (at most " + MAX_DIMS + ")");
    return new Info(name, dtypeOf(dtype, name, source), shape, offsets[0], offsets[1]);
  }

  /** A JSON array of integers written as plain non-negative literals (no sign, fraction or exponent). */
  private static long[] naturals(JsonReader r, String name, String field, String source) throws IOException {
    r.beginArray();
    long[] v = new long[4];
    int count = 0;
    while (r.hasNext()) {
      if (r.peek() != JsonToken.NUMBER) throw corrupt(source, "tensor '" + name + "' has a " + field + " entry that is not a number");
      String literal = r.nextString();
      if (!literal.matches("0|[1-9][0-9]{0,18}")) {
        throw corrupt(source, "tensor '" + name + "' has the " + field + " entry " + (literal.length() > 30 ? literal.substring(0, 30) + "..." : literal)
            + ", not an integer in [0, 2^63)");
      }
      if (count == v.length) {
        if (count > MAX_DIMS) throw corrupt(source, "tensor '" + name + "' has more than " + MAX_DIMS + " " + field + " entries");
        v = Arrays.copyOf(v, count * 2);
      }
      v[count++] = Long.parseLong(literal);
    }
    r.endArray();
    return Arrays.copyOf(v, count);
  }

  /** Sizes agree with dtypes and shapes, and the tensors tile {@code [0, dataSize)} exactly. */
  private static void checkCoverage(List<Info> infos, long dataSize, String source) throws CorruptFileException {
    for (Info i : infos) {
      long bytes = i.dtype().elementSize();
      try {
        for (long s : i.shape()) bytes = Math.multiplyExact(bytes, s);
      } catch (ArithmeticException e) {
        throw corrupt(source, "tensor '" + i.name() + "' has a shape whose size overflows: " + Arrays.toString(i.shape()));
      }
      if (i.end() < i.begin()) throw corrupt(source, "tensor '" + i.name() + "' ends (" + i.end() + ") before it begins (" + i.begin() + ")");
      if (i.end() - i.begin() != bytes) {
        throw corrupt(source, "tensor '" + i.name() + "' of shape " + Arrays.toString(i.shape()) + " and dtype " + dtypeName(i.dtype())
            + " needs " + bytes + " bytes but data_offsets [" + i.begin() + ", " + i.end() + "] span " + (i.end() - i.begin()));
      }
    }
    List<Info> sorted = new ArrayList<>(infos);
    sorted.sort(Comparator.comparingLong(Info::begin).thenComparingLong(Info::end));
    long at = 0;
    for (Info i : sorted) {
      if (i.begin() != at) {
        throw corrupt(source, i.begin() > at
            ? "has a hole in its data before tensor '" + i.name() + "' (bytes " + at + " to " + i.begin() + " belong to no tensor)"
            : "has tensor '" + i.name() + "' overlapping another at byte " + i.begin());
      }
      at = i.end();
    }
    if (at != dataSize) {
      throw corrupt(source, "has " + dataSize + " data bytes but its tensors cover " + at
          + (at > dataSize ? " (the file is truncated)" : " (trailing bytes belong to no tensor)"));
    }
  }

  /**
   * The exact bytes of a file's header, padded: the size prefix is not included.
   * Tensors are listed in {@code order}, with consecutive data offsets.
   */
  static byte[] header(List<Map.Entry<String, Tensor>> order, Map<String, String> metadata) {
    StringBuilder sb = new StringBuilder("{");
    if (!metadata.isEmpty()) {
      string(sb, METADATA_KEY).append(":{");
      boolean first = true;
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        if (!first) sb.append(',');
        first = false;
        string(sb, e.getKey()).append(':');
        string(sb, e.getValue());
      }
      sb.append('}');
    }
    long offset = 0;
    for (Map.Entry<String, Tensor> e : order) {
      Tensor t = e.getValue();
      if (sb.length() > 1) sb.append(',');
      string(sb, e.getKey()).append(":{\"dtype\":");
      string(sb, dtypeName(t.dtype())).append(",\"shape\":[");
      long[] shape = t.shape();
      for (int i = 0; i < shape.length; i++) sb.append(i == 0 ? "" : ",").append(shape[i]);
      long end = offset + t.nbytes();
      sb.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
      offset = end;
    }
    sb.append('}');
    byte[] json = sb.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    byte[] out = Arrays.copyOf(json, padded);
    Arrays.fill(out, json.length, padded, (byte) ' ');
    return out;
  }

  /** Appends a JSON string literal, escaped as serde_json escapes it. */
  private static StringBuilder string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    return sb.append('"');
  }

  /**
   * Orders tensors for writing: by element size, largest first, so that every
   * tensor starts at a multiple of its element size; ties keep the given order.
   */
  static List<Map.Entry<String, Tensor>> writeOrder(Map<String, Tensor> tensors) {
    List<Map.Entry<String, Tensor>> order = new ArrayList<>(tensors.entrySet());
    order.sort(Comparator.comparingInt((Map.Entry<String, Tensor> e) -> e.getValue().dtype().elementSize()).reversed());
    return order;
  }

  static void write(Map<String, Tensor> tensors, Map<String, String> metadata, Path path) throws IOException {
    if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) throw new IOException("safetensors data is written only on little-endian machines");
    StateDict.checkWritable(tensors);
    if (tensors.containsKey(METADATA_KEY)) throw new IllegalArgumentException("'" + METADATA_KEY + "' is reserved and cannot name a tensor");
    for (Map.Entry<String, String> e : metadata.entrySet()) {
      if (e.getKey() == null || e.getValue() == null) throw new IllegalArgumentException("metadata keys and values must not be null");
    }
    List<Map.Entry<String, Tensor>> order = writeOrder(tensors);
    byte[] header = header(order, metadata);
    AtomicFiles.write(path, ch -> {
      ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).flip();
      AtomicFiles.writeFully(ch, prefix);
      AtomicFiles.writeFully(ch, ByteBuffer.wrap(header));
      for (Map.Entry<String, Tensor> e : order) writeData(ch, e.getValue());
    });
  }

  private static void writeData(FileChannel ch, Tensor t) throws IOException {
    if (t.numel() == 0) return;
    try (Scope s = Scope.open()) {
      Tensor c = t.device().isCuda() ? t.cpu() : t;
      if (!c.isContiguous()) c = c.contiguous();
      MemorySegment data = c.data();
      for (long at = 0; at < data.byteSize(); at += 1 << 30) {
        AtomicFiles.writeFully(ch, data.asSlice(at, Math.min(1 << 30, data.byteSize() - at)).asByteBuffer());
      }
    }
  }

  private static CorruptFileException corrupt(String source, String what) {
    return new CorruptFileException(source + ": " + what);
  }
}
