package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;

/**
 * Byte-level serialization that LibTorch performs itself.
 */
public final class Serialization {
  static {
    NativeLibrary.load();
  }

  private Serialization() {}

  /**
   * Copies the dd_bytes buffer that a downcall returned into a Java array and frees it, after
   * checking the call's error record.
   *
   * @param owner the owner of the handles the call read (kept reachable until it returned)
   */
  static byte[] takeBytes(Native n, MemorySegment bytes, Object owner) {
    n.check(owner);
    try {
      long size = dd_bytes_size(bytes);
      if (size > Integer.MAX_VALUE - 8) throw new IllegalStateException("serialized data is larger than 2 GiB");
      return dd_bytes_data(bytes).reinterpret(size).toArray(ValueLayout.JAVA_BYTE);
    } finally {
      dd_bytes_free(bytes);
    }
  }

  /**
   * Writes {@code {name: tensor}} in the zip format of {@code torch.save}
   * ({@code torch::pickle_save}); Python's {@code torch.load} reads it back as
   * a {@code dict}. Tensors are detached and copied to the CPU first.
   *
   * @param tensors names in iteration order (use a {@code LinkedHashMap} to fix the order)
   * @return the file's bytes
   * @throws TorchException if LibTorch cannot serialize a tensor
   */
  public static byte[] pickleSaveDict(Map<String, Tensor> tensors) {
    Native n = Native.get();
    List<Map.Entry<String, Tensor>> entries = List.copyOf(tensors.entrySet());
    try (Arena a = Arena.ofConfined()) {
      MemorySegment names = a.allocate(ValueLayout.ADDRESS, Math.max(1, entries.size()));
      MemorySegment handles = a.allocate(ValueLayout.ADDRESS, Math.max(1, entries.size()));
      for (int i = 0; i < entries.size(); i++) {
        names.setAtIndex(ValueLayout.ADDRESS, i, a.allocateFrom(entries.get(i).getKey()));
        handles.setAtIndex(ValueLayout.ADDRESS, i, entries.get(i).getValue().handle());
      }
      return takeBytes(n, dd_pickle_save_dict(n.ctx, names, handles, entries.size()), entries);
    }
  }
}
