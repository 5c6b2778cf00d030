package io.github.ddpm4j.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The {@code --checkpoint} option of the commands that load a trained model. */
final class CheckpointOption {
  @Option(names = "--checkpoint", paramLabel = "FILE", defaultValue = "runs/fashion-mnist/checkpoint.pt",
      description = "Checkpoint from 'ddpm4j train' (default: ${DEFAULT-VALUE}).")
  Path checkpoint;
}
