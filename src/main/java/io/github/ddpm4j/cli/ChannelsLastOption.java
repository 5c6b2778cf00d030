package io.github.ddpm4j.cli;

import io.github.ddpm4j.torch.MemoryFormat;
import picocli.CommandLine.Option;

/** The {@code --channels-last} option of the commands that run the model: the layout of its activations. */
final class ChannelsLastOption {
  @Option(names = "--channels-last", description = "Lay the model's activations out channels-last (speed only; see bench/).")
  boolean channelsLast;

  /** @return {@link MemoryFormat#CHANNELS_LAST} with {@code --channels-last}, else {@link MemoryFormat#CONTIGUOUS_FORMAT} */
  MemoryFormat memoryFormat() {
    return channelsLast ? MemoryFormat.CHANNELS_LAST : MemoryFormat.CONTIGUOUS_FORMAT;
  }
}
