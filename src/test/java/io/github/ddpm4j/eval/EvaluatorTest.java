package io.github.ddpm4j.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.nn.Fixtures;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * FID and KID against PyTorch's float64 values computed by another route (fixtures/eval/metrics.json,
 * src/test/python/make_eval_fixtures.py), against their analytic values, and the evaluator's errors.
 */
class EvaluatorTest extends TorchTestBase {


  private static JsonObject cases() {
    return TorchTestBase.fixtureJson("eval/metrics.json").getAsJsonObject().getAsJsonObject("cases");
  }

  @Test
  void fidAndMmdMatchPyTorch() {
    for (Map.Entry<String, JsonElement> e : cases().entrySet()) {
      JsonObject c = e.getValue().getAsJsonObject();
      Tensor x = Fixtures.tensor(c.get("x"));
      Tensor y = Fixtures.tensor(c.get("y"));
      double fid = c.get("fid").getAsDouble();
      double mmd = c.get("mmd2").getAsDouble();
      assertEquals(fid, Evaluator.frechetDistance(x, y), 1e-6 * Math.max(1, Math.abs(fid)) + 1e-4, e.getKey() + " FID");
      assertEquals(mmd, Evaluator.mmd2(x, y), 1e-9 * Math.max(1, Math.abs(mmd)), e.getKey() + " MMD^2");
      // FID is symmetric in its two sets
      assertEquals(fid, Evaluator.frechetDistance(y, x), 1e-6 * Math.max(1, Math.abs(fid)) + 1e-4, e.getKey() + " FID(y, x)");
    }
  }

  @Test
  void fidOfASetWithItselfIsZero() {
    Tensor x = Fixtures.tensor(cases().getAsJsonObject("full_rank").get("x"));
    assertEquals(0, Evaluator.frechetDistance(x, x), 1e-9);
  }

  @Test
  void fidOfUnitGaussiansIsTheSquaredMeanDistance() {
    // FID(N(0, I), N(mu, I)) = |mu|^2: the covariance terms cancel (tr I + tr I - 2 tr I)
    try (Generator g = new Generator(7)) {
      int d = 8;
      Tensor a = Torch.randn(new long[] {20_000, d}, DType.FLOAT64, Device.CPU, g);
      Tensor mu = Torch.full(new long[] {d}, 0.5, DType.FLOAT64, Device.CPU); // |mu|^2 = 2
      Tensor b = Torch.randn(new long[] {20_000, d}, DType.FLOAT64, Device.CPU, g).add(mu);
      assertEquals(2.0, Evaluator.frechetDistance(a, b), 0.05);
    }
    double[][] identity = {{1, 0}, {0, 1}};
    assertEquals(25.0, Evaluator.frechetDistance(new double[] {0, 0}, identity, new double[] {3, 4}, identity), 1e-12);
    // two 1-d Gaussians: (mu1 - mu2)^2 + (sigma1 - sigma2)^2
    assertEquals(1 + 1, Evaluator.frechetDistance(new double[] {0}, new double[][] {{1}}, new double[] {1}, new double[][] {{4}}), 1e-12);
  }

  @Test
  void kidOfOneDistributionIsZeroWithinItsError() {
    try (Generator g = new Generator(3)) {
      Tensor a = Torch.randn(new long[] {2000, 16}, DType.FLOAT32, Device.CPU, g);
      Tensor b = Torch.randn(new long[] {2000, 16}, DType.FLOAT32, Device.CPU, g);
      double[] kid = Evaluator.kernelDistance(a, b, 10, 500, 0);
      assertTrue(Math.abs(kid[0]) < 3 * kid[1] + 1e-6, () -> kid[0] + " +- " + kid[1]);
      Tensor shifted = b.add(1.0);
      double[] far = Evaluator.kernelDistance(a, shifted, 10, 500, 0);
      assertTrue(far[0] > 10 * far[1] && far[0] > 0.1, () -> far[0] + " +- " + far[1]);
    }
  }

  @Test
  void kidWithWholeSetsAsSubsetsIsTheMmdWithNoSpread() {
    JsonObject c = cases().getAsJsonObject("full_rank");
    Tensor x = Fixtures.tensor(c.get("x")).narrow(0, 0, 30);
    Tensor y = Fixtures.tensor(c.get("y"));
    // subsets of size 30 of 30 rows are the whole sets, permuted: every estimate is the same MMD^2
    double[] kid = Evaluator.kernelDistance(x, y, 4, 1000, 5);
    assertEquals(Evaluator.mmd2(x, y), kid[0], 1e-9);
    assertEquals(0, kid[1], 1e-9);
  }

  @Test
  void metricsRefuseBadFeatureSets() {
    Tensor one = Torch.zeros(1, 4);
    Tensor two = Torch.zeros(2, 4);
    assertThrows(IllegalArgumentException.class, () -> Evaluator.frechetDistance(one, two));
    assertThrows(IllegalArgumentException.class, () -> Evaluator.frechetDistance(two, Torch.zeros(2, 5)));
    assertThrows(IllegalArgumentException.class, () -> Evaluator.mmd2(two, one));
    assertThrows(IllegalArgumentException.class, () -> Evaluator.kernelDistance(two, two, 1, 10, 0));
    assertThrows(IllegalArgumentException.class,
        () -> Evaluator.frechetDistance(new double[] {Double.NaN}, new double[][] {{1}}, new double[] {0}, new double[][] {{1}}));
  }

  @Test
  void classFractionIsTheShareOfImages() {
    Evaluator.Metrics m = new Evaluator.Metrics(4, 1, 0, 0, new long[] {1, 0, 0, 0, 0, 0, 0, 3, 0, 0});
    assertEquals(0.75, m.classFraction(7));
    assertEquals(0.25, m.classFraction(0));
    assertThrows(IllegalArgumentException.class, () -> m.classFraction(10));
  }

  @Test
  void boxBlurAveragesAndPadsWithBlack() {
    Tensor x = Torch.full(new long[] {1, 1, 3, 3}, -1.0, DType.FLOAT32, Device.CPU);
    x.select(2, 1).select(2, 1).fill_(1.0); // one white pixel in the middle
    float[] b = Evaluator.boxBlur(x, 3).toFloatArray();
    // every 3x3 window holds the white pixel (+1) and eight black (-1) ones, the padding included
    for (float v : b) assertEquals(-7.0 / 9, v, 1e-6);
  }

  /** The shipped classifier on Fashion-MNIST: skipped where the data set is not installed. */
  @Test
  void shippedEvaluatorScoresRealImagesNearTheFloorAndRefusesBadImages() throws Exception {
    assumeTrue(Files.isDirectory(Datasets.FASHION_MNIST), "Fashion-MNIST is not installed");
    try (Evaluator ev = Evaluator.fashionMnist(Device.CPU)) {
      assertEquals(10_000, ev.referenceSize());
      Evaluator.Metrics real = ev.evaluateReal(500, 1);
      Evaluator.Metrics noise;
      try (Generator g = new Generator(1)) {
        noise = ev.evaluate(Torch.rand(new long[] {500, 1, 28, 28}, DType.FLOAT32, Device.CPU, g).mul(2).sub(1));
      }
      assertTrue(real.fid() < noise.fid() / 10, real + " vs " + noise);
      assertTrue(real.kid() < noise.kid() / 10, real + " vs " + noise);
      assertEquals(500, java.util.Arrays.stream(real.classCounts()).sum());
      // real images spread over all ten classes, about a tenth each
      for (int k = 0; k < 10; k++) assertTrue(real.classFraction(k) > 0.05 && real.classFraction(k) < 0.15, real.toString());

      IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> ev.evaluate(Torch.zeros(4, 3, 28, 28)));
      assertTrue(shape.getMessage().contains("[n, 1, 28, 28]"), shape.getMessage());
      IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> ev.evaluate(Torch.zeros(4, 1, 32, 32)));
      assertTrue(size.getMessage().contains("[4, 1, 32, 32]"), size.getMessage());
      IllegalArgumentException few = assertThrows(IllegalArgumentException.class, () -> ev.evaluate(Torch.zeros(1, 1, 28, 28)));
      assertTrue(few.getMessage().contains("at least 2"), few.getMessage());
      Tensor nan = Torch.zeros(3, 1, 28, 28);
      nan.select(0, 1).select(1, 4).select(1, 5).fill_(Double.NaN);
      IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> ev.evaluate(nan));
      assertTrue(bad.getMessage().startsWith("1 of 3 images hold NaN"), bad.getMessage());
      assertThrows(IllegalArgumentException.class, () -> ev.evaluateReal(1, 0));
    }
  }
}
