package io.github.ddpm4j.cli;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j sample}: draws new images from a trained model. */
@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Generate images with a trained model's EMA weights, as a PNG grid and/or one PNG per image.")
final class SampleCommand implements Callable<Integer> {
  @Mixin
  CheckpointOption model;

  @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "64", description = "Images to generate (default: ${DEFAULT-VALUE}).")
  int count;

  @Mixin
  SamplerMixin sampler;

  @Option(names = "--out", paramLabel = "PNG", description = "Write the images as one grid PNG (default: samples.png unless --output-dir is given).")
  Path out;

  @Option(names = "--output-dir", paramLabel = "DIR", description = "Write one PNG per image into DIR (sample-0000.png, ...).")
  Path outputDir;

  @Mixin
  ExecutionOptions execution;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    Sampling.checkCount("count", count);
    if (out != null) Sampling.checkExtension(out, ".png");
    var device = common.apply();
    Path grid = out == null && outputDir == null ? Path.of("samples.png") : out;
    Sampling.toFiles(model.checkpoint, device, count, sampler, common.seed, grid, outputDir, execution, common);
    if (grid != null) common.report("wrote " + grid);
    if (outputDir != null) common.report("wrote " + count + " images into " + outputDir);
    return 0;
  }
}
