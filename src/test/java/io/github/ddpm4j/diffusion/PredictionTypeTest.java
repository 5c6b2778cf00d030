package io.github.ddpm4j.diffusion;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * The prediction types (epsilon, v, x_0) and the loss weightings of {@link GaussianDiffusion}, against values
 * derived by hand in plain double arithmetic.
 */
class PredictionTypeTest extends TorchTestBase {
  private static final int T = 1000;
  @AutoClose private static final NoiseSchedule schedule = NoiseSchedule.linear();
  private static final double[] X0 = {-0.8, -0.2, 0.3, 0.9, 0.5, -0.1, 0.0, 0.7};
  private static final double[] EPS = {0.4, -1.3, 0.2, 2.1, -0.6, 0.9, -0.05, 1.1};
  private static final double[] OUT = {0.1, 0.5, -0.3, 1.2, -0.9, 0.25, 0.6, -0.4};
  private static final long[] STEPS = {10, 700};

  /** alphaBar_t of the default linear schedule, by plain double arithmetic. */
  private static double alphaBar(long t) {
    double p = 1;
    for (int i = 0; i <= t; i++) p *= 1 - (1e-4 + (0.02 - 1e-4) * i / (T - 1));
    return p;
  }

  private static Tensor images(double[] values) {
    return Torch.tensor(values, 2, 1, 2, 2);
  }

  /** A network that returns OUT whatever it is given. */
  private static final EpsilonModel FIXED = (xt, t) -> images(OUT).to(xt.dtype());

  private static GaussianDiffusion diffusion(EpsilonModel model, PredictionType type, LossWeighting weighting, double gamma) {
    return new GaussianDiffusion(model, schedule, VarianceType.FIXED_LARGE, false, type, weighting, gamma);
  }

  /** The weight of min-SNR-gamma on each prediction type's error (Hang et al. 2023), by hand. */
  private static double minSnrWeight(PredictionType type, double alphaBar, double gamma) {
    double snr = alphaBar / (1 - alphaBar);
    double clipped = Math.min(snr, gamma);
    return switch (type) {
      case EPSILON -> clipped / snr;
      case V_PREDICTION -> clipped / (snr + 1);
      case SAMPLE -> clipped;
    };
  }

  @Test
  void conversionsRoundTripForEveryType() {
    for (PredictionType type : PredictionType.values()) {
      GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.constant(0), schedule, type);
      for (int t : new int[] {0, 250, 999}) {
        try (Scope scope = Scope.open()) {
          Tensor x0 = images(X0);
          Tensor eps = images(EPS);
          Tensor steps = Torch.full(new long[] {2}, t, DType.INT64, schedule.device());
          Tensor xt = d.qSample(x0, steps, eps);
          GaussianDiffusion.Estimate e = d.estimate(xt, t, d.target(x0, steps, eps));
          double[] x0Hat = AnalyticModels.values(e.x0Hat());
          double[] epsHat = AnalyticModels.values(e.epsTheta());
          for (int i = 0; i < X0.length; i++) {
            assertEquals(X0[i], x0Hat[i], 1e-9, type + " x0Hat at t=" + t);
            assertEquals(EPS[i], epsHat[i], 1e-9, type + " eps at t=" + t);
          }
        }
      }
    }
  }

  @Test
  void outputsAreReadByHand() {
    int t = 300;
    double a = Math.sqrt(alphaBar(t));
    double s = Math.sqrt(1 - alphaBar(t));
    double[] xt = {0.3, -1.1, 0.8, 0.05, 1.4, -0.2, 0.6, -0.9};
    for (PredictionType type : PredictionType.values()) {
      try (Scope scope = Scope.open()) {
        GaussianDiffusion.Estimate e = new GaussianDiffusion(AnalyticModels.constant(0), schedule, type).estimate(images(xt), t, images(OUT));
        double[] x0Hat = AnalyticModels.values(e.x0Hat());
        double[] eps = AnalyticModels.values(e.epsTheta());
        for (int i = 0; i < xt.length; i++) {
          double wantX0 = switch (type) {
            case EPSILON -> (xt[i] - s * OUT[i]) / a;
            case V_PREDICTION -> a * xt[i] - s * OUT[i];
            case SAMPLE -> OUT[i];
          };
          assertEquals(wantX0, x0Hat[i], 1e-9, type + " x0Hat");
          assertEquals((xt[i] - a * wantX0) / s, eps[i], 1e-9, type + " eps");
        }
      }
    }
  }

  @Test
  void clippingClipsX0HatAndRecomputesEps() {
    int t = 500;
    double a = Math.sqrt(alphaBar(t));
    double s = Math.sqrt(1 - alphaBar(t));
    double[] out = {3.0, -2.5, 0.5, -0.25, 1.5, 0.0, -1.0, 0.75};
    double[] xt = {0.3, -1.1, 0.8, 0.05, 1.4, -0.2, 0.6, -0.9};
    GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.constant(0), schedule, VarianceType.FIXED_LARGE, true,
        PredictionType.SAMPLE, LossWeighting.UNIFORM, 5);
    try (Scope scope = Scope.open()) {
      GaussianDiffusion.Estimate e = d.estimate(images(xt), t, images(out));
      double[] x0Hat = AnalyticModels.values(e.x0Hat());
      double[] eps = AnalyticModels.values(e.epsTheta());
      for (int i = 0; i < out.length; i++) {
        double clipped = Math.max(-1, Math.min(1, out[i]));
        assertEquals(clipped, x0Hat[i], 1e-12);
        assertEquals((xt[i] - a * clipped) / s, eps[i], 1e-9);
      }
    }
  }

  @Test
  void velocityTargetByHand() {
    GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.constant(0), schedule, PredictionType.V_PREDICTION);
    try (Scope scope = Scope.open()) {
      double[] v = AnalyticModels.values(d.target(images(X0), Torch.tensor(STEPS, 2), images(EPS)));
      for (int i = 0; i < X0.length; i++) {
        double ab = alphaBar(STEPS[i / 4]);
        assertEquals(Math.sqrt(ab) * EPS[i] - Math.sqrt(1 - ab) * X0[i], v[i], 1e-12);
      }
    }
  }

  @Test
  void minSnrWeightsAtAFewTimesteps() {
    long[] steps = {0, 100, 300, 500, 999};
    for (PredictionType type : PredictionType.values()) {
      for (double gamma : new double[] {5, 1}) {
        GaussianDiffusion d = diffusion(AnalyticModels.constant(0), type, LossWeighting.MIN_SNR, gamma);
        try (Scope scope = Scope.open()) {
          double[] w = AnalyticModels.values(d.lossWeights(Torch.tensor(steps, steps.length)));
          for (int i = 0; i < steps.length; i++) {
            double want = minSnrWeight(type, alphaBar(steps[i]), gamma);
            assertEquals(want, w[i], 1e-9 * Math.max(1, want), type + " gamma " + gamma + " t=" + steps[i]);
          }
        }
      }
      try (Scope scope = Scope.open()) {
        double[] uniform = AnalyticModels.values(diffusion(AnalyticModels.constant(0), type, LossWeighting.UNIFORM, 5)
            .lossWeights(Torch.tensor(steps, steps.length)));
        for (double u : uniform) assertEquals(1.0, u);
      }
    }
  }

  @Test
  void lossOfEachTypeAndWeightingForAFixedModel() {
    for (PredictionType type : PredictionType.values()) {
      for (LossWeighting weighting : LossWeighting.values()) {
        double gamma = 2.5;
        GaussianDiffusion d = diffusion(FIXED, type, weighting, gamma);
        double want = 0;
        for (int b = 0; b < 2; b++) {
          double ab = alphaBar(STEPS[b]);
          double mse = 0;
          for (int i = b * 4; i < b * 4 + 4; i++) {
            double target = switch (type) {
              case EPSILON -> EPS[i];
              case V_PREDICTION -> Math.sqrt(ab) * EPS[i] - Math.sqrt(1 - ab) * X0[i];
              case SAMPLE -> X0[i];
            };
            mse += (OUT[i] - target) * (OUT[i] - target) / 4;
          }
          double w = weighting == LossWeighting.UNIFORM ? 1 : minSnrWeight(type, ab, gamma);
          want += w * mse / 2;
        }
        try (Scope scope = Scope.open()) {
          double got = d.loss(images(X0), Torch.tensor(STEPS, 2), images(EPS)).item();
          assertEquals(want, got, 1e-12 * Math.max(1, want), type + " " + weighting);
        }
      }
    }
  }

  @Test
  void epsilonWithUniformWeightingIsTheOldLossBitForBit() {
    EpsilonModel model = AnalyticModels.gaussianData(schedule, 0.1, 0.7);
    GaussianDiffusion old = new GaussianDiffusion(model, schedule);
    GaussianDiffusion explicit = diffusion(model, PredictionType.EPSILON, LossWeighting.UNIFORM, 5);
    try (Scope scope = Scope.open(); Generator g1 = new Generator(9); Generator g2 = new Generator(9)) {
      Tensor x0 = Torch.rand(new long[] {6, 1, 4, 4}, DType.FLOAT32, schedule.device(), g1).mul(2).sub(1);
      Torch.rand(new long[] {6, 1, 4, 4}, DType.FLOAT32, schedule.device(), g2);
      assertEquals(old.loss(x0, g1).item(), explicit.loss(x0, g2).item());
    }
  }

  @Test
  void aRanksShareOfAWeightedLossAveragesToTheWholeBatchsLoss() {
    EpsilonModel model = AnalyticModels.gaussianData(schedule, 0.1, 0.7);
    GaussianDiffusion d = diffusion(model, PredictionType.V_PREDICTION, LossWeighting.MIN_SNR, 5);
    try (Scope scope = Scope.open()) {
      Tensor x0 = images(X0).repeat(2, 1, 1, 1).to(DType.FLOAT32);
      double whole;
      try (Generator g = new Generator(4)) {
        whole = d.loss(x0, g).item();
      }
      double shares = 0;
      for (int rank = 0; rank < 2; rank++) {
        try (Generator g = new Generator(4)) {
          shares += d.loss(x0.slice(0, rank, 4, 2), g, 4, rank, 2).item() / 2;
        }
      }
      assertEquals(whole, shares, 1e-6 * Math.abs(whole));
    }
  }

  @Test
  void theReverseMeanOfAVPredictionIsThePosteriorMeanOfItsX0Hat() {
    GaussianDiffusion d = new GaussianDiffusion(FIXED, schedule, PredictionType.V_PREDICTION);
    try (Scope scope = Scope.open()) {
      Tensor xt = images(X0);
      Tensor steps = Torch.tensor(STEPS, 2);
      Prediction p = d.pMeanVariance(xt, steps);
      double[] mean = AnalyticModels.values(p.mean());
      double[] x0Hat = AnalyticModels.values(p.x0Hat());
      for (int i = 0; i < X0.length; i++) {
        long t = STEPS[i / 4];
        double ab = alphaBar(t);
        double abPrev = alphaBar(t - 1);
        double beta = 1 - ab / abPrev;
        assertEquals(Math.sqrt(ab) * X0[i] - Math.sqrt(1 - ab) * OUT[i], x0Hat[i], 1e-9);
        double posterior = beta * Math.sqrt(abPrev) / (1 - ab) * x0Hat[i] + (1 - abPrev) * Math.sqrt(1 - beta) / (1 - ab) * X0[i];
        assertEquals(posterior, mean[i], 1e-9, "mean at t=" + t);
      }
    }
  }

  @Test
  void ddimAndAncestralSamplingLandOnTheDataPointForEveryType() {
    try (NoiseSchedule small = NoiseSchedule.linear(50, 1e-3, 0.2)) {
      for (PredictionType type : PredictionType.values()) {
        try (Scope scope = Scope.open()) {
          Tensor c = Torch.tensor(new double[] {-0.7, 0.1, 0.4, 0.95}, 1, 1, 2, 2).to(DType.FLOAT32);
          GaussianDiffusion d = new GaussianDiffusion(AnalyticModels.exactForPoint(small, c, type), small, type);
          Tensor ddim = new DdimSampler(d, 10, 0).sample(3, new long[] {1, 2, 2}, 5, Progress.NONE);
          Tensor ancestral = new AncestralSampler(d).sample(3, new long[] {1, 2, 2}, 5, Progress.NONE);
          assertTrue(ddim.sub(c).abs().amax().item() < 1e-4, type + " ddim");
          assertTrue(ancestral.sub(c).abs().amax().item() < 1e-4, type + " ancestral");
        }
      }
    }
  }

  @Test
  void anotherModelKeepsThePredictionTypeAndWeighting() {
    GaussianDiffusion d = diffusion(FIXED, PredictionType.V_PREDICTION, LossWeighting.MIN_SNR, 2.0);
    GaussianDiffusion other = d.withEpsModel(AnalyticModels.constant(0));
    assertEquals(PredictionType.V_PREDICTION, other.prediction());
    assertEquals(LossWeighting.MIN_SNR, other.lossWeighting());
    assertEquals(2.0, other.snrGamma());
  }

  @Test
  void refusesABadGamma() {
    for (double gamma : new double[] {0, -1, Double.NaN, Double.POSITIVE_INFINITY}) {
      InvalidSettingException e = assertThrows(InvalidSettingException.class,
          () -> diffusion(FIXED, PredictionType.EPSILON, LossWeighting.MIN_SNR, gamma));
      assertTrue(e.getMessage().startsWith("snrGamma = ") && e.getMessage().endsWith(" must be finite and > 0"), e.getMessage());
    }
  }
}
