package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.Arrays;
import java.util.Objects;

/**
 * The forward process {@code q}, the reverse process {@code p_theta} and the training
 * loss of Ho et al. 2020, around a network {@link EpsilonModel#epsTheta} whose output is read by a
 * {@link PredictionType}: the noise {@code eps} (the default, as in the paper), the velocity {@code v}
 * (Salimans and Ho 2022) or {@code x_0}. {@link #estimate(Tensor, int, Tensor)} is the one place that turns an
 * output into the pair {@code (x0Hat, epsTheta)} every sampler works from, and the loss regresses the output on
 * the matching target ({@link #target}), weighted by a {@link LossWeighting}.
 *
 * <p>Images are floating-point tensors {@code [batch, channels, height, width]} (any
 * rank &gt;= 1 works; dimension 0 is the batch) scaled to [-1, 1]. Timesteps are
 * int64 tensors {@code [batch]} of indices in [0, T), index {@code t} being the
 * paper's step {@code t + 1} (see {@link NoiseSchedule}). Per-image coefficients
 * are gathered from the schedule and broadcast as {@code [batch, 1, 1, 1]}.
 *
 * <p>Every method computes inside its own {@link Scope}: only the returned
 * tensors survive, and they join the caller's innermost open scope. The
 * diffusion does not own the schedule or the model; close them yourself.
 * {@snippet :
 * try (NoiseSchedule schedule = NoiseSchedule.linear(); Scope step = Scope.open()) {
 *   GaussianDiffusion diffusion = new GaussianDiffusion(unet, schedule);
 *   Tensor loss = diffusion.loss(x0, generator); // Algorithm 1
 *   loss.backward();
 * }
 * }
 */
public final class GaussianDiffusion {
  /** The {@code gamma} of min-SNR-gamma weighting that Hang et al. 2023 recommend, 5. */
  public static final double DEFAULT_SNR_GAMMA = 5.0;

  private final EpsilonModel epsModel;
  private final NoiseSchedule schedule;
  private final VarianceType varianceType;
  private final boolean clipDenoised;
  private final PredictionType prediction;
  private final LossWeighting lossWeighting;
  private final double snrGamma;

  /**
   * What one network output says about {@code x_t}: the clean image it implies and the noise it implies, the pair
   * every sampler works from whatever the {@link PredictionType}.
   *
   * @param x0Hat the estimate of {@code x_0}, clipped to [-1, 1] when the diffusion clips,
   *     {@code [batch, channels, height, width]}
   * @param epsTheta the noise implied by the output and {@code x0Hat}:
   *     {@code (x_t - sqrt(alphaBar_t) x0Hat) / sqrt(1 - alphaBar_t)}, {@code [batch, channels, height, width]}
   */
  public record Estimate(Tensor x0Hat, Tensor epsTheta) {}

  /**
   * A diffusion with {@code sigma2_t = beta_t} and no clipping, as in the seed and
   * Algorithm 2 of the paper.
   *
   * @param epsModel the noise predictor {@code epsTheta}
   * @param schedule the variance schedule
   * @throws NullPointerException if an argument is null
   */
  public GaussianDiffusion(EpsilonModel epsModel, NoiseSchedule schedule) {
    this(epsModel, schedule, VarianceType.FIXED_LARGE, false);
  }

  /**
   * A diffusion with {@code sigma2_t = beta_t}, no clipping and uniform loss weighting, whose network predicts
   * {@code prediction}.
   *
   * @param model the network, whose output {@code prediction} names ({@link EpsilonModel#epsTheta} is then the
   *     network's output, not necessarily a noise prediction)
   * @param schedule the variance schedule
   * @param prediction what the network predicts
   * @throws NullPointerException if an argument is null
   */
  public GaussianDiffusion(EpsilonModel model, NoiseSchedule schedule, PredictionType prediction) {
    this(model, schedule, VarianceType.FIXED_LARGE, false, prediction, LossWeighting.UNIFORM, DEFAULT_SNR_GAMMA);
  }

  /**
   * @param epsModel the noise predictor {@code epsTheta}
   * @param schedule the variance schedule
   * @param varianceType which fixed {@code sigma2_t} the reverse process uses
   * @param clipDenoised whether sampling clips {@code x0Hat} to [-1, 1] and takes the reverse mean from
   *     the posterior of the clipped estimate
   * @throws NullPointerException if an object argument is null
   */
  public GaussianDiffusion(EpsilonModel epsModel, NoiseSchedule schedule, VarianceType varianceType, boolean clipDenoised) {
    this(epsModel, schedule, varianceType, clipDenoised, PredictionType.EPSILON, LossWeighting.UNIFORM, DEFAULT_SNR_GAMMA);
  }

  /**
   * A diffusion whose network predicts {@code prediction} and whose training loss weighs the timesteps by
   * {@code lossWeighting}.
   *
   * @param model the network, whose output {@code prediction} names
   * @param schedule the variance schedule
   * @param varianceType which fixed {@code sigma2_t} the reverse process uses
   * @param clipDenoised whether sampling clips {@code x0Hat} to [-1, 1] (and recomputes {@code epsTheta} from it)
   * @param prediction what the network predicts: {@code eps}, {@code v} or {@code x_0}
   * @param lossWeighting the per-timestep weight of the training loss
   * @param snrGamma {@code gamma} of min-SNR-gamma weighting, finite and &gt; 0 (unused by uniform weighting)
   * @throws InvalidSettingException naming {@code snrGamma} unless it is finite and &gt; 0
   * @throws NullPointerException if an object argument is null
   */
  public GaussianDiffusion(EpsilonModel model, NoiseSchedule schedule, VarianceType varianceType, boolean clipDenoised,
      PredictionType prediction, LossWeighting lossWeighting, double snrGamma) {
    this.epsModel = Objects.requireNonNull(model, "model");
    this.schedule = Objects.requireNonNull(schedule, "schedule");
    this.varianceType = Objects.requireNonNull(varianceType, "varianceType");
    this.clipDenoised = clipDenoised;
    this.prediction = Objects.requireNonNull(prediction, "prediction");
    this.lossWeighting = Objects.requireNonNull(lossWeighting, "lossWeighting");
    if (!(snrGamma > 0 && Double.isFinite(snrGamma))) throw new InvalidSettingException("{snrGamma=} must be finite and > 0", snrGamma);
    this.snrGamma = snrGamma;
  }

  /** @return the noise predictor */
  public EpsilonModel epsModel() {
    return epsModel;
  }

  /** @return the variance schedule */
  public NoiseSchedule schedule() {
    return schedule;
  }

  /** @return the number of diffusion steps {@code T} */
  public int timesteps() {
    return schedule.timesteps();
  }

  /** @return the reverse-process variance choice */
  public VarianceType varianceType() {
    return varianceType;
  }

  /** @return whether sampling clips {@code x0Hat} to [-1, 1] */
  public boolean clipDenoised() {
    return clipDenoised;
  }

  /** @return what the network predicts */
  public PredictionType prediction() {
    return prediction;
  }

  /** @return how the training loss weighs the timesteps */
  public LossWeighting lossWeighting() {
    return lossWeighting;
  }

  /** @return {@code gamma} of min-SNR-gamma weighting */
  public double snrGamma() {
    return snrGamma;
  }

  // ------------------------------------------------------------ forward process

  /**
   * The marginal {@code q(x_t | x_0) = N(sqrt(alphaBar_t) x_0, (1 - alphaBar_t) I)} (equation 4).
   *
   * @param x0 clean images {@code x_0}, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @return mean {@code [batch, channels, height, width]} and variance {@code [batch, 1, 1, 1]}, the dtype of {@code x0}
   * @throws IllegalArgumentException naming {@code x0} if it is not floating point, or {@code t} if it is
   *     not an integer tensor of shape {@code [batch]} with values in [0, T)
   */
  public Gaussian qMeanVariance(Tensor x0, Tensor t) {
    checkImages(x0, "x0");
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, x0);
      Tensor mean = extract(schedule.sqrtAlphaBar(), index, x0).mul(x0);
      Tensor variance = extract(schedule.alphaBar(), index, x0).rsub(1.0);
      return new Gaussian(Scope.keep(mean), Scope.keep(variance));
    }
  }

  /**
   * Samples {@code x_t = sqrt(alphaBar_t) x_0 + sqrt(1 - alphaBar_t) eps} from {@code q(x_t | x_0)}
   * (equation 4, reparameterised as in equation 9).
   *
   * @param x0 clean images, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @param eps the noise {@code eps ~ N(0, I)}, the shape of {@code x0}
   * @return {@code x_t}, the shape and dtype of {@code x0}
   * @throws IllegalArgumentException naming {@code x0}, {@code t} or {@code eps} when invalid (see
   *     {@link #qMeanVariance}; {@code eps} must have the shape of {@code x0})
   */
  public Tensor qSample(Tensor x0, Tensor t, Tensor eps) {
    checkImages(x0, "x0");
    checkSameShape(eps, x0, "eps", "x0");
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, x0);
      Tensor xt = extract(schedule.sqrtAlphaBar(), index, x0).mul(x0)
          .add(extract(schedule.sqrtOneMinusAlphaBar(), index, x0).mul(eps));
      return Scope.keep(xt);
    }
  }

  /**
   * {@link #qSample(Tensor, Tensor, Tensor)} with fresh noise drawn from {@code generator}.
   *
   * @param x0 clean images, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @param generator the source of {@code eps}, on the device of {@code x0}
   * @return {@code x_t}, the shape and dtype of {@code x0}
   * @throws IllegalArgumentException naming {@code x0} or {@code t} when invalid
   */
  public Tensor qSample(Tensor x0, Tensor t, Generator generator) {
    checkImages(x0, "x0");
    try (Scope scope = Scope.open()) {
      checkTimesteps(t, x0);
      Tensor eps = Torch.randnLike(x0, generator);
      return Scope.keep(qSample(x0, t, eps));
    }
  }

  /**
   * The forward-process posterior {@code q(x_{t-1} | x_t, x_0) = N(mu~_t, beta~_t I)} with
   * {@code mu~_t = beta_t sqrt(alphaBar_{t-1}) / (1 - alphaBar_t) x_0 + (1 - alphaBar_{t-1}) sqrt(alpha_t) / (1 - alphaBar_t) x_t}
   * (equations 6 and 7).
   *
   * @param x0 clean images (or an estimate), floating point {@code [batch, channels, height, width]}
   * @param xt noised images at step {@code t}, the shape of {@code x0}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @return mean {@code [batch, channels, height, width]} and variance {@code [batch, 1, 1, 1]}
   * @throws IllegalArgumentException naming {@code x0}, {@code xt} or {@code t} when invalid
   */
  public Gaussian qPosterior(Tensor x0, Tensor xt, Tensor t) {
    checkImages(x0, "x0");
    checkSameShape(xt, x0, "xt", "x0");
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, x0);
      Tensor mean = posteriorMean(x0, xt, index);
      Tensor variance = extract(schedule.posteriorVariance(), index, x0);
      return new Gaussian(Scope.keep(mean), Scope.keep(variance));
    }
  }

  /**
   * Inverts equation 4 for {@code x_0}: {@code x0Hat = x_t / sqrt(alphaBar_t) - sqrt(1 / alphaBar_t - 1) eps}.
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @param eps the noise in {@code xt} (true or predicted), the shape of {@code xt}
   * @return the estimate of {@code x_0}, unclipped, the shape and dtype of {@code xt}
   * @throws IllegalArgumentException naming {@code xt}, {@code t} or {@code eps} when invalid
   */
  public Tensor predictX0FromEps(Tensor xt, Tensor t, Tensor eps) {
    checkImages(xt, "xt");
    checkSameShape(eps, xt, "eps", "xt");
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, xt);
      return Scope.keep(x0FromEps(xt, index, eps));
    }
  }

  // ------------------------------------------------------------ reverse process

  /**
   * Evaluates the network once, reads its output by {@link #prediction()} ({@link #estimate(Tensor, int, Tensor)}),
   * and forms {@code p_theta(x_{t-1} | x_t) = N(mu_theta, sigma2_t I)}.
   * Without clipping the mean is equation 11 with the implied {@code epsTheta},
   * {@code mu_theta = (x_t - beta_t / sqrt(1 - alphaBar_t) epsTheta) / sqrt(alpha_t)}; with clipping it is the
   * posterior mean (equation 7) of the clipped {@code x0Hat}. {@code sigma2_t} is {@code beta_t} or
   * {@code beta~_t} by {@link #varianceType()}.
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @return the mean, variance, {@code x0Hat} and {@code epsTheta}
   * @throws IllegalArgumentException naming {@code xt} or {@code t} when invalid, or if the model's
   *     output does not have the shape of {@code xt}
   */
  public Prediction pMeanVariance(Tensor xt, Tensor t) {
    checkImages(xt, "xt");
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, xt);
      return keep(predict(xt, t, index));
    }
  }

  /**
   * {@link #pMeanVariance(Tensor, Tensor)} with the same timestep for the whole batch, as a sampler's
   * reverse loop uses it (the model sees {@link #tBatch(int, Tensor) tBatch(t, xt)}).
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t the timestep index, in [0, T)
   * @return the mean, variance, {@code x0Hat} and {@code epsTheta}
   * @throws IllegalArgumentException naming {@code xt} or {@code t} when invalid, or if the model's
   *     output does not have the shape of {@code xt}
   */
  public Prediction pMeanVariance(Tensor xt, int t) {
    checkImages(xt, "xt");
    schedule.checkIndex(t);
    try (Scope scope = Scope.open()) {
      Tensor index = Torch.full(new long[] {xt.size(0)}, t, DType.INT64, schedule.device());
      return keep(predict(xt, tBatch(t, xt), index));
    }
  }

  /**
   * One step of Algorithm 2: {@code x_{t-1} = mu_theta(x_t, t) + sigma_t z} with {@code z ~ N(0, I)},
   * except that images at {@code t = 0} get no noise ({@code x_0 = mu_theta}).
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @param generator the source of {@code z}, on the device of {@code xt}; nothing is drawn when every {@code t} is 0
   * @return {@code x_{t-1}}, the shape and dtype of {@code xt}
   * @throws IllegalArgumentException naming {@code xt} or {@code t} when invalid
   */
  public Tensor pSample(Tensor xt, Tensor t, Generator generator) {
    checkImages(xt, "xt");
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, xt);
      Prediction p = predict(xt, t, index);
      long[] range = minMax(index);
      if (range[1] == 0) return Scope.keep(p.mean());
      Tensor noise = noise(p, Noise.of(generator));
      if (range[0] == 0) noise = noise.mul(index.ne(0).to(xt.dtype()).view(broadcastShape(xt)));
      return Scope.keep(p.mean().add(noise));
    }
  }

  /**
   * Algorithm 2, line 4, from the model's prediction at one timestep shared by the batch:
   * {@code x_{t-1} = mu_theta + sigma_t z} with {@code z ~ N(0, I)}, and {@code x_0 = mu_theta} at {@code t = 0}.
   *
   * @param p the prediction at {@code t} ({@link #pMeanVariance(Tensor, int)})
   * @param t the timestep index of the prediction, in [0, T)
   * @param generator the source of {@code z}, on the device of the prediction; unused at {@code t = 0}
   * @return {@code x_{t-1}}, the shape and dtype of {@code p.mean()}; at {@code t = 0} it is {@code p.mean()} itself
   * @throws IllegalArgumentException naming {@code t} when out of range
   */
  public Tensor pSample(Prediction p, int t, Generator generator) {
    return pSample(p, t, Noise.of(generator));
  }

  /**
   * {@link #pSample(Prediction, int, Generator)} with the noise from a {@link Noise} source (one generator per
   * group of rows, for batches of several requests).
   *
   * @param p the prediction at {@code t} ({@link #pMeanVariance(Tensor, int)})
   * @param t the timestep index of the prediction, in [0, T)
   * @param noise the source of {@code z}; unused at {@code t = 0}
   * @return {@code x_{t-1}}, the shape and dtype of {@code p.mean()}; at {@code t = 0} it is {@code p.mean()} itself
   * @throws IllegalArgumentException naming {@code t} when out of range
   */
  public Tensor pSample(Prediction p, int t, Noise noise) {
    schedule.checkIndex(t);
    if (t == 0) return p.mean();
    try (Scope scope = Scope.open()) {
      return Scope.keep(p.mean().add(noise(p, noise)));
    }
  }

  /**
   * {@link #pSample(Tensor, Tensor, Generator)} with the same timestep for the whole batch.
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t the timestep index, in [0, T)
   * @param generator the source of noise, on the device of {@code xt}; unused at {@code t = 0}
   * @return {@code x_{t-1}}, the shape and dtype of {@code xt}
   * @throws IllegalArgumentException naming {@code xt} or {@code t} when invalid
   */
  public Tensor pSample(Tensor xt, int t, Generator generator) {
    try (Scope scope = Scope.open()) {
      return Scope.keep(pSample(pMeanVariance(xt, t), t, generator));
    }
  }

  // ------------------------------------------------------------------ training

  /**
   * The simplified objective {@code L_simple} (equation 14, Algorithm 1):
   * {@code || eps - epsTheta(sqrt(alphaBar_t) x_0 + sqrt(1 - alphaBar_t) eps, t) ||^2}, averaged over
   * every element, with {@code t} uniform in [0, T) for each image and {@code eps ~ N(0, I)}.
   * The timesteps are drawn first, then the noise, both from {@code generator}.
   *
   * @param x0 clean images in [-1, 1], floating point {@code [batch, channels, height, width]}
   * @param generator the source of {@code t} and {@code eps}, on the device of {@code x0}
   * @return the scalar loss, with the model's autograd graph when grad mode is on
   * @throws IllegalArgumentException naming {@code x0} when it is not floating point
   */
  public Tensor loss(Tensor x0, Generator generator) {
    checkImages(x0, "x0");
    try (Scope scope = Scope.open()) {
      Tensor t = Torch.randint(0, schedule.timesteps(), new long[] {x0.size(0)}, x0.device(), generator);
      Tensor eps = Torch.randnLike(x0, generator);
      return Scope.keep(loss(x0, t, eps));
    }
  }

  /**
   * One rank's share of {@link #loss(Tensor, Generator)} in data-parallel training: the timesteps and
   * the noise of the whole batch of {@code batchSize} images are drawn from {@code generator} exactly as
   * {@code loss} draws them for that batch, and this rank uses those of the batch positions
   * {@code rank, rank + worldSize, ...}, the images that {@code x0} holds (see
   * {@link io.github.ddpm4j.data.DataLoader}). The ranks' losses, averaged, are then the loss of the
   * whole batch (equation 14, Algorithm 1), and {@code generator} ends in the same state on every rank.
   *
   * @param x0 this rank's clean images in [-1, 1], floating point {@code [batchSize / worldSize, channels, height, width]}
   * @param generator the source of {@code t} and {@code eps}, on the device of {@code x0}, in the same state on every rank
   * @param batchSize the images of all ranks together
   * @param rank this rank, 0..worldSize-1
   * @param worldSize the number of ranks that share the batch
   * @return the scalar loss of this rank's images, with the model's autograd graph when grad mode is on
   * @throws IllegalArgumentException naming {@code x0} when it is not floating point or not this rank's
   *     share of {@code batchSize}, or naming {@code rank} when it is out of range
   */
  public Tensor loss(Tensor x0, Generator generator, long batchSize, int rank, int worldSize) {
    checkImages(x0, "x0");
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " must be in 0.." + (worldSize - 1) + " (worldSize " + worldSize + ")");
    }
    if (batchSize % worldSize != 0 || x0.size(0) != batchSize / worldSize) {
      throw new IllegalArgumentException("x0 holds " + x0.size(0) + " images, not the share of one of " + worldSize
          + " ranks in a batch of " + batchSize);
    }
    if (worldSize == 1) return loss(x0, generator);
    try (Scope scope = Scope.open()) {
      long[] shape = x0.shape();
      shape[0] = batchSize;
      Tensor t = Torch.randint(0, schedule.timesteps(), new long[] {batchSize}, x0.device(), generator);
      Tensor eps = Torch.randn(shape, x0.dtype(), x0.device(), generator);
      return Scope.keep(loss(x0, t.slice(0, rank, batchSize, worldSize), eps.slice(0, rank, batchSize, worldSize)));
    }
  }

  /**
   * The training loss for given timesteps and noise: with {@code epsilon} prediction and uniform weighting
   * {@code L_simple} (equation 14), the mean squared error between {@code eps} and the network's output over every
   * element. Otherwise the target is {@link #target}, and each image's mean squared error (over channels, height and
   * width) is multiplied by its {@link #lossWeights weight} before the mean over the batch.
   *
   * @param x0 clean images in [-1, 1], floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @param eps the noise, the shape of {@code x0}
   * @return the scalar (weighted) mean squared error between the target and the network's output at {@code (x_t, t)}
   * @throws IllegalArgumentException naming {@code x0}, {@code t} or {@code eps} when invalid, or if the
   *     model's output does not have the shape of {@code x0}
   */
  public Tensor loss(Tensor x0, Tensor t, Tensor eps) {
    return loss(x0, t, eps, null);
  }

  /**
   * The training loss ({@link #loss(Tensor, Tensor, Tensor)}: {@code L_simple}, equation 14, for epsilon prediction and
   * uniform weighting) for given timesteps, noise and class labels: the model is called as
   * {@code epsTheta(x_t, t, c)} (Ho &amp; Salimans 2022, Algorithm 1).
   *
   * @param x0 clean images in [-1, 1], floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @param eps the noise, the shape of {@code x0}
   * @param classLabels int64 {@code [batch]}, each in 0..numClasses (numClasses: no class), for a
   *     {@link ClassConditionalModel}; null: the model is called as {@code epsTheta(x_t, t)}
   * @return the scalar (weighted) mean squared error between the target ({@link #target}) and the model's output
   * @throws IllegalArgumentException naming {@code x0}, {@code t}, {@code eps} or {@code classLabels} when
   *     invalid, when labels are given to a model that is not a {@link ClassConditionalModel}, or if the
   *     model's output does not have the shape of {@code x0}
   */
  public Tensor loss(Tensor x0, Tensor t, Tensor eps, Tensor classLabels) {
    try (Scope scope = Scope.open()) {
      Tensor xt = qSample(x0, t, eps);
      Tensor predicted = callModel(xt, t, classLabels);
      if (prediction == PredictionType.EPSILON && lossWeighting == LossWeighting.UNIFORM) {
        return Scope.keep(Functional.mseLoss(predicted, eps, Functional.Reduction.MEAN));
      }
      Tensor target = target(x0, t, eps);
      if (lossWeighting == LossWeighting.UNIFORM) return Scope.keep(Functional.mseLoss(predicted, target, Functional.Reduction.MEAN));
      Tensor squared = predicted.sub(target).square();
      long[] dims = new long[x0.dim() - 1];
      for (int i = 0; i < dims.length; i++) dims[i] = i + 1;
      Tensor perImage = dims.length == 0 ? squared : squared.mean(dims, false);
      Tensor weights = lossWeights(t).to(perImage.dtype(), perImage.device());
      return Scope.keep(perImage.mul(weights).mean());
    }
  }

  /**
   * The class-conditional objective of classifier-free guidance (Ho &amp; Salimans 2022, Algorithm 1): as
   * {@link #loss(Tensor, Generator)}, but each image's label is replaced by the "no class" token
   * {@code numClasses} with probability {@code pUncond}, so that one network learns both the conditional and
   * the unconditional prediction. The timesteps are drawn first, then the noise, then one uniform number per
   * image ({@code rand < pUncond} drops its label), all from {@code generator}.
   *
   * @param x0 clean images in [-1, 1], floating point {@code [batch, channels, height, width]}
   * @param classLabels their classes, int64 {@code [batch]}, each in 0..numClasses-1, on the device of {@code x0}
   * @param pUncond the probability of dropping a label, in [0, 1]
   * @param generator the source of {@code t}, {@code eps} and the drops, on the device of {@code x0}
   * @return the scalar loss, with the model's autograd graph when grad mode is on
   * @throws IllegalArgumentException naming {@code x0}, {@code classLabels} or {@code pUncond} when invalid, or
   *     if the model is not a {@link ClassConditionalModel}
   */
  public Tensor loss(Tensor x0, Tensor classLabels, double pUncond, Generator generator) {
    return loss(x0, classLabels, pUncond, generator, x0.size(0), 0, 1);
  }

  /**
   * One rank's share of {@link #loss(Tensor, Tensor, double, Generator)} in data-parallel training: the
   * timesteps, the noise and the label drops of the whole batch of {@code batchSize} images are drawn from
   * {@code generator} exactly as that method draws them for the whole batch, and this rank uses those of the
   * batch positions {@code rank, rank + worldSize, ...}, as {@link #loss(Tensor, Generator, long, int, int)}
   * does. The ranks' losses, averaged, are the loss of the whole batch.
   *
   * @param x0 this rank's clean images in [-1, 1], floating point {@code [batchSize / worldSize, channels, height, width]}
   * @param classLabels their classes, int64 {@code [batchSize / worldSize]}, each in 0..numClasses-1
   * @param pUncond the probability of dropping a label, in [0, 1]
   * @param generator the source of {@code t}, {@code eps} and the drops, in the same state on every rank
   * @param batchSize the images of all ranks together
   * @param rank this rank, 0..worldSize-1
   * @param worldSize the number of ranks that share the batch
   * @return the scalar loss of this rank's images, with the model's autograd graph when grad mode is on
   * @throws IllegalArgumentException naming {@code x0}, {@code classLabels}, {@code pUncond} or {@code rank}
   *     when invalid, or if the model is not a {@link ClassConditionalModel}
   */
  public Tensor loss(Tensor x0, Tensor classLabels, double pUncond, Generator generator, long batchSize, int rank, int worldSize) {
    checkImages(x0, "x0");
    if (!(epsModel instanceof ClassConditionalModel c) || c.numClasses() <= 0) {
      throw new IllegalArgumentException("a loss with class labels needs a class-conditional model (numClasses > 0)");
    }
    if (!(pUncond >= 0 && pUncond <= 1)) throw new IllegalArgumentException("pUncond = " + pUncond + " must be in [0, 1]");
    if (worldSize < 1 || rank < 0 || rank >= worldSize) {
      throw new IllegalArgumentException("rank " + rank + " must be in 0.." + (worldSize - 1) + " (worldSize " + worldSize + ")");
    }
    if (batchSize % worldSize != 0 || x0.size(0) != batchSize / worldSize) {
      throw new IllegalArgumentException("x0 holds " + x0.size(0) + " images, not the share of one of " + worldSize
          + " ranks in a batch of " + batchSize);
    }
    if (classLabels.dtype() != DType.INT64 || classLabels.dim() != 1 || classLabels.size(0) != x0.size(0)) {
      throw new IllegalArgumentException("classLabels must be int64 [" + x0.size(0) + "], got " + classLabels.dtype()
          + Arrays.toString(classLabels.shape()));
    }
    try (Scope scope = Scope.open()) {
      long[] shape = x0.shape();
      shape[0] = batchSize;
      Tensor t = Torch.randint(0, schedule.timesteps(), new long[] {batchSize}, x0.device(), generator);
      Tensor eps = Torch.randn(shape, x0.dtype(), x0.device(), generator);
      Tensor drop = Torch.rand(new long[] {batchSize}, DType.FLOAT32, x0.device(), generator).lt(pUncond);
      if (worldSize > 1) {
        t = t.slice(0, rank, batchSize, worldSize);
        eps = eps.slice(0, rank, batchSize, worldSize);
        drop = drop.slice(0, rank, batchSize, worldSize);
      }
      Tensor noClass = Torch.full(new long[] {x0.size(0)}, c.numClasses(), DType.INT64, x0.device());
      return Scope.keep(loss(x0, t, eps, Torch.where(drop, noClass, classLabels)));
    }
  }

  /**
   * This diffusion with another noise predictor and the same schedule and settings (variance, clipping,
   * prediction type, loss weighting), e.g. a {@link ClassifierFreeGuidance} around this one's model.
   *
   * @param model the noise predictor of the new diffusion
   * @return a new diffusion that shares this one's schedule
   * @throws NullPointerException if {@code model} is null
   */
  public GaussianDiffusion withEpsModel(EpsilonModel model) {
    return new GaussianDiffusion(model, schedule, varianceType, clipDenoised, prediction, lossWeighting, snrGamma);
  }

  /**
   * The same timestep for every image of a batch.
   *
   * @param t a timestep index
   * @param like a batch whose size and device the result takes
   * @return int64 {@code [batch]} filled with {@code t}, on the device of {@code like}
   * @throws IllegalArgumentException naming {@code t} unless {@code 0 <= t < T}
   */
  public Tensor tBatch(int t, Tensor like) {
    schedule.checkIndex(t);
    return Torch.full(new long[] {like.size(0)}, t, DType.INT64, like.device());
  }

  // ------------------------------------------------------------------ internals

  private static Prediction keep(Prediction p) {
    return new Prediction(Scope.keep(p.mean()), Scope.keep(p.variance()), Scope.keep(p.x0Hat()), Scope.keep(p.epsTheta()));
  }

  /** {@code sigma_t z} with {@code z ~ N(0, I)} drawn from {@code noise}. */
  private static Tensor noise(Prediction p, Noise noise) {
    Tensor z = noise.randnLike(p.mean());
    return p.variance().sqrt().mul(z);
  }

  /** Model output, x0Hat, mean and variance; all tensors join the current scope. */
  private Prediction predict(Tensor xt, Tensor t, Tensor index) {
    Estimate e = estimate(xt, index, callModel(xt, t));
    Tensor mean;
    if (clipDenoised) {
      mean = posteriorMean(e.x0Hat(), xt, index);
    } else {
      Tensor epsCoef = extract(schedule.beta(), index, xt).div(extract(schedule.sqrtOneMinusAlphaBar(), index, xt));
      mean = xt.sub(epsCoef.mul(e.epsTheta())).div(extract(schedule.alpha(), index, xt).sqrt());
    }
    Tensor variance = extract(varianceType == VarianceType.FIXED_LARGE ? schedule.beta() : schedule.posteriorVariance(), index, xt);
    return new Prediction(mean, variance, e.x0Hat(), e.epsTheta());
  }

  /**
   * Evaluates the network once at one timestep for the whole batch and reads its output by {@link #prediction()}
   * ({@link #estimate(Tensor, int, Tensor)}). Every sampler's step starts here.
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, in [0, T)
   * @return {@code x0Hat} and the implied {@code epsTheta}, in the caller's scope
   * @throws IllegalArgumentException naming {@code xt} or {@code t} when invalid, or if the network's output does not
   *     have the shape of {@code xt}
   */
  public Estimate estimate(Tensor xt, int t) {
    checkImages(xt, "xt");
    try (Scope scope = Scope.open()) {
      Tensor steps = tBatch(t, xt);
      Estimate e = estimate(xt, steps.to(DType.INT64, schedule.device()), callModel(xt, steps));
      return new Estimate(Scope.keep(e.x0Hat()), Scope.keep(e.epsTheta()));
    }
  }

  /**
   * Reads a network output by {@link #prediction()}, the one place where the prediction types differ at sampling
   * time. With {@code a = sqrt(alphaBar_t)} and {@code s = sqrt(1 - alphaBar_t)}:
   * <ul>
   *   <li>{@code epsilon}: {@code epsTheta = out}, {@code x0Hat = (x_t - s epsTheta) / a} (Ho et al. 2020, equation 4
   *       solved for {@code x_0});
   *   <li>{@code v_prediction}: {@code x0Hat = a x_t - s v}, {@code epsTheta = s x_t + a v} (Salimans and Ho 2022,
   *       section 4, with {@code v = a eps - s x_0}; diffusers' {@code get_velocity});
   *   <li>{@code sample}: {@code x0Hat = out}, {@code epsTheta = (x_t - a x0Hat) / s}.
   * </ul>
   * When the diffusion clips, {@code x0Hat} is then clipped to [-1, 1] and {@code epsTheta} recomputed from the
   * clipped {@code x0Hat} (as diffusers' schedulers do with {@code clip_sample}).
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t the timestep index of {@code xt}, in [0, T)
   * @param out the network's output at {@code (xt, t)}, the shape of {@code xt}
   * @return {@code x0Hat} and {@code epsTheta}, the shape and dtype of {@code xt}, in the caller's scope
   * @throws IllegalArgumentException naming {@code xt}, {@code t} or {@code out} when invalid
   */
  public Estimate estimate(Tensor xt, int t, Tensor out) {
    checkImages(xt, "xt");
    checkSameShape(out, xt, "out", "xt");
    try (Scope scope = Scope.open()) {
      Estimate e = estimate(xt, tBatch(t, xt).to(DType.INT64, schedule.device()), out);
      return new Estimate(Scope.keep(e.x0Hat()), Scope.keep(e.epsTheta()));
    }
  }

  /** {@link #estimate(Tensor, int, Tensor)} for per-image timesteps; the results join the current scope. */
  private Estimate estimate(Tensor xt, Tensor index, Tensor out) {
    Tensor x0Hat;
    Tensor eps;
    switch (prediction) {
      case EPSILON -> {
        eps = out;
        x0Hat = x0FromEps(xt, index, out);
      }
      case V_PREDICTION -> {
        Tensor a = extract(schedule.sqrtAlphaBar(), index, xt);
        Tensor s = extract(schedule.sqrtOneMinusAlphaBar(), index, xt);
        x0Hat = a.mul(xt).sub(s.mul(out));
        eps = s.mul(xt).add(a.mul(out));
      }
      case SAMPLE -> {
        x0Hat = out;
        eps = epsFromX0(xt, index, out);
      }
      default -> throw new AssertionError(prediction);
    }
    if (clipDenoised) {
      x0Hat = x0Hat.clamp(-1.0, 1.0);
      eps = epsFromX0(xt, index, x0Hat);
    }
    return new Estimate(x0Hat, eps);
  }

  /**
   * The regression target of the training loss for {@link #prediction()}: {@code eps}, the velocity
   * {@code v = sqrt(alphaBar_t) eps - sqrt(1 - alphaBar_t) x_0} (Salimans and Ho 2022, section 4), or {@code x_0}
   * (diffusers' {@code train_unconditional.py} targets).
   *
   * @param x0 clean images, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @param eps the noise of {@code x_t}, the shape of {@code x0}
   * @return the target, the shape of {@code x0}; for {@code epsilon} and {@code sample} the very tensor given
   * @throws IllegalArgumentException naming {@code x0}, {@code t} or {@code eps} when invalid
   */
  public Tensor target(Tensor x0, Tensor t, Tensor eps) {
    checkImages(x0, "x0");
    checkSameShape(eps, x0, "eps", "x0");
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, x0);
      return switch (prediction) {
        case EPSILON -> eps;
        case SAMPLE -> x0;
        case V_PREDICTION -> Scope.keep(velocity(x0, index, eps));
      };
    }
  }

  private Tensor velocity(Tensor x0, Tensor index, Tensor eps) {
    return extract(schedule.sqrtAlphaBar(), index, x0).mul(eps).sub(extract(schedule.sqrtOneMinusAlphaBar(), index, x0).mul(x0));
  }

  /**
   * The per-image weight of the training loss, by {@link #lossWeighting()} and {@link #prediction()}. Uniform: 1.
   * Min-SNR-gamma (Hang et al. 2023, equation 8, as diffusers' {@code train_text_to_image.py} applies it), with
   * {@code SNR_t = alphaBar_t / (1 - alphaBar_t)}: {@code min(SNR_t, gamma) / SNR_t} on the error of {@code eps},
   * {@code min(SNR_t, gamma) / (SNR_t + 1)} on that of {@code v}, {@code min(SNR_t, gamma)} on that of {@code x_0}.
   *
   * @param t timestep indices, integer {@code [batch]}, each in [0, T)
   * @return float64 {@code [batch]} on the schedule's device, in the caller's scope
   * @throws IllegalArgumentException naming {@code t} when it is not an integer {@code [batch]} tensor in [0, T)
   */
  public Tensor lossWeights(Tensor t) {
    if (t.dim() != 1) throw new IllegalArgumentException("t must have shape [batch], got " + Arrays.toString(t.shape()));
    try (Scope scope = Scope.open()) {
      Tensor index = checkTimesteps(t, t);
      if (lossWeighting == LossWeighting.UNIFORM) return Scope.keep(Torch.ones(t.shape(), DType.FLOAT64, schedule.device()));
      Tensor alphaBar = schedule.alphaBar().indexSelect(0, index);
      Tensor snr = alphaBar.div(alphaBar.rsub(1.0));
      Tensor clipped = snr.clampMax(snrGamma);
      Tensor w = switch (prediction) {
        case EPSILON -> clipped.div(snr);
        case V_PREDICTION -> clipped.div(snr.add(1.0));
        case SAMPLE -> clipped;
      };
      return Scope.keep(w);
    }
  }

  Tensor callModel(Tensor xt, Tensor t) {
    return callModel(xt, t, null);
  }

  private Tensor callModel(Tensor xt, Tensor t, Tensor classLabels) {
    Tensor eps;
    if (classLabels == null) {
      eps = epsModel.epsTheta(xt, t);
    } else if (epsModel instanceof ClassConditionalModel c) {
      eps = c.epsTheta(xt, t, classLabels);
    } else {
      throw new IllegalArgumentException("classLabels given, but the model is not class-conditional (" + epsModel.getClass().getSimpleName() + ")");
    }
    if (!Arrays.equals(eps.shape(), xt.shape())) {
      throw new IllegalArgumentException("epsTheta returned shape " + Arrays.toString(eps.shape()) + " for xt of shape "
          + Arrays.toString(xt.shape()));
    }
    return eps;
  }

  /**
   * The noise that takes {@code x0} to {@code xt}, the inverse of {@link #x0FromEps(Tensor, Tensor, Tensor)}:
   * {@code eps = (sqrt(1 / alphaBar_t) x_t - x_0) / sqrt(1 / alphaBar_t - 1)}; joins the current scope.
   */
  private Tensor epsFromX0(Tensor xt, Tensor index, Tensor x0) {
    return extract(schedule.sqrtRecipAlphaBar(), index, xt).mul(xt).sub(x0).div(extract(schedule.sqrtRecipAlphaBarMinusOne(), index, xt));
  }

  /**
   * The clean images implied by a noise prediction: equation 4 of Ho et al. 2020 solved for {@code x_0},
   * {@code x0Hat = sqrt(1 / alphaBar_t) x_t - sqrt(1 / alphaBar_t - 1) epsTheta} (the "predicted x_0" of Song et al.
   * 2021, equation 12); joins the current scope.
   */
  private Tensor x0FromEps(Tensor xt, Tensor index, Tensor eps) {
    return extract(schedule.sqrtRecipAlphaBar(), index, xt).mul(xt)
        .sub(extract(schedule.sqrtRecipAlphaBarMinusOne(), index, xt).mul(eps));
  }

  private Tensor posteriorMean(Tensor x0, Tensor xt, Tensor index) {
    return extract(schedule.posteriorMeanCoef1(), index, x0).mul(x0)
        .add(extract(schedule.posteriorMeanCoef2(), index, x0).mul(xt));
  }

  /** coef[t] as {@code [batch, 1, ..., 1]} in the dtype and on the device of {@code like}. */
  static Tensor extract(Tensor coef, Tensor index, Tensor like) {
    return coef.indexSelect(0, index).to(like.dtype(), like.device()).view(broadcastShape(like));
  }

  static long[] broadcastShape(Tensor like) {
    long[] shape = new long[like.dim()];
    Arrays.fill(shape, 1);
    shape[0] = like.size(0);
    return shape;
  }

  static void checkImages(Tensor x, String name) {
    if (x.dim() < 1 || !x.dtype().isFloatingPoint()) {
      throw new IllegalArgumentException(name + " must be a floating-point tensor [batch, channels, height, width], got "
          + x.dtype() + Arrays.toString(x.shape()));
    }
  }

  private static void checkSameShape(Tensor a, Tensor b, String aName, String bName) {
    if (!Arrays.equals(a.shape(), b.shape())) {
      throw new IllegalArgumentException(aName + " has shape " + Arrays.toString(a.shape()) + " but " + bName + " has "
          + Arrays.toString(b.shape()));
    }
  }

  /**
   * Validates {@code t} against the batch of {@code x}.
   *
   * @return {@code t} as int64 on the schedule's device, in the current scope
   */
  private Tensor checkTimesteps(Tensor t, Tensor x) {
    if (t.dim() != 1 || t.size(0) != x.size(0)) {
      throw new IllegalArgumentException("t must have shape [batch] = [" + x.size(0) + "], got " + Arrays.toString(t.shape()));
    }
    if (t.dtype().isFloatingPoint() || t.dtype() == DType.BOOL) {
      throw new IllegalArgumentException("t must be an integer tensor, got " + t.dtype());
    }
    Tensor index = t.to(DType.INT64, schedule.device());
    long[] range = minMax(index);
    if (range[0] < 0 || range[1] >= schedule.timesteps()) {
      throw new IllegalArgumentException("t = " + (range[0] < 0 ? range[0] : range[1]) + " is outside [0, "
          + (schedule.timesteps() - 1) + "]");
    }
    return index;
  }

  private static long[] minMax(Tensor index) {
    if (index.numel() == 0) return new long[] {0, 0};
    try (Scope scope = Scope.open()) {
      return new long[] {index.amin().itemLong(), index.amax().itemLong()};
    }
  }
}
