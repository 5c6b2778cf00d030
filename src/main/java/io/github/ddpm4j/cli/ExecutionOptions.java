package io.github.ddpm4j.cli;

import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Precision;
import picocli.CommandLine.Option;

/**
 * How a command runs the model, as opposed to what it computes, for every command that runs it:
 * the precision of the forward passes, the layout of the activations, and whether sampling replays
 * CUDA graphs. None of them changes results beyond float rounding.
 */
final class ExecutionOptions {
  @Option(names = "--precision", paramLabel = "P",
      description = {"The forward passes' precision: fp32, or mixed precision bf16 (CPU or CUDA) or fp16 (CUDA; training",
          "adds loss scaling) (default: fp32 to train, the checkpoint's own to sample)."})
  Precision precision;

  @Option(names = "--channels-last", description = "Lay the model's activations out channels-last (speed only; see bench/).")
  boolean channelsLast;

  @Option(names = "--cuda-graphs",
      description = "Replay each sampling step's forward pass from a CUDA graph (CUDA only; falls back to eager where capture fails).")
  boolean cudaGraphs;

  /** @return the precision asked for, or null for the model's own ({@code fp32} when training) */
  Precision precision() {
    return precision;
  }

  /** @return {@link MemoryFormat#CHANNELS_LAST} with {@code --channels-last}, else {@link MemoryFormat#CONTIGUOUS_FORMAT} */
  MemoryFormat memoryFormat() {
    return channelsLast ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS_FORMAT;
  }

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
