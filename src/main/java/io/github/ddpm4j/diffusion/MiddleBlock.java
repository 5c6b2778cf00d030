package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;

/** The bottom of the {@link UNet}: {@code res1}, {@code attn}, {@code res2}, all at the lowest resolution. */
final class MiddleBlock extends UNetBlock {
  private final ResidualBlock res1;
  private final AttentionBlock attn;
  private final ResidualBlock res2;

  MiddleBlock(long nChannels, long timeChannels, long nGroups, double dropout) {
    this.res1 = registerModule("res1", new ResidualBlock(nChannels, nChannels, timeChannels, nGroups, dropout));
    this.attn = registerModule("attn", new AttentionBlock(nChannels, nGroups));
    this.res2 = registerModule("res2", new ResidualBlock(nChannels, nChannels, timeChannels, nGroups, dropout));
  }

  @Override
  Tensor forward(Tensor x, Tensor temb) {
    try (Scope scope = Scope.open()) {
      return Scope.keep(res2.forward(attn.forward(res1.forward(x, temb)), temb));
    }
  }
}
