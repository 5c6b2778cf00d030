package io.github.ddpm4j.serialize;

import io.github.ddpm4j.torch.Tensor;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractMap;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Tensors loaded from a checkpoint file, by name in file order, together with
 * the memory they live in. Pass it wherever a {@code Map<String, Tensor>} is
 * taken, e.g. {@code module.loadStateDict(dict, true)}, then close it.
 *
 * <p>Loading is zero-copy: the file is memory-mapped and each tensor is a view
 * of its bytes in the mapping. A PyTorch checkpoint's storage records are read
 * once at load to check their CRC-32s (without a copy), so corrupt weights are
 * refused there rather than used; a safetensors file has no checksum, and only
 * the pages that are read are loaded. The
 * mapping is private (copy-on-write): a tensor may be changed in place, which
 * changes only this process's copy and never the file. A file that cannot be
 * opened for writing (needed by Java for a private mapping) is read into
 * memory instead; {@link #isMemoryMapped()} tells which happened. Data that is
 * not aligned to its element size is copied, never read misaligned. If another
 * process truncates the file while it is mapped, reading the lost pages fails
 * as with any memory mapping (a bus error), so do not truncate files in use.
 *
 * <p>The dict owns its tensors and the mapping: {@link #close()} frees the
 * tensors and unmaps the file. Afterwards every tensor of the dict, and every
 * view made from one ({@code view}, {@code slice}, {@code transpose}, ...),
 * throws {@link IllegalStateException} on use instead of reading unmapped
 * memory. Results of computations ({@code add}, {@code clone}, ...) own their
 * memory and stay valid; {@code clone()} a tensor to keep it past the dict.
 *
 * <p>The dict is unmodifiable. Its methods throw {@link IllegalStateException}
 * once it is closed.
 *
 * <h2>Formats</h2>
 * <ul>
 *   <li>PyTorch: the zip archive of {@code torch.save(model.state_dict(), f)},
 *       read with a restricted unpickler that admits only the globals of a state
 *       dict, as {@code torch.load(f, weights_only=True)} does (see
 *       {@link ForbiddenGlobalException}). Tensors load to the CPU whatever
 *       device they were saved from ({@code map_location="cpu"}).</li>
 *   <li>safetensors: the format of {@code safetensors.torch.save_file}, with its
 *       string metadata. The format has no checksum: changed bytes in its tensor
 *       data cannot be detected and load as they are.</li>
 * </ul>
 * Supported element types: every {@link io.github.ddpm4j.torch.DType}
 * (float32, float64, float16, bfloat16, int64, int32, int16, int8, uint8, bool).
 */
public final class StateDict extends AbstractMap<String, Tensor> implements AutoCloseable {
  private final Map<String, Tensor> tensors;
  private final Map<String, String> metadata;
  private final Arena arena;
  private final MemorySegment region;
  private final boolean mapped;
  private volatile boolean closed;

  StateDict(LinkedHashMap<String, Tensor> tensors, Map<String, String> metadata, Arena arena, MemorySegment region, boolean mapped) {
    this.tensors = Collections.unmodifiableMap(tensors);
    this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
    this.arena = arena;
    this.region = region;
    this.mapped = mapped;
  }

  // ------------------------------------------------------------------ loading

  /**
   * Loads a checkpoint, telling the format from its first bytes: a zip archive
   * ({@code PK\3\4}) is read as a PyTorch checkpoint, anything else as safetensors.
   *
   * @param path the file
   * @return its tensors; the caller closes the dict
   * @throws java.nio.file.NoSuchFileException if the file does not exist
   * @throws ForbiddenGlobalException if a PyTorch checkpoint's pickle names a global that a state dict does not need
   * @throws CorruptFileException if the file is not a well-formed checkpoint of either format, or uses an unsupported feature
   * @throws IOException if the file cannot be read
   */
  public static StateDict load(Path path) throws IOException {
    if (!Files.exists(path)) throw new java.nio.file.NoSuchFileException(path.toString());
    if (!Files.isRegularFile(path)) throw new IOException(path + " is not a regular file");
    byte[] magic = new byte[4];
    int n;
    try (InputStream in = Files.newInputStream(path)) {
      n = in.readNBytes(magic, 0, 4);
    }
    boolean zip = n == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
    return zip ? loadPyTorch(path) : loadSafetensors(path);
  }

  /**
   * Loads a state dict saved by {@code torch.save(model.state_dict(), path)}
   * (PyTorch's zip format), mirroring {@code torch.load(path, map_location="cpu",
   * weights_only=True)}. Tensors that share a storage in the file share memory
   * here too; their storage offsets, sizes and strides are kept
   * ({@code torch._utils._rebuild_tensor_v2}), so a saved transposed or sliced
   * tensor loads as the same non-contiguous view. {@code _metadata} attributes
   * of the OrderedDict (module versions) are dropped.
   *
   * <p>A tensor that holds more elements than its storage (an expanded view with
   * zero or overlapping strides, which {@code state_dict()} never produces) is
   * rejected, so that a forged file cannot describe a tensor far larger than
   * itself. Only checkpoints that hold a flat dict of names to tensors are read:
   * a dict holding other values (a training checkpoint with an optimizer state
   * or step count) throws {@link CorruptFileException} naming the offending key.
   * The legacy (pre-1.6, non-zip) format is not read.
   *
   * @param path the file
   * @return its tensors, in the dict's order; the caller closes the dict
   * @throws java.nio.file.NoSuchFileException if the file does not exist
   * @throws ForbiddenGlobalException if the pickle names a global other than the allowed ones
   * @throws CorruptFileException if the file is truncated or malformed, its pickle is invalid,
   *     a tensor reaches outside its storage or holds more elements than it, a storage record
   *     is missing, compressed or of the wrong size, a record read (the pickle, {@code version},
   *     {@code byteorder}, each storage a tensor uses) fails its CRC-32 check, the data is
   *     big-endian, or the dict holds something other than tensors
   * @throws IOException if the file cannot be read
   */
  public static StateDict loadPyTorch(Path path) throws IOException {
    return PyTorchFormat.read(path);
  }

  /**
   * Loads a safetensors file. Every rule of the specification is checked: the
   * header size against the file size (before anything is allocated; at most
   * 100,000,000 bytes, as in the reference implementation), well-formed UTF-8
   * JSON without duplicate keys, known dtypes, non-negative shapes whose byte
   * size equals {@code end - begin}, and data offsets that tile the data
   * buffer exactly, with no hole, overlap or trailing byte. The format has no
   * checksum, so changed bytes inside the tensor data cannot be detected: such a
   * file loads, with the changed values (a PyTorch checkpoint's records carry CRC-32s
   * and are checked).
   *
   * @param path the file
   * @return its tensors, in the header's order, with the header's {@code __metadata__}
   *     as {@link #metadata()}; the caller closes the dict
   * @throws java.nio.file.NoSuchFileException if the file does not exist
   * @throws CorruptFileException if any rule of the format is broken, a dtype is not supported
   *     (U16, U32, U64, float8 types), or a bool tensor holds a byte other than 0 and 1
   * @throws IOException if the file cannot be read
   */
  public static StateDict loadSafetensors(Path path) throws IOException {
    return SafetensorsFormat.read(path);
  }

  // ------------------------------------------------------------------- saving

  /**
   * Saves tensors as Python's {@code torch.save(model.state_dict(), path)} does:
   * a zip archive of uncompressed, 64-byte aligned records ({@code data.pkl},
   * {@code byteorder}, one {@code data/<i>} per tensor, {@code version}) whose
   * pickle is an {@code OrderedDict} of {@code torch._utils._rebuild_tensor_v2}
   * calls, so that {@code torch.load(path, weights_only=True)} reads it and
   * {@code model.load_state_dict} accepts it. Each tensor is written as a
   * contiguous storage of its own (a view is saved as the elements it shows);
   * tensors on a GPU are copied to the CPU first. Data is streamed from the
   * tensors' memory, with zip64 records past 4 GiB. The file is written beside
   * {@code path} and renamed over it, so that it is never seen half-written.
   *
   * @param tensors names to tensors, written in iteration order
   * @param path the file to create or replace
   * @throws IllegalArgumentException if a name or tensor is null, or a name is not valid Unicode
   * @throws IllegalStateException if a tensor is closed
   * @throws IOException if the file cannot be written
   */
  public static void savePyTorch(Map<String, Tensor> tensors, Path path) throws IOException {
    PyTorchFormat.write(tensors, path);
  }

  /**
   * Saves tensors as safetensors without metadata.
   *
   * @param tensors names to tensors
   * @param path the file to create or replace
   * @throws IllegalArgumentException if a name or tensor is null, or a tensor is named {@code __metadata__}
   * @throws IllegalStateException if a tensor is closed
   * @throws IOException if the file cannot be written
   * @see #saveSafetensors(Map, Map, Path)
   */
  public static void saveSafetensors(Map<String, Tensor> tensors, Path path) throws IOException {
    SafetensorsFormat.write(tensors, Map.of(), path);
  }

  /**
   * Saves tensors as safetensors, following the specification byte for byte:
   * the 8-byte little-endian header size; a compact JSON header holding
   * {@code __metadata__} first (omitted when empty), then each tensor as
   * {@code {"dtype":..,"shape":[..],"data_offsets":[begin,end]}}, padded with
   * spaces to a multiple of 8 bytes; then each tensor's elements, row-major and
   * little-endian, back to back. Tensors are written in order of element size,
   * largest first (ties in iteration order), so that every tensor is aligned to
   * its element size in the file, as the reference writer arranges them; the
   * header lists them in that same order. Strings are escaped as serde_json
   * escapes them. Tensors on a GPU are copied to the CPU, non-contiguous ones
   * made contiguous. The file is written beside {@code path} and renamed over it.
   *
   * @param tensors names to tensors
   * @param metadata free-form string pairs stored as {@code __metadata__}, in iteration order
   * @param path the file to create or replace
   * @throws IllegalArgumentException if a name, tensor, metadata key or value is null, or a tensor is named {@code __metadata__}
   * @throws IllegalStateException if a tensor is closed
   * @throws IOException if the file cannot be written
   */
  public static void saveSafetensors(Map<String, Tensor> tensors, Map<String, String> metadata, Path path) throws IOException {
    SafetensorsFormat.write(tensors, metadata, path);
  }

  static void checkWritable(Map<String, Tensor> tensors) {
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      if (e.getKey() == null) throw new IllegalArgumentException("a tensor name is null");
      if (e.getValue() == null) throw new IllegalArgumentException("tensor '" + e.getKey() + "' is null");
      if (e.getValue().isClosed()) throw new IllegalStateException("tensor '" + e.getKey() + "' is closed");
    }
  }

  // ------------------------------------------------------------------- access

  private void checkOpen() {
    if (closed) throw new IllegalStateException("the state dict is closed");
  }

  /**
   * The tensors by name. The tensors belong to this dict: use them, view them,
   * clone them, but let {@link #close()} free them.
   *
   * @return name to tensor, unmodifiable, in file order
   * @throws IllegalStateException if the dict is closed
   */
  @Override
  public Set<Entry<String, Tensor>> entrySet() {
    checkOpen();
    return tensors.entrySet();
  }

  /**
   * Looks up one tensor ({@code state_dict[key]}).
   *
   * @param key a name
   * @return its tensor, owned by this dict, or {@code null} if there is none
   * @throws IllegalStateException if the dict is closed
   */
  @Override
  public Tensor get(Object key) {
    checkOpen();
    return tensors.get(key);
  }

  /**
   * Tells whether the file holds a tensor of this name ({@code key in state_dict}).
   *
   * @param key a name
   * @return whether there is a tensor of that name
   * @throws IllegalStateException if the dict is closed
   */
  @Override
  public boolean containsKey(Object key) {
    checkOpen();
    return tensors.containsKey(key);
  }

  /**
   * Counts the tensors ({@code len(state_dict)}).
   *
   * @return the number of tensors
   * @throws IllegalStateException if the dict is closed
   */
  @Override
  public int size() {
    checkOpen();
    return tensors.size();
  }

  /**
   * @return the safetensors header's {@code __metadata__} (string to string, in
   *     file order); empty for PyTorch checkpoints
   */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** @return whether the file is memory-mapped (zero-copy) rather than read into memory */
  public boolean isMemoryMapped() {
    return mapped;
  }

  /** @return the file's bytes in memory, mapped or read; package-private, for tests */
  MemorySegment region() {
    return region;
  }

  /** @return whether {@link #close()} has run */
  public boolean isClosed() {
    return closed;
  }

  /**
   * Frees every tensor of the dict and unmaps the file. Closing twice does
   * nothing. Must not run while another thread is using one of the tensors.
   */
  @Override
  public synchronized void close() {
    if (closed) return;
    closed = true;
    try {
      tensors.values().forEach(Tensor::close);
    } finally {
      arena.close();
    }
  }

  /** @return the names and shapes, or that the dict is closed */
  @Override
  public String toString() {
    if (closed) return "StateDict[closed]";
    StringBuilder sb = new StringBuilder("StateDict{");
    boolean first = true;
    for (Entry<String, Tensor> e : tensors.entrySet()) {
      if (!first) sb.append(", ");
      first = false;
      sb.append(e.getKey()).append('=').append(e.getValue());
    }
    return sb.append('}').toString();
  }
}
