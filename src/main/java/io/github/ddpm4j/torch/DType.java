package io.github.ddpm4j.torch;

import static io.github.ddpm4j.ffi.DdpmNative.*;

/**
 * Element types, named as PyTorch names them ({@code torch.float32} and so on),
 * each with its code of {@code enum dd_dtype} in the native header.
 */
public enum DType {
  /** 32-bit IEEE float ({@code torch.float32}). */
  FLOAT32(DD_FLOAT32(), 4, true),
  /** 64-bit IEEE float ({@code torch.float64}). */
  FLOAT64(DD_FLOAT64(), 8, true),
  /** bfloat16 ({@code torch.bfloat16}). */
  BFLOAT16(DD_BFLOAT16(), 2, true),
  /** IEEE half precision ({@code torch.float16}). */
  FLOAT16(DD_FLOAT16(), 2, true),
  /** 64-bit signed integer ({@code torch.int64}). */
  INT64(DD_INT64(), 8, false),
  /** 32-bit signed integer ({@code torch.int32}). */
  INT32(DD_INT32(), 4, false),
  /** 8-bit unsigned integer ({@code torch.uint8}). */
  UINT8(DD_UINT8(), 1, false),
  /** Boolean stored in one byte ({@code torch.bool}). */
  BOOL(DD_BOOL(), 1, false),
  /** 8-bit signed integer ({@code torch.int8}). */
  INT8(DD_INT8(), 1, false),
  /** 16-bit signed integer ({@code torch.int16}). */
  INT16(DD_INT16(), 2, false);

  private static final DType[] BY_CODE = byCode();

  private final int code;
  private final int elementSize;
  private final boolean floatingPoint;

  DType(int code, int elementSize, boolean floatingPoint) {
    this.code = code;
    this.elementSize = elementSize;
    this.floatingPoint = floatingPoint;
  }

  /** @return the native enum code */
  int code() {
    return code;
  }

  /** @return bytes per element */
  public int elementSize() {
    return elementSize;
  }

  /** @return whether this is a floating-point type ({@code torch.is_floating_point}) */
  public boolean isFloatingPoint() {
    return floatingPoint;
  }

  private static DType[] byCode() {
    int max = 0;
    for (DType d : values()) max = Math.max(max, d.code);
    DType[] out = new DType[max + 1];
    for (DType d : values()) out[d.code] = d;
    return out;
  }

  /**
   * @param code a code of {@code enum dd_dtype}
   * @return its dtype
   * @throws IllegalStateException if no dtype has that code
   */
  static DType fromCode(int code) {
    if (code < 0 || code >= BY_CODE.length || BY_CODE[code] == null) {
      throw new IllegalStateException("tensor has a dtype that ddpm4j does not map (code " + code + ")");
    }
    return BY_CODE[code];
  }
}
