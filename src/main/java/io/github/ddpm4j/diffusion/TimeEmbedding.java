package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Linear;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.nn.SiLU;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.List;

/**
 * The timestep embedding of the seed's UNet: the transformer's sinusoidal position
 * encoding of {@code t} (Vaswani et al. 2017, section 3.5, as used by Ho et al. 2020,
 * appendix B) with {@code d = nChannels / 8} frequencies
 * {@code exp(-i ln(10000) / (d - 1))}, {@code [sin, cos]} concatenated, then
 * {@code lin1}, Swish and {@code lin2}.
 *
 * <p>Parameters: {@code lin1} ({@code nChannels / 4 -> nChannels}) and {@code lin2}
 * ({@code nChannels -> nChannels}).
 */
final class TimeEmbedding extends Module {
  private final long nChannels;
  private final Linear lin1;
  private final SiLU act;
  private final Linear lin2;

  /** @param nChannels the embedding width, divisible by 8 and &gt;= 16 (checked by {@link UNetConfig}) */
  TimeEmbedding(long nChannels) {
    this.nChannels = nChannels;
    this.lin1 = registerModule("lin1", new Linear(nChannels / 4, nChannels));
    this.act = registerModule("act", new SiLU());
    this.lin2 = registerModule("lin2", new Linear(nChannels, nChannels));
  }

  /**
   * @param t timesteps, any real or integer dtype, {@code [batch]}
   * @return float32 {@code [batch, nChannels]}; joins the caller's scope
   */
  Tensor forward(Tensor t) {
    try (Scope scope = Scope.open()) {
      long halfDim = nChannels / 8;
      double step = Math.log(10_000) / (halfDim - 1);
      Tensor freqs = Torch.arange(0, halfDim, 1, DType.FLOAT32, t.device()).mul(-step).exp();
      Tensor args = t.to(DType.FLOAT32).unsqueeze(1).mul(freqs.unsqueeze(0));
      Tensor emb = Torch.cat(List.of(args.sin(), args.cos()), 1);
      return Scope.keep(lin2.forward(act.forward(lin1.forward(emb))));
    }
  }
}
