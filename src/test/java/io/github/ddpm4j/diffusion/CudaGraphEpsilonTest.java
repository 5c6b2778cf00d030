package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.Test;

/** Sampling through CUDA graphs: the same images as eager sampling on a GPU, a clear error elsewhere. */
class CudaGraphEpsilonTest extends TorchTestBase {
  @Test
  void theCpuIsRefused() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new CudaGraphEpsilon((x, t) -> x, Device.CPU));
    assertEquals("CUDA graphs need a CUDA device, got cpu", e.getMessage());
  }

  @Test
  void graphedDdimSamplingMatchesEagerSamplingOnAGpu() {
    assumeTrue(Torch.cudaIsAvailable(), "no CUDA device here");
    Device gpu = Device.cuda(0);
    UNetConfig config = UNetConfig.builder().imageChannels(1).nChannels(8).chMults(1, 2).isAttn(false, true).nBlocks(1)
        .dropout(0.0).nGroups(4).finalGroups(4).build();
    try (UNet unet = new UNet(config); NoiseSchedule schedule = NoiseSchedule.linear(100, 1e-3, 0.1, gpu);
         Scope s = Scope.open(); GradMode g = GradMode.inferenceMode()) {
      unet.to(gpu);
      unet.eval();
      long[] shape = {1, 8, 8};
      Tensor eager = new DdimSampler(new GaussianDiffusion(unet, schedule), 10, 0.0).sample(4, shape, 5, Progress.NONE);
      try (CudaGraphEpsilon graphs = new CudaGraphEpsilon(unet, gpu)) {
        Tensor graphed = new DdimSampler(new GaussianDiffusion(graphs, schedule), 10, 0.0).sample(4, shape, 5, Progress.NONE);
        assertEquals(1, graphs.graphs(), "one batch shape, one graph");
        assertEquals(0, graphs.fallbacks());
        assertTrue(graphed.sub(eager).abs().amax().item() < 1e-4, "the same images");
      }
    }
  }
}
