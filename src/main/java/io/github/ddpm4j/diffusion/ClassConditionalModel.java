package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Tensor;

/**
 * A noise predictor that also takes a class label, {@code epsTheta(x_t, t, c)}, as the class-conditional
 * diffusion models of Ho &amp; Salimans 2022 ("Classifier-Free Diffusion Guidance", section 3) are: one network
 * trained both with labels and, for a fraction of the images, with the "no class" token
 * {@link #numClasses()} in place of the label, so that it predicts both {@code epsTheta(x_t, t, c)} and the
 * unconditional {@code epsTheta(x_t, t)}. {@link UNet} with {@code numClasses > 0} implements it;
 * {@link ClassifierFreeGuidance} combines its two predictions.
 *
 * <p>{@link #epsTheta(Tensor, Tensor)} of such a model is its unconditional prediction: every label
 * is the "no class" token.
 */
public interface ClassConditionalModel extends EpsilonModel {
  /**
   * @return the number of classes {@code K}: labels are 0..K-1, and {@code K} itself is the "no class"
   *     token of unconditional predictions
   */
  int numClasses();

  /**
   * Predicts the noise in {@code xt} for the given class labels.
   *
   * @param xt the noised images {@code x_t}, floating point {@code [batch, channels, height, width]}
   * @param t the timestep index of each image, int64 {@code [batch]}, each in [0, T)
   * @param classLabels the class of each image, int64 {@code [batch]}, each in 0..{@link #numClasses()}
   *     ({@code numClasses()}: no class), on the device of {@code xt}; null: no class for every image
   * @return {@code epsTheta(x_t, t, c)}, the shape and dtype of {@code xt}; it joins the caller's innermost
   *     open scope
   * @throws IllegalArgumentException if the shapes do not suit the model, or a label is not int64
   *     {@code [batch]} or is out of range
   */
  Tensor epsTheta(Tensor xt, Tensor t, Tensor classLabels);
}
