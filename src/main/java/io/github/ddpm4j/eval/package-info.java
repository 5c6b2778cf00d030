/**
 * Scoring generated images: the Fréchet distance (FID, Heusel et al. 2017) and the kernel distance
 * (KID, Binkowski et al. 2018) between generated and real Fashion-MNIST images, and the class histogram,
 * all in the feature space of ddpm4j's own small Fashion-MNIST classifier
 * ({@link io.github.ddpm4j.eval.FashionClassifier}), not Inception-v3's: the numbers are comparable with
 * each other, not with the Inception FIDs of papers. {@link io.github.ddpm4j.eval.Evaluator} computes them;
 * {@link io.github.ddpm4j.eval.ClassifierTrainer} trains the classifier that ddpm4j ships.
 */
package io.github.ddpm4j.eval;
