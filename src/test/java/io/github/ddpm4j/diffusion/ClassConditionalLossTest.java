package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/** The label-dropping loss of classifier-free guidance (Ho &amp; Salimans 2022, Algorithm 1). */
class ClassConditionalLossTest extends TorchTestBase {
  private static final int CLASSES = 5;
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear(100, 1e-3, 0.1);

  /** Predicts zero noise and remembers the labels of its last call. */
  private static final class Recording implements ClassConditionalModel {
    long[] labels;

    @Override
    public int numClasses() {
      return CLASSES;
    }

    @Override
    public Tensor epsTheta(Tensor xt, Tensor t) {
      throw new AssertionError("the labelled loss calls epsTheta(xt, t, labels)");
    }

    @Override
    public Tensor epsTheta(Tensor xt, Tensor t, Tensor classLabels) {
      labels = classLabels.toLongArray();
      return Torch.zerosLike(xt);
    }
  }

  /** Image i has label i mod 5. */
  private static Tensor labels(int n) {
    long[] l = new long[n];
    for (int i = 0; i < n; i++) l[i] = i % CLASSES;
    return Torch.tensor(l, n);
  }

  @Test
  void labelsAreDroppedWithProbabilityPUncondAndKeptOtherwise() {
    int n = 20_000;
    for (double p : new double[] {0.0, 0.1, 0.5, 1.0}) {
      Recording model = new Recording();
      GaussianDiffusion diffusion = new GaussianDiffusion(model, schedule);
      try (Generator g = new Generator(3); Scope s = Scope.open()) {
        diffusion.loss(Torch.zeros(new long[] {n, 1, 1, 1}, DType.FLOAT32, Device.CPU), labels(n), p, g);
      }
      int dropped = 0;
      for (int i = 0; i < n; i++) {
        if (model.labels[i] == CLASSES) {
          dropped++;
        } else {
          assertEquals(i % CLASSES, model.labels[i], "a kept label is the image's own");
        }
      }
      // the standard error of the fraction is at most sqrt(0.25 / 20000) = 0.0035
      assertEquals(p, dropped / (double) n, 0.012, "fraction dropped at pUncond " + p);
    }
  }

  @Test
  void twoRanksDropTheLabelsThatOneProcessDrops() {
    int batch = 64;
    Recording whole = new Recording();
    Recording[] ranks = {new Recording(), new Recording()};
    double wholeLoss;
    double[] rankLoss = new double[2];
    try (Scope s = Scope.open()) {
      Tensor x0;
      try (Generator g = new Generator(8)) {
        x0 = Torch.randn(new long[] {batch, 1, 2, 2}, DType.FLOAT32, Device.CPU, g);
      }
      Tensor y = labels(batch);
      try (Generator g = new Generator(4)) {
        wholeLoss = new GaussianDiffusion(whole, schedule).loss(x0, y, 0.3, g).item();
      }
      for (int r = 0; r < 2; r++) {
        try (Generator g = new Generator(4)) {
          rankLoss[r] = new GaussianDiffusion(ranks[r], schedule)
              .loss(x0.slice(0, r, batch, 2), y.slice(0, r, batch, 2), 0.3, g, batch, r, 2).item();
        }
      }
    }
    for (int i = 0; i < batch; i++) assertEquals(whole.labels[i], ranks[i % 2].labels[i / 2], "label of image " + i);
    assertEquals(wholeLoss, (rankLoss[0] + rankLoss[1]) / 2, 1e-6);
    long kept = java.util.Arrays.stream(whole.labels).filter(l -> l < CLASSES).count();
    assertTrue(kept > 0 && kept < batch, "some dropped, some kept");
  }

  @Test
  void theDropsAreDrawnAfterTheTimestepsAndTheNoise() {
    int n = 16;
    Recording model = new Recording();
    long[] expected = new long[n];
    try (Scope s = Scope.open()) {
      try (Generator g = new Generator(21)) {
        Torch.randint(0, 100, new long[] {n}, Device.CPU, g);
        Torch.randn(new long[] {n, 1, 2, 2}, DType.FLOAT32, Device.CPU, g);
        float[] u = Torch.rand(new long[] {n}, DType.FLOAT32, Device.CPU, g).toFloatArray();
        for (int i = 0; i < n; i++) expected[i] = u[i] < 0.5 ? CLASSES : i % CLASSES;
      }
      try (Generator g = new Generator(21)) {
        new GaussianDiffusion(model, schedule).loss(Torch.zeros(new long[] {n, 1, 2, 2}, DType.FLOAT32, Device.CPU), labels(n), 0.5, g);
      }
    }
    assertArrayEquals(expected, model.labels);
  }

  @Test
  void badArgumentsAreRefused() {
    GaussianDiffusion conditional = new GaussianDiffusion(new Recording(), schedule);
    GaussianDiffusion unconditional = new GaussianDiffusion((xt, t) -> Torch.zerosLike(xt), schedule);
    try (Generator g = new Generator(1); Scope s = Scope.open()) {
      Tensor x0 = Torch.zeros(new long[] {4, 1, 2, 2}, DType.FLOAT32, Device.CPU);
      IllegalArgumentException notConditional = assertThrows(IllegalArgumentException.class, () -> unconditional.loss(x0, labels(4), 0.1, g));
      assertTrue(notConditional.getMessage().contains("class-conditional"), notConditional.getMessage());
      IllegalArgumentException p = assertThrows(IllegalArgumentException.class, () -> conditional.loss(x0, labels(4), 1.5, g));
      assertTrue(p.getMessage().contains("pUncond"), p.getMessage());
      IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> conditional.loss(x0, labels(3), 0.1, g));
      assertTrue(shape.getMessage().contains("classLabels"), shape.getMessage());
      Tensor t = Torch.zeros(new long[] {4}, DType.INT64, Device.CPU);
      IllegalArgumentException direct = assertThrows(IllegalArgumentException.class, () -> unconditional.loss(x0, t, x0, labels(4)));
      assertTrue(direct.getMessage().contains("not class-conditional"), direct.getMessage());
    }
  }
}
