package io.github.ddpm4j.train;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.TypeAdapter;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonWriter;
import io.github.ddpm4j.diffusion.LossWeighting;
import io.github.ddpm4j.diffusion.NoiseSchedule;
import io.github.ddpm4j.diffusion.PredictionType;
import io.github.ddpm4j.diffusion.ScheduleType;
import io.github.ddpm4j.diffusion.UNetConfig;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Precision;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything that defines a training run, stored as JSON in each checkpoint so
 * that {@code sample} and {@code --resume} rebuild the same model.
 *
 * <p>The defaults are the CPU model ddpm4j ships for Fashion-MNIST on a
 * laptop-class CPU: a 28x28 grayscale UNet with 32 base channels, levels
 * (1, 2, 2), attention at 7x7, one block per level, GroupNorm with 8 groups, no dropout,
 * trained for 2000 Adam steps of batch 32 with v-prediction, min-SNR-5 weighting, a peak learning
 * rate of 2e-3 warmed up over 200 steps and decayed as a cosine, and an EMA of decay 0.995: the
 * choice that gave the lowest FID in the main job's wall time (README, "Quality per CPU minute").
 *
 * <p>The constructor checks every field, with upper bounds for every size, so that the command
 * line's options and a configuration read from a checkpoint ({@link #fromJson}) pass the same checks,
 * and an absurd value fails naming its field rather than deep inside LibTorch.
 *
 * @param data {@code fashion-mnist}, an MNIST-style IDX directory or file, or an image folder
 * @param imageSize side of the square training images, in pixels, 4..{@value #MAX_IMAGE_SIZE}
 * @param limit use at most this many training images (0: all)
 * @param flip mirror images left-right at random
 * @param model the UNet; its images have 1 (grayscale) or 3 (RGB) channels
 * @param schedule the kind of noise schedule, {@code "linear"} or {@code "cosine"} in JSON
 * @param timesteps the number of diffusion steps T, 2..{@value #MAX_DIFFUSION_STEPS} (JSON written before
 *     this name existed calls it {@code steps})
 * @param betaStart first beta of the linear schedule
 * @param betaEnd last beta of the linear schedule
 * @param batchSize images per optimizer step, 1..{@value #MAX_BATCH_SIZE}: the global batch of a data-parallel run, of which
 *     each of its processes takes an equal share
 * @param trainSteps optimizer steps in total, &gt;= 1
 * @param lr peak learning rate of Adam, in (0, {@value #MAX_LR}]
 * @param warmupSteps linear learning-rate warm-up, in steps (0: none)
 * @param gradClip largest gradient norm, finite (0: no clipping)
 * @param emaDecay decay of the weight average that samples use, in [0, 1)
 * @param emaWarmup warm the EMA decay up as {@code min(decay, (1+s)/(10+s))}
 * @param seed seed of every generator of the run
 * @param precision float32, or mixed precision for the forward pass ({@link Precision}); a configuration
 *     without the field (written before it existed) is float32
 * @param prediction what the UNet predicts ({@link PredictionType}; JSON {@code "epsilon"}, {@code "v_prediction"} or
 *     {@code "sample"}); a configuration without the field is {@code epsilon}
 * @param lossWeighting how the loss weighs the timesteps ({@link LossWeighting}); absent: {@code uniform}
 * @param snrGamma the {@code gamma} of min-SNR-gamma weighting, in (0, {@value #MAX_SNR_GAMMA}]; absent: 5
 * @param lrSchedule the learning rate after the warm-up ({@link LrSchedule}); absent: {@code constant}
 * @param gradAccumulation micro-batches of {@code batchSize} images whose gradients are summed into each optimizer step,
 *     1..{@value #MAX_GRAD_ACCUMULATION}: a step then sees {@code batchSize * gradAccumulation} images; absent: 1
 * @param pUncond the probability that training drops an image's class label (classifier-free guidance, Ho and
 *     Salimans 2022), in [0, 1]; used only by a class-conditional model ({@link UNetConfig#numClasses()} &gt; 0); absent: 0.1
 */
public record TrainConfig(String data, int imageSize, long limit, boolean flip, UNetConfig model, ScheduleType schedule, int timesteps,
    double betaStart, double betaEnd, int batchSize, long trainSteps, double lr, long warmupSteps, double gradClip,
    double emaDecay, boolean emaWarmup, long seed, Precision precision, PredictionType prediction, LossWeighting lossWeighting,
    double snrGamma, LrSchedule lrSchedule, int gradAccumulation, double pUncond) {

  /** Largest image side, in pixels. */
  public static final int MAX_IMAGE_SIZE = 1024;
  /** Most diffusion steps T. */
  public static final int MAX_DIFFUSION_STEPS = 100_000;
  /** Most images per optimizer step. */
  public static final int MAX_BATCH_SIZE = 4096;
  /** Largest learning rate: Adam's steps are about lr in size, and weights live around 1. */
  public static final double MAX_LR = 1.0;
  /** Largest min-SNR {@code gamma}. */
  public static final double MAX_SNR_GAMMA = 1e6;
  /** Most micro-batches per optimizer step. */
  public static final int MAX_GRAD_ACCUMULATION = 1024;
  /** The default min-SNR {@code gamma} (Hang et al. 2023 recommend 5). */
  public static final double DEFAULT_SNR_GAMMA = 5.0;
  /** The default probability of dropping a class label in training (Ho and Salimans 2022 found 0.1 to 0.2 best). */
  public static final double DEFAULT_P_UNCOND = 0.1;

  /** Keys that older versions wrote, and what they are called now. */
  private static final Map<String, String> OLD_KEYS = Map.of("steps", "timesteps");

  /** Fields that older versions did not write, and the values that reproduce what those versions did. */
  private static final Map<String, Number> ABSENT_DEFAULTS = Map.of("snrGamma", DEFAULT_SNR_GAMMA, "gradAccumulation", 1,
      "pUncond", DEFAULT_P_UNCOND);

  private static final Gson GSON = new GsonBuilder().setPrettyPrinting()
      .registerTypeAdapter(ScheduleType.class, new NameAdapter<>("schedule", ScheduleType::parse).nullSafe())
      .registerTypeAdapter(PredictionType.class, new NameAdapter<>("prediction", PredictionType::parse).nullSafe())
      .registerTypeAdapter(LossWeighting.class, new NameAdapter<>("lossWeighting", LossWeighting::parse).nullSafe())
      .registerTypeAdapter(LrSchedule.class, new NameAdapter<>("lrSchedule", LrSchedule::parse).nullSafe()).create();

  /** An enum constant as its name in configurations ({@code toString()}), read back by its {@code parse}. */
  private static final class NameAdapter<E> extends TypeAdapter<E> {
    private final String field;
    private final java.util.function.Function<String, E> parse;

    NameAdapter(String field, java.util.function.Function<String, E> parse) {
      this.field = field;
      this.parse = parse;
    }

    @Override
    public void write(JsonWriter out, E value) throws IOException {
      out.value(value.toString());
    }

    @Override
    public E read(JsonReader in) throws IOException {
      String text = in.nextString();
      try {
        return parse.apply(text);
      } catch (IllegalArgumentException e) {
        throw new InvalidSettingException("{" + field + "}: {}", e.getMessage());
      }
    }
  }

  /**
   * Validates every field.
   *
   * @throws InvalidSettingException naming the first field out of range
   */
  public TrainConfig {
    if (data == null || data.isBlank()) throw new InvalidSettingException("{data} must name a dataset");
    if (imageSize < 4 || imageSize > MAX_IMAGE_SIZE) {
      throw new InvalidSettingException("{imageSize=} must be in 4..{}", imageSize, MAX_IMAGE_SIZE);
    }
    if (model == null) throw new InvalidSettingException("{model} is missing");
    if (model.imageChannels() != 1 && model.imageChannels() != 3) {
      throw new InvalidSettingException("{imageChannels=} must be 1 (grayscale) or 3 (RGB)", model.imageChannels());
    }
    if (imageSize % model.sizeDivisor() != 0) {
      throw new InvalidSettingException("{imageSize=} must be divisible by {} (2^(levels-1) for {} levels)", imageSize,
          model.sizeDivisor(), model.levels());
    }
    if (limit < 0) throw new InvalidSettingException("{limit=} must be >= 0", limit);
    if (schedule == null) throw new InvalidSettingException("{schedule} is missing (linear or cosine)");
    if (timesteps < 2 || timesteps > MAX_DIFFUSION_STEPS) {
      throw new InvalidSettingException("{timesteps=} must be in 2..{}", timesteps, MAX_DIFFUSION_STEPS);
    }
    if (!(betaStart > 0 && betaStart < betaEnd && betaEnd < 1)) {
      throw new InvalidSettingException("need 0 < {betaStart} < {betaEnd} < 1, got {betaStart=}, {betaEnd=}", betaStart, betaEnd);
    }
    if (batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
      throw new InvalidSettingException("{batchSize=} must be in 1..{}", batchSize, MAX_BATCH_SIZE);
    }
    if (trainSteps < 1) throw new InvalidSettingException("{trainSteps=} must be >= 1", trainSteps);
    if (!(lr > 0 && lr <= MAX_LR)) throw new InvalidSettingException("{lr=} must be in (0, {}]", lr, MAX_LR);
    if (warmupSteps < 0) throw new InvalidSettingException("{warmupSteps=} must be >= 0", warmupSteps);
    if (!(gradClip >= 0 && Double.isFinite(gradClip))) {
      throw new InvalidSettingException("{gradClip=} must be finite and >= 0", gradClip);
    }
    if (!(emaDecay >= 0 && emaDecay < 1)) throw new InvalidSettingException("{emaDecay=} must be in [0, 1)", emaDecay);
    if (precision == null) precision = Precision.FP32;
    if (prediction == null) prediction = PredictionType.EPSILON;
    if (lossWeighting == null) lossWeighting = LossWeighting.UNIFORM;
    if (!(snrGamma > 0 && snrGamma <= MAX_SNR_GAMMA)) {
      throw new InvalidSettingException("{snrGamma=} must be in (0, {}]", snrGamma, MAX_SNR_GAMMA);
    }
    if (lrSchedule == null) lrSchedule = LrSchedule.CONSTANT;
    if (gradAccumulation < 1 || gradAccumulation > MAX_GRAD_ACCUMULATION) {
      throw new InvalidSettingException("{gradAccumulation=} must be in 1..{}", gradAccumulation, MAX_GRAD_ACCUMULATION);
    }
    if (!(pUncond >= 0 && pUncond <= 1)) throw new InvalidSettingException("{pUncond=} must be in [0, 1]", pUncond);
  }

  /**
   * A configuration with the values of the fields added after {@code precision} that reproduce the runs of
   * earlier versions: epsilon prediction, uniform loss weighting, min-SNR gamma 5, a constant learning rate
   * after the warm-up, no gradient accumulation, and p_uncond 0.1 (unused by an unconditional model).
   *
   * @throws InvalidSettingException naming the first field out of range
   */
  public TrainConfig(String data, int imageSize, long limit, boolean flip, UNetConfig model, ScheduleType schedule, int timesteps,
      double betaStart, double betaEnd, int batchSize, long trainSteps, double lr, long warmupSteps, double gradClip,
      double emaDecay, boolean emaWarmup, long seed, Precision precision) {
    this(data, imageSize, limit, flip, model, schedule, timesteps, betaStart, betaEnd, batchSize, trainSteps, lr, warmupSteps, gradClip,
        emaDecay, emaWarmup, seed, precision, PredictionType.EPSILON, LossWeighting.UNIFORM, DEFAULT_SNR_GAMMA, LrSchedule.CONSTANT, 1,
        DEFAULT_P_UNCOND);
  }

  /** @return the default CPU model for Fashion-MNIST (see the class comment) */
  public static UNetConfig cpuModel() {
    return new UNetConfig(1, 32, List.of(1, 2, 2), List.of(false, false, true), 1, 0.0, 8, 8);
  }

  /** @return the default run: Fashion-MNIST, the CPU model, 2000 steps of batch 32 (see the class comment) */
  public static TrainConfig defaults() {
    return new TrainConfig("fashion-mnist", 28, 0, false, cpuModel(), ScheduleType.LINEAR, 1000, 1e-4, 0.02, 32, 2000, 2e-3, 200, 1.0,
        0.995, true, 0, Precision.FP32, PredictionType.V_PREDICTION, LossWeighting.MIN_SNR, DEFAULT_SNR_GAMMA, LrSchedule.COSINE, 1,
        DEFAULT_P_UNCOND);
  }

  /**
   * @param newTrainSteps the total number of optimizer steps
   * @return this configuration with another {@code trainSteps}
   * @throws IllegalArgumentException if {@code newTrainSteps} is below 1
   */
  public TrainConfig withTrainSteps(long newTrainSteps) {
    return new TrainConfig(data, imageSize, limit, flip, model, schedule, timesteps, betaStart, betaEnd, batchSize, newTrainSteps, lr,
        warmupSteps, gradClip, emaDecay, emaWarmup, seed, precision, prediction, lossWeighting, snrGamma, lrSchedule, gradAccumulation,
        pUncond);
  }

  /**
   * The run's noise schedule: {@link #schedule()} over {@link #timesteps()} steps, with {@link #betaStart()}
   * and {@link #betaEnd()} for a linear one (see {@link ScheduleType#create}).
   *
   * @param device where the coefficient tensors live
   * @return the schedule; the caller closes it
   * @throws io.github.ddpm4j.torch.TorchException if the device is not available
   */
  public NoiseSchedule noiseSchedule(Device device) {
    return schedule.create(timesteps, betaStart, betaEnd, device);
  }

  /**
   * Whether a run with this configuration can continue a checkpoint made with {@code other}:
   * every field but {@code trainSteps} must be equal (a resumed run may be extended or shortened).
   *
   * @param other the configuration stored in a checkpoint
   * @return whether the two describe the same run
   */
  public boolean sameRunAs(TrainConfig other) {
    return other != null && other.withTrainSteps(trainSteps).equals(this);
  }

  /**
   * @param other another configuration
   * @return one {@code name: this value vs other value} line per field that differs, in declaration order
   */
  public List<String> differences(TrainConfig other) {
    return diff(other).stream().map(d -> d.field() + ": " + d.mine() + " vs " + d.theirs()).toList();
  }

  /** A field in which two configurations differ, and its two values. */
  record Difference(String field, Object mine, Object theirs) {}

  /** The fields in which {@code other} differs from this configuration, in declaration order. */
  List<Difference> diff(TrainConfig other) {
    List<Difference> out = new ArrayList<>();
    for (RecordComponent c : TrainConfig.class.getRecordComponents()) {
      try {
        Object mine = c.getAccessor().invoke(this);
        Object theirs = c.getAccessor().invoke(other);
        if (!Objects.equals(mine, theirs)) out.add(new Difference(c.getName(), mine, theirs));
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  /** @return this configuration as indented JSON */
  public String toJson() {
    return GSON.toJson(this);
  }

  /**
   * Reads a configuration, checking it exactly as the constructor checks the command line's options.
   * Keys that older versions wrote are read under their new names: {@code steps} (the diffusion
   * length T, as {@code timesteps}); the key {@code trainSteps} always meant the optimizer steps.
   * Fields that older versions did not write take the values that reproduce those versions' runs
   * (epsilon prediction, uniform weighting, a constant learning rate, no accumulation, no classes).
   *
   * @param json text written by {@link #toJson()}, by this version or an older one
   * @return the configuration
   * @throws IllegalArgumentException {@code "invalid configuration: <field> = <value> must be ..."} if a
   *     field is out of range; {@code "malformed configuration: ..."} if the text is not such JSON;
   *     {@code "empty configuration"} if it holds nothing
   */
  public static TrainConfig fromJson(String json) {
    TrainConfig c;
    try {
      c = GSON.fromJson(renameOldKeys(JsonParser.parseString(json)), TrainConfig.class);
    } catch (RuntimeException e) {
      // Gson reports a failing record constructor as a plain RuntimeException whose cause is the validation error.
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof IllegalArgumentException bad && !(t instanceof NumberFormatException)) {
          throw new IllegalArgumentException("invalid configuration: " + bad.getMessage(), bad);
        }
      }
      throw new IllegalArgumentException("malformed configuration: " + e.getMessage(), e);
    }
    if (c == null) throw new IllegalArgumentException("empty configuration");
    return c;
  }

  /** Renames the keys of {@link #OLD_KEYS} in a top-level object, unless the new key is there too, and adds {@link #ABSENT_DEFAULTS}. */
  private static JsonElement renameOldKeys(JsonElement json) {
    if (json instanceof JsonObject o) {
      OLD_KEYS.forEach((old, now) -> {
        if (o.has(old) && !o.has(now)) o.add(now, o.remove(old));
      });
      ABSENT_DEFAULTS.forEach((key, value) -> {
        if (!o.has(key)) o.addProperty(key, value);
      });
    }
    return json;
  }
}
