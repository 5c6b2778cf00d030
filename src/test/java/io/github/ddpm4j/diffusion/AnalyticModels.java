package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/** Noise predictors with closed forms, for testing the diffusion without a network. */
final class AnalyticModels {
  private AnalyticModels() {}

  /**
   * The exact posterior-mean noise predictor when every element of x_0 is independently
   * N(mu, s^2): E[eps | x_t] = sqrt(1 - ab) (x_t - sqrt(ab) mu) / (ab s^2 + 1 - ab).
   */
  static EpsilonModel gaussianData(NoiseSchedule schedule, double mu, double s) {
    double[] alphaBar = new double[schedule.timesteps()];
    for (int t = 0; t < alphaBar.length; t++) alphaBar[t] = schedule.alphaBar(t);
    return (xt, t) -> {
      long[] steps = t.contiguous().toLongArray();
      double[] scale = new double[steps.length];
      double[] shift = new double[steps.length];
      for (int i = 0; i < steps.length; i++) {
        double ab = alphaBar[(int) steps[i]];
        scale[i] = Math.sqrt(1 - ab) / (ab * s * s + 1 - ab);
        shift[i] = Math.sqrt(ab) * mu;
      }
      try (Scope scope = Scope.open()) {
        Tensor a = Torch.tensor(scale, perImage(xt)).to(xt.dtype());
        Tensor b = Torch.tensor(shift, perImage(xt)).to(xt.dtype());
        return Scope.keep(xt.sub(b).mul(a));
      }
    };
  }

  /** Returns the true noise of x_t = sqrt(ab) x0 + sqrt(1 - ab) eps for a known x0 (broadcast over the batch). */
  static EpsilonModel oracle(NoiseSchedule schedule, Tensor x0) {
    return (xt, t) -> {
      long[] steps = t.contiguous().toLongArray();
      double[] a = new double[steps.length];
      double[] b = new double[steps.length];
      for (int i = 0; i < steps.length; i++) {
        double ab = schedule.alphaBar((int) steps[i]);
        a[i] = Math.sqrt(ab);
        b[i] = Math.sqrt(1 - ab);
      }
      try (Scope scope = Scope.open()) {
        Tensor sa = Torch.tensor(a, perImage(xt)).to(xt.dtype());
        Tensor sb = Torch.tensor(b, perImage(xt)).to(xt.dtype());
        return Scope.keep(xt.sub(x0.mul(sa)).div(sb));
      }
    };
  }

  /** A network exact for data at the single point c: out is the target of x_0 = c, whatever the prediction type. */
  static EpsilonModel exactForPoint(NoiseSchedule schedule, Tensor c, PredictionType type) {
    EpsilonModel eps = oracle(schedule, c);
    return (xt, t) -> {
      try (Scope scope = Scope.open()) {
        Tensor e = eps.epsTheta(xt, t);
        Tensor out = switch (type) {
          case EPSILON -> e;
          case SAMPLE -> c.expand(xt.shape()).contiguous();
          case V_PREDICTION -> {
            double[] a = new double[(int) xt.size(0)];
            double[] s = new double[a.length];
            long[] steps = t.contiguous().toLongArray();
            for (int i = 0; i < a.length; i++) {
              a[i] = Math.sqrt(schedule.alphaBar((int) steps[i]));
              s[i] = Math.sqrt(1 - schedule.alphaBar((int) steps[i]));
            }
            Tensor sa = Torch.tensor(a, perImage(xt)).to(xt.dtype());
            Tensor ss = Torch.tensor(s, perImage(xt)).to(xt.dtype());
            yield e.mul(sa).sub(c.mul(ss));
          }
        };
        return Scope.keep(out);
      }
    };
  }

  /** Predicts the same value everywhere. */
  static EpsilonModel constant(double value) {
    return (xt, t) -> Torch.full(xt.shape(), value, xt.dtype(), xt.device());
  }

  static long[] perImage(Tensor x) {
    long[] shape = new long[x.dim()];
    java.util.Arrays.fill(shape, 1);
    shape[0] = x.size(0);
    return shape;
  }

  static double[] values(Tensor t) {
    try (Scope scope = Scope.open()) {
      return t.to(DType.FLOAT64).contiguous().toDoubleArray();
    }
  }
}
