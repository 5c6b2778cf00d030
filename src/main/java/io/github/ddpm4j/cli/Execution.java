package io.github.ddpm4j.cli;

import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Precision;

/**
 * How a command runs the model, as opposed to what it computes: the precision of the
 * forward passes, the layout of the activations, and whether sampling replays CUDA graphs.
 *
 * @param precision the forward passes' precision, or {@code null} for the one the model was trained in
 * @param memoryFormat the layout of the model's weights and activations
 * @param cudaGraphs replay each reverse step's forward pass from a CUDA graph
 */
record Execution(Precision precision, MemoryFormat memoryFormat, boolean cudaGraphs) {
  /** The model's own precision, row-major activations, no graphs. */
  static final Execution DEFAULT = new Execution(null, MemoryFormat.CONTIGUOUS_FORMAT, false);

  /**
   * @param device where the model runs
   * @throws IllegalArgumentException naming the option if a setting is not available on {@code device}
   */
  void check(Device device) {
    if (precision != null) precision.checkDevice(device);
    if (cudaGraphs && !device.isCuda()) {
      throw new IllegalArgumentException("--cuda-graphs needs a CUDA device (--device cuda), got " + device);
    }
  }
}
