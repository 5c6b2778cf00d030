package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Conv2d;
import io.github.ddpm4j.nn.GroupNorm;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.nn.ModuleList;
import io.github.ddpm4j.nn.SiLU;
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
 * {@snippet :
 * UNetConfig config = UNetConfig.builder().imageChannels(1).nChannels(32).chMults(1, 2, 2).isAttn(false, true, false).build();
 * try (UNet unet = new UNet(config)) {
 *   Tensor eps = unet.epsTheta(xt, t); // [batch, 1, 28, 28] for xt of that shape
 * }
 * }
 */
public final class UNet extends Module implements EpsilonModel {
  private final UNetConfig config;
  private final Conv2d imageProj;
  private final TimeEmbedding timeEmb;
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
    checkInput(x, t);
    try (Scope scope = Scope.open()) {
      // A channels-last network (to(MemoryFormat.CHANNELS_LAST)) gets a channels-last input, as in PyTorch.
      if (memoryFormat() == MemoryFormat.CHANNELS_LAST) x = x.contiguous(MemoryFormat.CHANNELS_LAST);
      Tensor temb = timeEmb.forward(t);
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
