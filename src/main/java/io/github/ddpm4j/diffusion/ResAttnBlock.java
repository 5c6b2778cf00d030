package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Identity;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;

/**
 * A block of either half of the {@link UNet} (DownBlock and UpBlock of the annotated PyTorch DDPM):
 * {@code res}, then {@code attn} (an {@link AttentionBlock}, or an identity without
 * parameters). In the expanding half the input is the previous feature map concatenated
 * with the matching skip connection, so there {@code inChannels} is the sum of both.
 */
final class ResAttnBlock extends UNetBlock {
  private final ResidualBlock res;
  private final AttentionBlock attn;

  /**
   * @param inChannels channels of the input (in the expanding half: feature map plus skip connection)
   * @param outChannels channels of the output
   * @param timeChannels width of the time embedding
   * @param hasAttn whether an {@link AttentionBlock} follows the residual block
   * @param nGroups GroupNorm groups
   * @param dropout dropout probability in the residual block
   */
  ResAttnBlock(long inChannels, long outChannels, long timeChannels, boolean hasAttn, long nGroups, double dropout) {
    this.res = registerModule("res", new ResidualBlock(inChannels, outChannels, timeChannels, nGroups, dropout));
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
