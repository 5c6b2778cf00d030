package io.github.ddpm4j.bench;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Torch;
import java.util.List;

/** The two UNet configurations the benchmarks compare, the same as bench/python and bench/cpp build. */
final class BenchModels {
  private BenchModels() {}

  /**
   * @param name {@code cpu-default} (ddpm4j's default CPU model, one channel) or {@code seed} (the seed's default)
   * @return the configuration
   * @throws IllegalArgumentException for another name
   */
  static UNetConfig config(String name) {
    return switch (name) {
      case "cpu-default" -> new UNetConfig(1, 32, List.of(1, 2, 2), List.of(false, false, true), 1, 0.1, 8, 8);
      case "seed" -> new UNetConfig(3, 64, List.of(1, 2, 2, 4), List.of(false, false, true, true), 2, 0.1, 32, 8);
      default -> throw new IllegalArgumentException("unknown benchmark config '" + name + "': use cpu-default or seed");
    };
  }

  /**
   * The model every UNet workload starts from: LibTorch's intra-op threads set, the
   * default generator seeded with 0, the UNet of {@code name} built and moved to {@code device}.
   *
   * @param name a configuration name (see {@link #config})
   * @param device where the parameters go
   * @param threads intra-op threads ({@code torch.set_num_threads})
   * @return the UNet, in training mode
   * @throws IllegalArgumentException for an unknown name
   */
  static UNet model(String name, Device device, int threads) {
    Torch.setNumThreads(threads);
    Torch.manualSeed(0);
    UNet model = new UNet(config(name));
    model.to(device);
    return model;
  }

  /** Image side of every UNet workload, in pixels. */
  static final int IMAGE_SIZE = 32;
}
