package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * Group normalisation (Wu and He 2018, "Group Normalization"; {@code torch.nn.GroupNorm}
 * with {@code affine=True}): the channels are split into {@code numGroups}
 * groups, each sample's group is normalised to zero mean and unit variance
 * (biased variance, plus {@code eps}), then scaled and shifted per channel.
 *
 * <p>Parameters: {@code weight} {@code [numChannels]}, initially ones, and
 * {@code bias} {@code [numChannels]}, initially zeros (float32, CPU). Training
 * and evaluation behave alike: there are no running statistics.
 */
public final class GroupNorm extends Module implements UnaryModule {
  private final long numGroups;
  private final long numChannels;
  private final double eps;

  /**
   * A group norm with {@code eps = 1e-5}.
   *
   * @param numGroups number of groups, &gt; 0, dividing {@code numChannels}
   * @param numChannels channels expected in the input, &gt; 0
   * @throws IllegalArgumentException if a count is not positive or {@code numChannels % numGroups != 0}
   */
  public GroupNorm(long numGroups, long numChannels) {
    this(numGroups, numChannels, 1e-5);
  }

  /**
   * @param numGroups number of groups, &gt; 0, dividing {@code numChannels}
   * @param numChannels channels expected in the input, &gt; 0
   * @param eps added to the variance for numerical stability, finite and &gt;= 0
   * @throws IllegalArgumentException if a count is not positive, {@code numChannels % numGroups != 0},
   *     or {@code eps} is negative or not finite
   */
  public GroupNorm(long numGroups, long numChannels, double eps) {
    this.numGroups = Checks.positive(numGroups, "numGroups");
    this.numChannels = Checks.positive(numChannels, "numChannels");
    if (numChannels % numGroups != 0) {
      throw new IllegalArgumentException("numChannels (" + numChannels + ") must be divisible by numGroups (" + numGroups + ")");
    }
    if (!(eps >= 0) || Double.isInfinite(eps)) throw new IllegalArgumentException("eps must be finite and >= 0, got " + eps);
    this.eps = eps;
    registerParameter("weight", Torch.ones(new long[] {numChannels}, DType.FLOAT32, Device.CPU));
    registerParameter("bias", Torch.zeros(new long[] {numChannels}, DType.FLOAT32, Device.CPU));
  }

  /** Resets {@code weight} to ones and {@code bias} to zeros ({@code GroupNorm.reset_parameters}). */
  public void resetParameters() {
    Init.ones_(weight());
    Init.zeros_(bias());
  }

  /**
   * Normalises the input ({@code GroupNorm.forward}, {@code F.group_norm}).
   *
   * @param input {@code [N, numChannels, *]}, at least 2-d, in the parameters' dtype and device
   * @return the normalised input, same shape
   * @throws IllegalArgumentException if the input has fewer than two dimensions, its dimension 1 is
   *     not {@code numChannels}, or its dtype or device differs from the parameters'
   */
  @Override
  public Tensor forward(Tensor input) {
    Checks.input(input, this);
    if (input.dim() < 2 || input.size(1) != numChannels) throw Checks.badShape(this, "[N, " + numChannels + ", *]", input);
    Tensor w = weight();
    Checks.sameTypeAndDevice(input, w, this);
    return Functional.groupNorm(input, numGroups, w, bias(), eps);
  }

  /** @return the per-channel scale {@code [numChannels]} (the module's own tensor: do not close it) */
  public Tensor weight() {
    return parameter("weight");
  }

  /** @return the per-channel shift {@code [numChannels]} (the module's own tensor: do not close it) */
  public Tensor bias() {
    return parameter("bias");
  }

  /** @return the number of groups */
  public long numGroups() {
    return numGroups;
  }

  /** @return the number of channels */
  public long numChannels() {
    return numChannels;
  }

  /** @return the term added to the variance */
  public double eps() {
    return eps;
  }

  /** @return {@code numGroups, numChannels, eps=.., affine=True}, as PyTorch prints it */
  @Override
  protected String extraRepr() {
    return numGroups + ", " + numChannels + ", eps=" + Repr.pyFloat(eps) + ", affine=True";
  }
}
