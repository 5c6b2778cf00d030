package io.github.ddpm4j.nn;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * A fully connected layer, {@code y = x W^T + b} ({@code torch.nn.Linear}).
 *
 * <p>Parameters: {@code weight} {@code [outFeatures, inFeatures]} and, unless
 * disabled, {@code bias} {@code [outFeatures]}, both float32 on the CPU. They
 * start as in PyTorch: {@code weight} from {@code kaiming_uniform_(a=sqrt(5))},
 * that is U(-1/sqrt(inFeatures), 1/sqrt(inFeatures)), then {@code bias} from the
 * same interval, drawn in that order from the default generator, so that after
 * {@code Torch.manualSeed(s)} a new layer equals PyTorch's after
 * {@code torch.manual_seed(s)}.
 */
public final class Linear extends Module implements UnaryModule {
  private final long inFeatures;
  private final long outFeatures;
  private final boolean hasBias;

  /**
   * A layer with a bias.
   *
   * @param inFeatures size of each input sample, &gt; 0
   * @param outFeatures size of each output sample, &gt; 0
   * @throws IllegalArgumentException if a size is not positive
   */
  public Linear(long inFeatures, long outFeatures) {
    this(inFeatures, outFeatures, true);
  }

  /**
   * @param inFeatures size of each input sample, &gt; 0
   * @param outFeatures size of each output sample, &gt; 0
   * @param bias whether to learn an additive bias
   * @throws IllegalArgumentException if a size is not positive
   */
  public Linear(long inFeatures, long outFeatures, boolean bias) {
    this.inFeatures = Checks.positive(inFeatures, "inFeatures");
    this.outFeatures = Checks.positive(outFeatures, "outFeatures");
    this.hasBias = bias;
    registerParameter("weight", Torch.empty(new long[] {outFeatures, inFeatures}, DType.FLOAT32, Device.CPU));
    if (bias) registerParameter("bias", Torch.empty(new long[] {outFeatures}, DType.FLOAT32, Device.CPU));
    resetParameters();
  }

  /**
   * Redraws the parameters as the constructor does ({@code Linear.reset_parameters}),
   * from the default generator.
   */
  public void resetParameters() {
    Init.kaimingUniform_(weight(), Math.sqrt(5));
    if (hasBias) {
      long fanIn = Init.calculateFanInAndFanOut(weight()).fanIn();
      double bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      Init.uniform_(bias(), -bound, bound, null);
    }
  }

  /**
   * Applies the layer ({@code Linear.forward}, {@code F.linear}).
   *
   * @param input {@code [*, inFeatures]}, with at least one dimension, the parameters' dtype and device
   * @return {@code [*, outFeatures]}
   * @throws IllegalArgumentException if the input has no dimensions, its last size is not
   *     {@code inFeatures}, or its dtype or device differs from the parameters'
   */
  @Override
  public Tensor forward(Tensor input) {
    Checks.input(input, this);
    if (input.dim() < 1 || input.size(-1) != inFeatures) throw Checks.badShape(this, "[*, " + inFeatures + "]", input);
    Tensor w = weight();
    Checks.sameTypeAndDevice(input, w, this);
    return Functional.linear(input, w, bias());
  }

  /** @return the weight {@code [outFeatures, inFeatures]} (the module's own tensor: do not close it) */
  public Tensor weight() {
    return parameter("weight");
  }

  /** @return the bias {@code [outFeatures]}, or {@code null} for a layer without one */
  public Tensor bias() {
    return hasBias ? parameter("bias") : null;
  }

  /** @return the size of each input sample */
  public long inFeatures() {
    return inFeatures;
  }

  /** @return the size of each output sample */
  public long outFeatures() {
    return outFeatures;
  }

  /** @return {@code in_features=.., out_features=.., bias=True|False}, as PyTorch prints it */
  @Override
  protected String extraRepr() {
    return "in_features=" + inFeatures + ", out_features=" + outFeatures + ", bias=" + Repr.pyBool(hasBias);
  }
}
