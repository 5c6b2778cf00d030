package io.github.ddpm4j.cli;

import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.eval.ClassifierTrainer;
import io.github.ddpm4j.eval.FashionClassifier;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ddpm4j train-classifier}: trains the feature extractor of {@code ddpm4j evaluate}. */
@Command(name = "train-classifier", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train the small Fashion-MNIST classifier whose features 'ddpm4j evaluate' scores images in,",
        "and print its test-set accuracy."})
final class TrainClassifierCommand implements Callable<Integer> {
  @Option(names = "--data", paramLabel = "DIR", defaultValue = "fashion-mnist",
      description = {"fashion-mnist, or an MNIST-style directory with train-/t10k- images and labels (IDX, optionally .gz),",
          "28x28 grayscale, labels 0..9 (default: ${DEFAULT-VALUE})."})
  String data;

  @Option(names = "--epochs", paramLabel = "N", defaultValue = "3", description = "Passes over the training set (default: ${DEFAULT-VALUE}).")
  int epochs;

  @Option(names = "--batch-size", paramLabel = "B", defaultValue = "128", description = "Images per step (default: ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--lr", paramLabel = "LR", defaultValue = "3e-3",
      description = "Adam's peak learning rate, decayed to 0 along a cosine (default: ${DEFAULT-VALUE}).")
  double lr;

  @Option(names = "--out", paramLabel = "FILE", defaultValue = "fashion-mnist-classifier.safetensors",
      description = "Where to write the weights, float16 safetensors (default: ${DEFAULT-VALUE}).")
  Path out;

  @Mixin
  CommonOptions common;

  @Override
  public Integer call() throws Exception {
    Sampling.checkExtension(out, ".safetensors");
    Path dir = data.equals("fashion-mnist") ? Datasets.FASHION_MNIST : Path.of(data);
    ClassifierTrainer trainer = new ClassifierTrainer(dir, epochs, batchSize, lr, 0.1, common.seed);
    var device = common.apply();
    Sampling.outputFolder(out);
    long started = System.nanoTime();
    ClassifierTrainer.Result result;
    try (ConsoleProgress bar = common.progress("train-classifier", -1)) {
      result = trainer.train(device, bar::step);
    }
    try (FashionClassifier model = result.classifier()) {
      ClassifierTrainer.save(model, result.testAccuracy(), out);
    }
    common.out().printf(Locale.ROOT, "test accuracy: %.2f%% (%d images), trained in %.0f s%n",
        100 * result.testAccuracy(), result.testImages(), (System.nanoTime() - started) / 1e9);
    common.out().flush();
    common.report("wrote " + out);
    return 0;
  }
}
