package io.github.ddpm4j.eval;

import io.github.ddpm4j.data.DatasetException;
import io.github.ddpm4j.data.IdxReader;
import io.github.ddpm4j.data.ImageDataset;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Trains a {@link FashionClassifier} on an MNIST-style directory of IDX files (Fashion-MNIST's
 * {@code train-images-idx3-ubyte.gz}, {@code train-labels-idx1-ubyte.gz} and the {@code t10k-*} test
 * files): cross-entropy, Adam ({@code torch.optim.Adam}) with a cosine-decayed learning rate, shuffled
 * mini-batches in [-1, 1] with random horizontal flips, then the test-set accuracy.
 *
 * @param data the directory of the IDX files
 * @param epochs passes over the training set, &gt;= 1
 * @param batchSize images per step, &gt;= 1
 * @param lr Adam's peak learning rate, &gt; 0
 * @param dropout dropout before the last layer, in [0, 1)
 * @param seed seeds the initialisation, the shuffling, the flips and the dropout masks
 */
public record ClassifierTrainer(Path data, int epochs, int batchSize, double lr, double dropout, long seed) {
  /**
   * @throws InvalidSettingException naming the setting if one is out of range
   */
  public ClassifierTrainer {
    if (epochs < 1) throw new InvalidSettingException("{epochs=} must be >= 1", epochs);
    if (batchSize < 1) throw new InvalidSettingException("{batchSize=} must be >= 1", batchSize);
    if (!(lr > 0) || Double.isInfinite(lr)) throw new InvalidSettingException("{lr=} must be a positive number", lr);
    if (!(dropout >= 0 && dropout < 1)) throw new InvalidSettingException("{dropout=} must be in [0, 1)", dropout);
  }

  /**
   * A trained classifier and its accuracy on the test split.
   *
   * @param classifier the classifier, in evaluation mode; the caller closes it
   * @param testAccuracy the share of test images whose arg-max logit is their label, in [0, 1]
   * @param testImages the number of test images
   */
  public record Result(FashionClassifier classifier, double testAccuracy, long testImages) {}

  /**
   * Trains, rounds the weights to float16 (the precision they are shipped in, see {@link #save}),
   * and measures the test accuracy with the rounded weights.
   *
   * @param device where to train
   * @param progress told {@code (step, steps)} after each optimizer step
   * @return the classifier and its test accuracy
   * @throws DatasetException if an image or label file is missing or corrupt, or the counts disagree
   */
  public Result train(Device device, Progress progress) throws DatasetException {
    Torch.manualSeed(seed);
    FashionClassifier model = new FashionClassifier(dropout);
    boolean ok = false;
    Path trainImages = IdxReader.trainImages(data);
    try (ImageDataset images = IdxReader.readImages(trainImages, 0);
         Tensor labels = Labels.read(trainImages, FashionClassifier.CLASSES);
         Generator gen = new Generator(seed)) {
      model.to(device);
      model.train();
      long n = images.size();
      int perEpoch = (int) (n / batchSize);
      if (perEpoch < 1) throw new InvalidSettingException("{batchSize=} must be at most the training set's size, {}", batchSize, n);
      int total = perEpoch * epochs;
      try (Adam opt = new Adam(model.parameters(), lr)) {
        int step = 0;
        for (int epoch = 0; epoch < epochs; epoch++) {
          try (Scope e = Scope.open()) {
            Tensor order = Torch.randperm(n, Device.CPU, gen);
            for (int b = 0; b < perEpoch; b++) {
              try (Scope s = Scope.open()) {
                Tensor idx = order.slice(0, (long) b * batchSize, (long) (b + 1) * batchSize);
                Tensor x = images.normalized(idx);
                Tensor coin = Torch.rand(new long[] {batchSize, 1, 1, 1}, DType.FLOAT32, Device.CPU, gen).lt(0.5);
                x = Torch.where(coin, x.flip(3), x).to(device);
                Tensor y = labels.indexSelect(0, idx).to(device);
                // cosine decay to zero over the run (Loshchilov and Hutter 2017, without restarts)
                opt.setLr(lr * 0.5 * (1 + Math.cos(Math.PI * step / total)));
                opt.zeroGrad();
                FashionClassifier.crossEntropy(model.forward(x), y).backward();
                opt.step();
              }
              progress.step(++step, total);
            }
          }
        }
      }
      model.eval();
      roundToHalf(model);
      double acc;
      long testCount;
      Path testImages = testImages(data);
      try (ImageDataset test = IdxReader.readImages(testImages, 0);
           Tensor testLabels = Labels.read(testImages, FashionClassifier.CLASSES)) {
        acc = accuracy(model, test, testLabels);
        testCount = test.size();
      }
      ok = true;
      return new Result(model, acc, testCount);
    } finally {
      if (!ok) model.close();
    }
  }

  /**
   * @param model a classifier
   * @param images uint8 {@code [n, 1, 28, 28]} images
   * @param labels int64 {@code [n]}
   * @return the share of images whose arg-max logit equals the label
   * @throws IllegalArgumentException if the images are not 28x28 grayscale or the counts differ
   */
  public static double accuracy(FashionClassifier model, ImageDataset images, Tensor labels) {
    if (labels.dim() != 1 || labels.size(0) != images.size()) {
      throw new IllegalArgumentException(images.size() + " images but labels of shape " + java.util.Arrays.toString(labels.shape()));
    }
    Device device = model.parameters().getFirst().device();
    long correct = 0;
    long n = images.size();
    for (long start = 0; start < n; start += 500) {
      long len = Math.min(500, n - start);
      try (Scope s = Scope.open()) {
        Tensor idx = Torch.arange(start, start + len, 1, DType.INT64, Device.CPU);
        Tensor pred = model.logits(images.normalized(idx).to(device)).argmax(1, false).cpu();
        correct += pred.eq(labels.narrow(0, start, len)).sum().itemLong();
      }
    }
    return (double) correct / n;
  }

  /**
   * Writes the classifier's weights as float16 safetensors (half the bytes; the weights were rounded
   * to float16 before the test accuracy was measured), with metadata naming the architecture.
   *
   * @param model the classifier
   * @param testAccuracy its test accuracy, recorded in the metadata
   * @param file the file to write
   * @throws IOException if it cannot be written
   */
  public static void save(FashionClassifier model, double testAccuracy, Path file) throws IOException {
    try (Scope s = Scope.open()) {
      Map<String, Tensor> half = new LinkedHashMap<>();
      for (var e : model.stateDict().entrySet()) half.put(e.getKey(), e.getValue().to(DType.FLOAT16, Device.CPU).contiguous());
      Map<String, String> meta = new LinkedHashMap<>();
      meta.put("architecture", "ddpm4j FashionClassifier (conv 1-32-64-64, GroupNorm, SiLU, fc1 3136-128, fc 128-10)");
      meta.put("test_accuracy", String.format(java.util.Locale.ROOT, "%.4f", testAccuracy));
      StateDict.saveSafetensors(half, meta, file);
    }
  }

  private static void roundToHalf(FashionClassifier model) {
    try (GradMode g = GradMode.noGrad(); Scope s = Scope.open()) {
      for (Tensor p : model.stateDict().values()) p.copy_(p.to(DType.FLOAT16).to(DType.FLOAT32));
    }
  }

  /**
   * @param dir an MNIST-style directory
   * @return its test images, {@code t10k-images-idx3-ubyte[.gz]}
   * @throws DatasetException if there is none
   */
  static Path testImages(Path dir) throws DatasetException {
    for (String name : new String[] {"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"}) {
      Path p = dir.resolve(name);
      if (java.nio.file.Files.isRegularFile(p)) return p;
    }
    throw new DatasetException(dir, "no t10k-images-idx3-ubyte[.gz] file in this directory");
  }

}
