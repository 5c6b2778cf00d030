package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Classifier-free guidance (Ho &amp; Salimans 2022, "Classifier-Free Diffusion Guidance", equation 6 and
 * Algorithm 2) as an {@link EpsilonModel}: for a class-conditional model, a class label per image and a guidance
 * scale {@code w}, its output for {@code (x_t, t)} is
 * {@code out_uncond + w (out_cond - out_uncond)}, with {@code out_cond = epsTheta(x_t, t, c)} and
 * {@code out_uncond = epsTheta(x_t, t, no class)}. Because it is an {@link EpsilonModel}, every sampler runs
 * it unchanged.
 *
 * <p><b>The scale.</b> {@code w} follows diffusers' {@code guidance_scale} (as in its Stable Diffusion
 * pipelines): {@code w = 0} gives the unconditional model, {@code w = 1} the conditional model without guidance,
 * and {@code w > 1} guides towards the class. Ho &amp; Salimans write the same combination as
 * {@code (1 + w') out_cond - w' out_uncond}; their {@code w'} is this {@code w - 1}.
 *
 * <p>Both predictions come from ONE forward pass over the doubled batch {@code [x_t; x_t]} with labels
 * {@code [c; no class]}, as diffusers' pipelines batch them; with {@code w = 0} only the unconditional pass
 * runs, with {@code w = 1} only the conditional one. The model's weights are only read, so one instance may be
 * used by many threads.
 *
 * {@snippet :
 * EpsilonModel guided = new ClassifierFreeGuidance(unet, new long[] {7}, 3.0); // class 7 for every image
 * Tensor x0 = new DdimSampler(new GaussianDiffusion(guided, schedule), 50, 0.0).sample(16, shape, 42, step -> {});
 * }
 */
public final class ClassifierFreeGuidance implements EpsilonModel {
  private final ClassConditionalModel model;
  private final long[] classLabels;
  private final double guidanceScale;

  /**
   * @param model a class-conditional model ({@code numClasses() > 0})
   * @param classLabels the class of each image of a batch, each in 0..numClasses-1; one label applies to every
   *     image of any batch, more must be as many as the batch's images (copied)
   * @param guidanceScale {@code w}, finite and &gt;= 0 (diffusers' convention; Ho &amp; Salimans' {@code w} is
   *     {@code w - 1})
   * @throws IllegalArgumentException if the model is unconditional, {@code classLabels} is empty or a label is
   *     out of range (the message names the valid labels), or {@code guidanceScale} is negative or not finite
   * @throws NullPointerException if an argument is null
   */
  public ClassifierFreeGuidance(ClassConditionalModel model, long[] classLabels, double guidanceScale) {
    this.model = Objects.requireNonNull(model, "model");
    Objects.requireNonNull(classLabels, "classLabels");
    int k = model.numClasses();
    if (k <= 0) throw new IllegalArgumentException("classifier-free guidance needs a class-conditional model; this one is unconditional");
    if (classLabels.length == 0) throw new IllegalArgumentException("classLabels is empty");
    for (long c : classLabels) {
      if (c < 0 || c >= k) throw new IllegalArgumentException("class label " + c + " is out of range: the model's classes are 0.." + (k - 1));
    }
    if (!(guidanceScale >= 0 && Double.isFinite(guidanceScale))) {
      throw new IllegalArgumentException("guidanceScale = " + guidanceScale + " must be finite and >= 0");
    }
    this.classLabels = classLabels.clone();
    this.guidanceScale = guidanceScale;
  }

  /** @return the guidance scale {@code w} (0: unconditional, 1: conditional, &gt; 1: guided) */
  public double guidanceScale() {
    return guidanceScale;
  }

  /** @return a copy of the class labels */
  public long[] classLabels() {
    return classLabels.clone();
  }

  /**
   * The guided prediction {@code out_uncond + w (out_cond - out_uncond)} (Ho &amp; Salimans 2022, equation 6,
   * with their {@code w} = this {@code w - 1}).
   *
   * @param xt noised images, floating point {@code [batch, channels, height, width]}
   * @param t timestep indices, int64 {@code [batch]}
   * @return the guided prediction, the shape and dtype of {@code xt}; it joins the caller's scope
   * @throws IllegalArgumentException if the batch does not match the number of labels (unless one label was
   *     given), or as the model's {@code epsTheta}
   */
  @Override
  public Tensor epsTheta(Tensor xt, Tensor t) {
    long batch = xt.size(0);
    if (classLabels.length != 1 && classLabels.length != batch) {
      throw new IllegalArgumentException("xt holds " + batch + " images but " + classLabels.length + " class labels were given");
    }
    try (Scope scope = Scope.open()) {
      Tensor noClass = Torch.full(new long[] {batch}, model.numClasses(), DType.INT64, xt.device());
      if (guidanceScale == 0) return Scope.keep(model.epsTheta(xt, t, noClass));
      Tensor cond = labels(batch).to(xt.device());
      if (guidanceScale == 1) return Scope.keep(model.epsTheta(xt, t, cond));
      Tensor out = model.epsTheta(Torch.cat(List.of(xt, xt), 0), Torch.cat(List.of(t, t), 0), Torch.cat(List.of(cond, noClass), 0));
      Tensor outCond = out.narrow(0, 0, batch);
      Tensor outUncond = out.narrow(0, batch, batch);
      return Scope.keep(outUncond.add(outCond.sub(outUncond).mul(guidanceScale)));
    }
  }

  private Tensor labels(long batch) {
    long[] l = classLabels.length == batch ? classLabels : new long[(int) batch];
    if (classLabels.length != batch) Arrays.fill(l, classLabels[0]);
    return Torch.tensor(l, batch);
  }
}
