package io.github.ddpm4j.torch;

/**
 * Element types, named as PyTorch names them ({@code torch.float32} and so on).
 * The codes match {@code enum dd_dtype} in the native header.
 */
public enum DType {
  /** 32-bit IEEE float ({@code torch.float32}). */
  FLOAT32(0, 4, true),
  /** 64-bit IEEE float ({@code torch.float64}). */
  FLOAT64(1, 8, true),
  /** bfloat16 ({@code torch.bfloat16}). */
  BFLOAT16(2, 2, true),
  /** IEEE half precision ({@code torch.float16}). */
  FLOAT16(3, 2, true),
  /** 64-bit signed integer ({@code torch.int64}). */
  INT64(4, 8, false),
  /** 32-bit signed integer ({@code torch.int32}). */
  INT32(5, 4, false),
  /** 8-bit unsigned integer ({@code torch.uint8}). */
  UINT8(6, 1, false),
  /** Boolean stored in one byte ({@code torch.bool}). */
  BOOL(7, 1, false),
  /** 8-bit signed integer ({@code torch.int8}). */
  INT8(8, 1, false),
  /** 16-bit signed integer ({@code torch.int16}). */
  INT16(9, 2, false);

  private static final DType[] BY_CODE = values();

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

  static DType fromCode(int code) {
    if (code < 0 || code >= BY_CODE.length) {
      throw new IllegalStateException("tensor has a dtype that ddpm4j does not map (code " + code + ")");
    }
    return BY_CODE[code];
  }
}
