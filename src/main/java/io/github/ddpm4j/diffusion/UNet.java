package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Conv2d;
import io.github.ddpm4j.nn.GroupNorm;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.nn.ModuleList;
import io.github.ddpm4j.nn.SiLU;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.MemoryFormat;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import java.util.Objects;
import io.github.ddpm4j.nn.ConvOptions;

/**
 * The seed's U-Net noise predictor {@code epsTheta(x_t, t)} (Ho et al. 2020, appendix B;
 * Ronneberger et al. 2015): a PixelCNN++-style U-Net of residual blocks with GroupNorm,
 * self-attention at chosen resolutions and a sinusoidal timestep embedding added in every
 * residual block.
 *
 * <p>Its parameters carry the seed's PyTorch module paths, so state dicts move between
 * the two unchanged: {@code image_proj.weight}, {@code time_emb.lin1.weight},
 * {@code down.0.res.conv1.weight}, {@code down.1.attn.projection.bias},
 * {@code middle.res1.norm1.weight}, {@code up.0.res.shortcut.weight}, {@code norm.weight},
 * {@code final.bias} and so on. The seed's one defect is fixed: each attention block
 * applies its GroupNorm. Layers are initialised as {@code torch.nn} initialises them;
 * parameters are float32 on the CPU.
 *
 * <p><b>Class-conditional.</b> With {@code numClasses = K > 0} the network also takes a class label
 * (Ho &amp; Salimans 2022, "Classifier-Free Diffusion Guidance"): a table {@code class_emb.weight}
 * {@code [K + 1, 4 nChannels]} (as {@code torch.nn.Embedding(K + 1, 4 nChannels)}, N(0, 1) at the start) whose
 * row for the label is added to the time embedding before the blocks; row {@code K} is the "no class" token of
 * unconditional predictions. An unconditional network ({@code K = 0}) has no such parameter, so its state
 * dicts are those of the seed.
 *
 * {@snippet :
 * UNetConfig config = UNetConfig.builder().imageChannels(1).nChannels(32).chMults(1, 2, 2).isAttn(false, true, false).build();
 * try (UNet unet = new UNet(config)) {
 *   Tensor eps = unet.epsTheta(xt, t); // [batch, 1, 28, 28] for xt of that shape
 * }
 * }
 */
public final class UNet extends Module implements ClassConditionalModel {
  private final UNetConfig config;
  private final Conv2d imageProj;
  private final TimeEmbedding timeEmb;
  private final ClassEmbedding classEmb;
  private final ModuleList<UNetBlock> down;
  private final MiddleBlock middle;
  private final ModuleList<UNetBlock> up;
  private final GroupNorm norm;
  private final SiLU act;
  private final Conv2d finalConv;

  /**
   * Builds the network, with the same module structure as the seed's {@code UNet.__init__}.
   *
   * @param config the shape of the network (already validated)
   * @throws NullPointerException if {@code config} is null
   */
  public UNet(UNetConfig config) {
    this.config = Objects.requireNonNull(config, "config");
    long nChannels = config.nChannels();
    long timeChannels = 4L * nChannels;
    long groups = config.nGroups();
    double p = config.dropout();
    int levels = config.levels();
    this.imageProj = registerModule("image_proj", new Conv2d(config.imageChannels(), nChannels, ConvOptions.kernel(3).withPadding(1)));
    this.timeEmb = registerModule("time_emb", new TimeEmbedding(timeChannels));
    this.classEmb = config.isClassConditional()
        ? registerModule("class_emb", new ClassEmbedding(config.numClasses() + 1L, timeChannels)) : null;

    ModuleList<UNetBlock> downList = registerModule("down", new ModuleList<>());
    long in = nChannels;
    long out = nChannels;
    for (int i = 0; i < levels; i++) {
      out = in * config.chMults().get(i);
      for (int b = 0; b < config.nBlocks(); b++) {
        downList.add(new ResAttnBlock(in, out, timeChannels, config.isAttn().get(i), groups, p));
        in = out;
      }
      if (i < levels - 1) downList.add(new Downsample(in));
    }
    this.down = downList;
    this.middle = registerModule("middle", new MiddleBlock(out, timeChannels, groups, p));

    ModuleList<UNetBlock> upList = registerModule("up", new ModuleList<>());
    in = out;
    for (int i = levels - 1; i >= 0; i--) {
      out = in;
      for (int b = 0; b < config.nBlocks(); b++) {
        upList.add(new ResAttnBlock(in + out, out, timeChannels, config.isAttn().get(i), groups, p));
      }
      out = in / config.chMults().get(i);
      upList.add(new ResAttnBlock(in + out, out, timeChannels, config.isAttn().get(i), groups, p));
      in = out;
      if (i > 0) upList.add(new Upsample(in));
    }
    this.up = upList;
    this.norm = registerModule("norm", new GroupNorm(config.finalGroups(), nChannels));
    this.act = registerModule("act", new SiLU());
    this.finalConv = registerModule("final", new Conv2d(in, config.imageChannels(), ConvOptions.kernel(3).withPadding(1)));
  }

  /** @return the configuration this network was built from */
  public UNetConfig config() {
    return config;
  }

  /**
   * Predicts the noise in {@code x} (the seed's {@code UNet.forward}). Dropout is active in
   * training mode; call {@link #eval()} for deterministic predictions.
   *
   * @param x noised images {@code x_t}, float32 {@code [batch, imageChannels, height, width]}, with
   *     height and width divisible by {@code 2^(levels - 1)}
   * @param t timesteps, {@code [batch]}, integer or floating point
   * @return {@code epsTheta(x_t, t)}, float32 {@code [batch, imageChannels, height, width]}; it joins the
   *     caller's innermost open scope
   * @throws IllegalArgumentException naming {@code x} if it is not four-dimensional, has the wrong channel
   *     count, or a height or width not divisible by {@code 2^(levels - 1)}; naming {@code t} if its shape is
   *     not {@code [batch]}
   * @throws IllegalStateException if the network is closed
   */
  public Tensor forward(Tensor x, Tensor t) {
    return forward(x, t, null);
  }

  /**
   * Predicts the noise in {@code x} for the given class labels: the class embedding of each label is added to
   * the time embedding (Ho &amp; Salimans 2022). Dropout is active in training mode.
   *
   * @param x noised images {@code x_t}, float32 {@code [batch, imageChannels, height, width]}, with
   *     height and width divisible by {@code 2^(levels - 1)}
   * @param t timesteps, {@code [batch]}, integer or floating point
   * @param classLabels int64 {@code [batch]} on the device of {@code x}, each in 0..numClasses
   *     ({@code numClasses}: the "no class" token); null: no class for every image (and the only value an
   *     unconditional network takes)
   * @return {@code epsTheta(x_t, t, c)}, float32 {@code [batch, imageChannels, height, width]}; it joins the
   *     caller's innermost open scope
   * @throws IllegalArgumentException as {@link #forward(Tensor, Tensor)}; naming {@code classLabels} if they are
   *     given to an unconditional network ({@code numClasses = 0}), are not int64, do not have shape
   *     {@code [batch]}, or a label is outside 0..numClasses
   * @throws IllegalStateException if the network is closed
   */
  public Tensor forward(Tensor x, Tensor t, Tensor classLabels) {
    checkInput(x, t);
    if (classLabels != null) checkLabels(classLabels, x.size(0));
    try (Scope scope = Scope.open()) {
      // A channels-last network (to(MemoryFormat.CHANNELS_LAST)) gets a channels-last input, as in PyTorch.
      if (memoryFormat() == MemoryFormat.CHANNELS_LAST) x = x.contiguous(MemoryFormat.CHANNELS_LAST);
      Tensor temb = timeEmb.forward(t);
      if (classEmb != null) {
        Tensor labels = classLabels != null ? classLabels
            : Torch.full(new long[] {x.size(0)}, config.numClasses(), DType.INT64, x.device());
        temb = temb.add(classEmb.forward(labels));
      }
      Tensor h = imageProj.forward(x);
      Deque<Tensor> skips = new ArrayDeque<>();
      skips.push(h);
      for (UNetBlock block : down) {
        h = block.forward(h, temb);
        skips.push(h);
      }
      h = middle.forward(h, temb);
      for (UNetBlock block : up) {
        if (block instanceof Upsample) {
          h = block.forward(h, temb);
        } else {
          Tensor joined = Torch.cat(List.of(h, skips.pop()), 1);
          h = block.forward(joined, temb);
        }
      }
      return Scope.keep(finalConv.forward(act.forward(norm.forward(h))));
    }
  }

  /**
   * The noise prediction of equation 11 of Ho et al. 2020; the same as {@link #forward(Tensor, Tensor)}.
   *
   * @param xt noised images, float32 {@code [batch, imageChannels, height, width]}
   * @param t timestep indices, {@code [batch]}
   * @return {@code epsTheta(x_t, t)}, the shape of {@code xt}
   * @throws IllegalArgumentException as {@link #forward(Tensor, Tensor)}
   */
  @Override
  public Tensor epsTheta(Tensor xt, Tensor t) {
    return forward(xt, t);
  }

  /**
   * The class-conditional noise prediction {@code epsTheta(x_t, t, c)}; the same as
   * {@link #forward(Tensor, Tensor, Tensor)}.
   *
   * @param xt noised images, float32 {@code [batch, imageChannels, height, width]}
   * @param t timestep indices, {@code [batch]}
   * @param classLabels int64 {@code [batch]}, each in 0..numClasses; null: no class
   * @return {@code epsTheta(x_t, t, c)}, the shape of {@code xt}
   * @throws IllegalArgumentException as {@link #forward(Tensor, Tensor, Tensor)}
   */
  @Override
  public Tensor epsTheta(Tensor xt, Tensor t, Tensor classLabels) {
    return forward(xt, t, classLabels);
  }

  /** @return the classes of a class-conditional network, 0 for an unconditional one */
  @Override
  public int numClasses() {
    return config.numClasses();
  }

  private void checkLabels(Tensor labels, long batch) {
    if (!config.isClassConditional()) {
      throw new IllegalArgumentException("classLabels given to an unconditional UNet (numClasses = 0); train with "
          + "--class-conditional for a model that takes class labels");
    }
    if (labels.dtype() != DType.INT64) throw new IllegalArgumentException("classLabels must be int64, got " + labels.dtype());
    if (labels.dim() != 1 || labels.size(0) != batch) {
      throw new IllegalArgumentException("classLabels must have shape [batch] = [" + batch + "], got " + Arrays.toString(labels.shape()));
    }
    try (Scope s = Scope.open()) {
      long lo = labels.amin().itemLong();
      long hi = labels.amax().itemLong();
      if (lo < 0 || hi > config.numClasses()) {
        throw new IllegalArgumentException("classLabels must be in 0.." + config.numClasses() + " (" + config.numClasses()
            + ": no class), got values in " + lo + ".." + hi);
      }
    }
  }

  private void checkInput(Tensor x, Tensor t) {
    if (x.dim() != 4) {
      throw new IllegalArgumentException("x must be [batch, channels, height, width], got " + Arrays.toString(x.shape()));
    }
    if (x.size(1) != config.imageChannels()) {
      throw new IllegalArgumentException("x has " + x.size(1) + " channels but imageChannels = " + config.imageChannels());
    }
    long divisor = config.sizeDivisor();
    if (x.size(2) % divisor != 0 || x.size(3) % divisor != 0) {
      throw new IllegalArgumentException("x has height " + x.size(2) + " and width " + x.size(3) + "; both must be divisible by"
          + " 2^(levels - 1) = " + divisor + " for levels = chMults.size() = " + config.levels());
    }
    if (t.dim() != 1 || t.size(0) != x.size(0)) {
      throw new IllegalArgumentException("t must have shape [batch] = [" + x.size(0) + "], got " + Arrays.toString(t.shape()));
    }
  }
}
