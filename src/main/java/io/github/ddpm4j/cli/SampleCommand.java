package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.SamplerOptions;
import io.github.ddpm4j.diffusion.SamplerType;
import io.github.ddpm4j.torch.Precision;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j sample}: draws new images from a trained model. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Generate images with a trained model's EMA weights, as a PNG grid and/or single PNGs.")
final class SampleCommand implements Callable<Integer> {
  @Mixin
  CheckpointOption model;

  @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "64", description = "Images to generate (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--sampler", paramLabel = "NAME", defaultValue = "ddim", description = "ddim or ancestral (default: ${DEFAULT-VALUE}).")
  SamplerType sampler;

  @Option(names = "--sampling-steps", paramLabel = "S", defaultValue = "100",
      description = "DDIM steps S, at most the model's T (default: ${DEFAULT-VALUE}).")
  int samplingSteps;

  @Option(names = "--eta", paramLabel = "ETA", defaultValue = "0.0", description = "DDIM eta: 0 deterministic, 1 ancestral-like (default: ${DEFAULT-VALUE}).")
  double eta;

  @Option(names = "--grid", paramLabel = "PNG", description = "Write the images as one grid PNG (default: samples.png unless --singles is given).")
  Path grid;

  @Option(names = "--singles", paramLabel = "DIR", description = "Write one PNG per image into DIR.")
  Path singles;

  @Mixin
  ProgressOption progress;

  @Option(names = "--precision", paramLabel = "P",
      description = "fp32, bf16 (CPU or CUDA) or fp16 (CUDA) for the model's forward passes (default: the one it was trained in).")
  String precision;

  @Mixin
  ChannelsLastOption layout;

  @Option(names = "--cuda-graphs",
      description = "Replay each step's forward pass from a CUDA graph (CUDA only; falls back to eager where capture fails).")
  boolean cudaGraphs;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    Sampling.checkCount("count", count);
    Precision p = precision == null ? null : Precision.parse(precision);
    var device = common.apply();
    Path g = grid == null && singles == null ? Path.of("samples.png") : grid;
    Execution execution = new Execution(p, layout.memoryFormat(), cudaGraphs);
    Sampling.fromCheckpoint(model.checkpoint, device, count, new SamplerOptions(sampler, samplingSteps, eta), common.seed, g, singles,
        progress.shown(), execution);
    if (g != null) common.report("wrote " + g);
    if (singles != null) common.report("wrote " + count + " images into " + singles);
    return 0;
  }
}
