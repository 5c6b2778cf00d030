package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.GroupNorm;
import io.github.ddpm4j.nn.Linear;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.util.List;

/**
 * Single-head self-attention over the pixels of a feature map (Ho et al. 2020,
 * appendix B; Vaswani et al. 2017, equation 1):
 * {@code x + output(softmax(Q K^T / sqrt(d_k)) V)} with {@code [Q, K, V] = projection(norm(x))}
 * and {@code d_k} the channel count. Unlike the seed, which builds {@code norm} but never
 * calls it, the GroupNorm is applied to the attention input; the residual adds the
 * un-normalised {@code x}.
 *
 * <p>Parameters: {@code norm} (GroupNorm), {@code projection} (Linear {@code c -> 3c}) and
 * {@code output} (Linear {@code c -> c}).
 */
final class AttentionBlock extends UNetBlock {
  private final GroupNorm norm;
  private final Linear projection;
  private final Linear output;
  private final long dK;

  AttentionBlock(long nChannels, long nGroups) {
    this.norm = registerModule("norm", new GroupNorm(nGroups, nChannels));
    this.projection = registerModule("projection", new Linear(nChannels, 3 * nChannels));
    this.output = registerModule("output", new Linear(nChannels, nChannels));
    this.dK = nChannels;
  }

  @Override
  Tensor forward(Tensor x, Tensor temb) {
    return forward(x);
  }

  /**
   * @param x {@code [batch, channels, height, width]}
   * @return the same shape; joins the caller's scope
   */
  Tensor forward(Tensor x) {
    try (Scope scope = Scope.open()) {
      long b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
      Tensor seq = x.reshape(b, c, h * w).permute(0, 2, 1);
      Tensor normed = norm.forward(x).reshape(b, c, h * w).permute(0, 2, 1);
      List<Tensor> qkv = projection.forward(normed).chunk(3, -1);
      Tensor scores = qkv.get(0).matmul(qkv.get(1).transpose(1, 2)).mul(1.0 / Math.sqrt(dK));
      Tensor attended = scores.softmax(-1).matmul(qkv.get(2));
      // in place, as in the seed: the Linear's backward needs its input and weight, not its output
      Tensor res = output.forward(attended).add_(seq);
      return Scope.keep(res.permute(0, 2, 1).reshape(b, c, h, w));
    }
  }
}
