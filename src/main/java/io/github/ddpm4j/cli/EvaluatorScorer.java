package io.github.ddpm4j.cli;

import io.github.ddpm4j.eval.Evaluator;
import io.github.ddpm4j.eval.FashionClassifier;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.train.SampleScorer;
import io.github.ddpm4j.train.TrainConfig;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * {@code train --eval-every}'s scorer: FID and KID of the samples against Fashion-MNIST's test set, in the
 * feature space of ddpm4j's own classifier ({@link Evaluator#fashionMnist}). The evaluator (classifier and
 * reference features) is built on the first evaluation, so ranks that never evaluate never build it.
 * Not thread-safe: the trainer calls it from its one training thread.
 */
final class EvaluatorScorer implements SampleScorer, AutoCloseable {
  private final Device device;
  private Evaluator evaluator;

  private EvaluatorScorer(Device device) {
    this.device = device;
  }

  /**
   * Checks that the shipped classifier can score a run's samples, before any work starts.
   *
   * @param config the run
   * @param evalEvery the option's value, for the message
   * @throws InvalidSettingException naming {@code evalEvery} when the run's images are not 28x28 grayscale
   */
  static void check(TrainConfig config, long evalEvery) {
    int size = FashionClassifier.IMAGE_SIZE;
    if (config.imageSize() != size || config.model().imageChannels() != 1) {
      throw new InvalidSettingException("{evalEvery=}: evaluation scores samples with ddpm4j's Fashion-MNIST classifier, which "
          + "takes {}x{} grayscale images, and this run makes {}x{}x{} ones; train without --eval-every and score checkpoints with "
          + "'ddpm4j evaluate --feature-extractor FILE'", evalEvery, size, size, config.model().imageChannels(), config.imageSize(),
          config.imageSize());
    }
  }

  /**
   * @param device where the classifier runs: the training's device
   * @return a scorer that builds its evaluator on first use; the caller closes it
   */
  static EvaluatorScorer on(Device device) {
    return new EvaluatorScorer(device);
  }

  @Override
  public Score score(Tensor images) {
    try {
      if (evaluator == null) evaluator = Evaluator.fashionMnist(device);
    } catch (IOException e) {
      throw new UncheckedIOException("--eval-every needs Fashion-MNIST's test set as its reference: " + e.getMessage(), e);
    }
    Evaluator.Metrics m = evaluator.evaluate(images);
    return new Score(m.fid(), m.kid(), m.kidStdErr());
  }

  /** Frees the evaluator, if one was built. */
  @Override
  public void close() {
    if (evaluator != null) evaluator.close();
  }
}
