package io.github.ddpm4j.train;

import io.github.ddpm4j.torch.Tensor;

/**
 * Scores a set of generated images against a reference set, for the evaluations a {@link Trainer} runs during
 * training ({@link Trainer#scorer(SampleScorer)}): the Fréchet Inception Distance (FID, Heusel et al. 2017) and
 * the Kernel Inception Distance (KID, Bińkowski et al. 2018, the unbiased MMD estimate with the cubic polynomial
 * kernel, averaged over subsets) of the images' features, whatever feature network the implementation uses.
 * Lower is better for both.
 *
 * <p>The trainer calls it on its training thread, between optimizer steps, on rank 0 of a data-parallel run.
 */
public interface SampleScorer {
  /**
   * @param images float32 {@code [n, channels, height, width]} in [-1, 1], on the training device, the run's
   *     image size and channels; owned by the caller, valid only during the call
   * @return the images' scores
   * @throws IllegalArgumentException if the images do not fit the scorer (their shape or their number)
   */
  Score score(Tensor images);

  /**
   * The scores of one set of images.
   *
   * @param fid the Fréchet distance between the Gaussians fitted to the generated and the reference features
   * @param kid the KID estimate (the mean over subsets of the unbiased squared MMD)
   * @param kidStdErr the standard error of that mean over the subsets (0 with one subset)
   */
  record Score(double fid, double kid, double kidStdErr) {}
}
