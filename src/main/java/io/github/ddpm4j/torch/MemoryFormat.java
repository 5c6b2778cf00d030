package io.github.ddpm4j.torch;

import io.github.ddpm4j.ffi.DdpmNative;

/**
 * How a 4-d {@code [batch, channels, height, width]} tensor's elements are laid out in
 * memory ({@code torch.memory_format}). The shape and every op's result are the same in
 * either; only the speed differs.
 */
public enum MemoryFormat {
  /** Row-major: {@code [N, C, H, W]} stored in that order ({@code torch.contiguous_format}). */
  CONTIGUOUS_FORMAT(DdpmNative.DD_CONTIGUOUS_FORMAT()),
  /**
   * {@code [N, C, H, W]} stored as N, H, W, C ({@code torch.channels_last}): the channels of a
   * pixel lie together, as oneDNN's (CPU) and cuDNN's convolution kernels prefer; 4-d tensors only.
   */
  CHANNELS_LAST(DdpmNative.DD_CHANNELS_LAST());

  private final int code;

  MemoryFormat(int code) {
    this.code = code;
  }

  int code() {
    return code;
  }
}
