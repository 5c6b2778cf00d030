package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.Test;

/** A few optimisation steps of Algorithm 1 on a tiny UNet. */
class TrainingTest extends TorchTestBase {
  private static final int STEPS = 30;
  private static final long BATCH = 8;

  /** Two 8x8 patterns in [-1, 1] (a checkerboard and a ramp), alternating over the batch. */
  private static Tensor data() {
    float[] v = new float[(int) BATCH * 64];
    for (int b = 0; b < BATCH; b++) {
      for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 8; j++) {
          v[b * 64 + i * 8 + j] = b % 2 == 0 ? ((i / 2 + j / 2) % 2 == 0 ? 0.8f : -0.8f) : (i - 3.5f) / 3.5f;
        }
      }
    }
    return Torch.tensor(v, BATCH, 1, 8, 8);
  }

  private static double fixedLoss(GaussianDiffusion diffusion, UNet unet, Tensor x0, Tensor t, Tensor eps) {
    unet.eval();
    try (GradMode g = GradMode.noGrad(); Scope scope = Scope.open()) {
      return diffusion.loss(x0, t, eps).item();
    } finally {
      unet.train(true);
    }
  }

  @Test
  void lossFallsWithAdam() {
    Torch.manualSeed(1234);
    UNetConfig config = UNetConfig.builder().imageChannels(1).nChannels(8).chMults(1, 2).isAttn(false, true).nBlocks(1)
        .dropout(0.0).nGroups(4).finalGroups(4).build();
    try (UNet unet = new UNet(config); NoiseSchedule schedule = NoiseSchedule.linear(100, 1e-3, 0.1);
        Generator g = new Generator(99); Adam adam = new Adam(unet.parameters(), 3e-3); Scope scope = Scope.open()) {
      GaussianDiffusion diffusion = new GaussianDiffusion(unet, schedule);
      Tensor x0 = data();
      Tensor evalT;
      Tensor evalEps;
      try (Generator e = new Generator(7)) {
        evalT = Torch.randint(0, 100, new long[] {BATCH}, Device.CPU, e);
        evalEps = Torch.randn(new long[] {BATCH, 1, 8, 8}, DType.FLOAT32, Device.CPU, e);
      }
      double before = fixedLoss(diffusion, unet, x0, evalT, evalEps);
      for (int step = 0; step < STEPS; step++) {
        try (Scope s = Scope.open()) {
          adam.zeroGrad();
          diffusion.loss(x0, g).backward();
          adam.step();
        }
      }
      double after = fixedLoss(diffusion, unet, x0, evalT, evalEps);
      System.out.printf("tiny UNet training: fixed-batch loss %.4f -> %.4f after %d Adam steps%n", before, after, STEPS);
      assertTrue(after < 0.6 * before, "loss " + before + " -> " + after);
    }
  }
}
