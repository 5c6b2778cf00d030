package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Identity;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;

/**
 * One block of the expanding half of the {@link UNet}: its input is the previous
 * feature map concatenated with the matching skip connection, so {@code res} maps
 * {@code inChannels + outChannels} to {@code outChannels}; then {@code attn} (an
 * {@link AttentionBlock}, or an identity without parameters).
 */
final class UpBlock extends UNetBlock {
  private final ResidualBlock res;
  private final AttentionBlock attn;

  UpBlock(long inChannels, long outChannels, long timeChannels, boolean hasAttn, long nGroups, double dropout) {
    this.res = registerModule("res", new ResidualBlock(inChannels + outChannels, outChannels, timeChannels, nGroups, dropout));
    this.attn = hasAttn ? registerModule("attn", new AttentionBlock(outChannels, nGroups)) : null;
    if (!hasAttn) registerModule("attn", new Identity());
  }

  @Override
  Tensor forward(Tensor x, Tensor temb) {
    if (attn == null) return res.forward(x, temb);
    try (Scope scope = Scope.open()) {
      return Scope.keep(attn.forward(res.forward(x, temb)));
    }
  }
}
