package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Conv2d;
import io.github.ddpm4j.nn.Dropout;
import io.github.ddpm4j.nn.GroupNorm;
import io.github.ddpm4j.nn.Identity;
import io.github.ddpm4j.nn.Linear;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.nn.SiLU;
import io.github.ddpm4j.nn.UnaryModule;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.nn.ConvOptions;

/**
 * The seed's residual block (a wide-ResNet block as in Ho et al. 2020, appendix B):
 * {@code h = conv1(swish(norm1(x))) + time_emb(swish(temb))}, then
 * {@code conv2(dropout(swish(norm2(h)))) + shortcut(x)}.
 *
 * <p>Parameters: {@code norm1}, {@code conv1} (3x3), {@code norm2}, {@code conv2} (3x3),
 * {@code shortcut} (1x1 convolution when the channel count changes, else none) and
 * {@code time_emb} (Linear from the embedding width to {@code outChannels}).
 */
final class ResidualBlock extends UNetBlock {
  private final GroupNorm norm1;
  private final SiLU act1;
  private final Conv2d conv1;
  private final GroupNorm norm2;
  private final SiLU act2;
  private final Conv2d conv2;
  private final UnaryModule shortcut;
  private final Linear timeEmb;
  private final SiLU timeAct;
  private final Dropout dropout;

  ResidualBlock(long inChannels, long outChannels, long timeChannels, long nGroups, double dropout) {
    this.norm1 = registerModule("norm1", new GroupNorm(nGroups, inChannels));
    this.act1 = registerModule("act1", new SiLU());
    this.conv1 = registerModule("conv1", new Conv2d(inChannels, outChannels, ConvOptions.kernel(3).withPadding(1)));
    this.norm2 = registerModule("norm2", new GroupNorm(nGroups, outChannels));
    this.act2 = registerModule("act2", new SiLU());
    this.conv2 = registerModule("conv2", new Conv2d(outChannels, outChannels, ConvOptions.kernel(3).withPadding(1)));
    Module skip = inChannels != outChannels ? new Conv2d(inChannels, outChannels, ConvOptions.kernel(1)) : new Identity();
    this.shortcut = (UnaryModule) registerModule("shortcut", skip);
    this.timeEmb = registerModule("time_emb", new Linear(timeChannels, outChannels));
    this.timeAct = registerModule("time_act", new SiLU());
    this.dropout = registerModule("dropout", new Dropout(dropout));
  }

  @Override
  Tensor forward(Tensor x, Tensor temb) {
    try (Scope scope = Scope.open()) {
      // The adds are in place, as in the seed: a convolution's backward needs its input and
      // weight, not its output, so overwriting the output leaves autograd intact.
      Tensor h = conv1.forward(act1.forward(norm1.forward(x)));
      Tensor t = timeEmb.forward(timeAct.forward(temb));
      h.add_(t.view(t.size(0), t.size(1), 1, 1));
      h = conv2.forward(dropout.forward(act2.forward(norm2.forward(h))));
      return Scope.keep(h.add_(shortcut.forward(x)));
    }
  }
}
