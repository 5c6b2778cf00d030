package io.github.ddpm4j.torch;

import io.github.ddpm4j.ffi.DdpmNative;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where a tensor lives: the CPU or one CUDA device ({@code torch.device}).
 *
 * @param type CPU or CUDA
 * @param index the CUDA device ordinal, or -1 for the CPU
 */
public record Device(Type type, int index) {
  /** Device kinds, each with its code of {@code enum dd_device_type}. */
  public enum Type {
    /** Host memory. */
    CPU(DdpmNative.DD_CPU()),
    /** An NVIDIA GPU through CUDA. */
    CUDA(DdpmNative.DD_CUDA());

    private final int code;

    Type(int code) {
      this.code = code;
    }

    /** @return the native enum code */
    int code() {
      return code;
    }
  }

  /** The CPU. */
  public static final Device CPU = new Device(Type.CPU, -1);

  private static final Pattern SPEC = Pattern.compile("(cpu|cuda)(?::(\\d+))?");

  /**
   * Validates the components.
   *
   * @throws IllegalArgumentException if a CPU device has an index other than -1, or a CUDA index is negative
   */
  public Device {
    if (type == null) throw new IllegalArgumentException("device type is null");
    if (type == Type.CPU && index != -1) throw new IllegalArgumentException("the CPU device has no index, got " + index);
    if (type == Type.CUDA && index < 0) throw new IllegalArgumentException("CUDA device index must be >= 0, got " + index);
  }

  /**
   * @param index CUDA device ordinal, &gt;= 0
   * @return CUDA device {@code index}
   * @throws IllegalArgumentException if index is negative
   */
  public static Device cuda(int index) {
    return new Device(Type.CUDA, index);
  }

  /**
   * Parses PyTorch's device strings: {@code cpu}, {@code cuda}, {@code cuda:N}.
   *
   * @param spec the device string
   * @return the device ({@code cuda} means {@code cuda:0})
   * @throws IllegalArgumentException if the string is not one of those forms
   */
  public static Device parse(String spec) {
    Matcher m = SPEC.matcher(spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("device must be cpu, cuda or cuda:N, got '" + spec + "'");
    }
    if (m.group(1).equals("cpu")) {
      if (m.group(2) != null) throw new IllegalArgumentException("the CPU device takes no index: '" + spec + "'");
      return CPU;
    }
    if (m.group(2) == null) return cuda(0);
    try {
      return cuda(Integer.parseInt(m.group(2)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("CUDA device index is out of range: '" + spec + "'");
    }
  }

  /** @return whether this is a CUDA device */
  public boolean isCuda() {
    return type == Type.CUDA;
  }

  /** @return PyTorch's spelling: {@code cpu} or {@code cuda:N} */
  @Override
  public String toString() {
    return type == Type.CPU ? "cpu" : "cuda:" + index;
  }
}
