package io.github.ddpm4j.eval;

import io.github.ddpm4j.data.DatasetException;
import io.github.ddpm4j.data.Datasets;
import io.github.ddpm4j.data.IdxReader;
import io.github.ddpm4j.data.ImageDataset;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Functional;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * Scores images against a reference set in the feature space of a {@link FashionClassifier}: the
 * Fréchet distance (FID, Heusel et al. 2017), the kernel distance (KID, Binkowski et al. 2018) and the
 * histogram of the classifier's predicted classes. The reference's features, mean and covariance are
 * computed once, when the evaluator is made.
 *
 * <p>These are not the FID and KID of papers, which use Inception-v3's pool features on natural
 * images: the numbers are comparable only with other numbers from the same classifier (the one
 * {@link #fashionMnist} loads is shipped with ddpm4j).
 * {@snippet :
 * try (Evaluator ev = Evaluator.fashionMnist(Device.CPU)) {
 *   Evaluator.Metrics m = ev.evaluate(samples); // float32 [n, 1, 28, 28] in [-1, 1]
 *   System.out.println(m.fid() + " " + m.kid() + " " + m.classFraction(7));
 * }
 * }
 */
public final class Evaluator implements AutoCloseable {
  /** The resource holding the shipped classifier's weights (float16 safetensors). */
  public static final String CLASSIFIER_RESOURCE = "fashion-mnist-classifier.safetensors";
  /** KID's number of subsets. */
  public static final int KID_SUBSETS = 10;
  /** KID's largest subset size. */
  public static final int KID_SUBSET_SIZE = 1000;
  /** Images per forward pass of the classifier. */
  static final int BATCH = 500;

  private final FashionClassifier classifier;
  private final Device device;
  private final Path trainImages;
  private final Tensor refFeatures; // float64 [m, 128] on the CPU
  private final double[] refMean;
  private final double[][] refCov;

  /**
   * @param classifier the feature extractor; the evaluator owns it and closes it
   * @param reference the reference images, uint8 {@code [m, 1, 28, 28]}, m &gt;= 2
   * @param trainImages an IDX file of real images for {@link #evaluateReal} and {@link #calibrate}, or null
   * @throws IllegalArgumentException if the reference is not 28x28 grayscale or has fewer than 2 images
   */
  Evaluator(FashionClassifier classifier, ImageDataset reference, Path trainImages) {
    this.classifier = classifier;
    this.device = classifier.parameters().getFirst().device();
    this.trainImages = trainImages;
    if (reference.size() < 2) throw new IllegalArgumentException("the reference set needs at least 2 images, got " + reference.size());
    try (Scope s = Scope.open()) {
      Tensor f = Scope.release(featuresOf(normalizedAll(reference)).to(DType.FLOAT64));
      this.refFeatures = f;
      this.refMean = mean(f);
      this.refCov = covariance(f);
    }
  }

  /**
   * The shipped classifier, with Fashion-MNIST's 10,000 test images as the reference and its 60,000
   * training images for {@link #evaluateReal}.
   *
   * @param device where the classifier runs
   * @return the evaluator; the caller closes it
   * @throws IOException if Fashion-MNIST is not installed ({@link Datasets#FASHION_MNIST}) or a file is corrupt
   */
  public static Evaluator fashionMnist(Device device) throws IOException {
    FashionClassifier c = shippedClassifier(device);
    try (ImageDataset ref = IdxReader.readImages(ClassifierTrainer.testImages(requireFashionMnist()), 0)) {
      return new Evaluator(c, ref, IdxReader.trainImages(Datasets.FASHION_MNIST));
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /**
   * An evaluator with a classifier of the same architecture trained elsewhere (e.g. on the user's own
   * 28x28 grayscale data with {@code ddpm4j train-classifier --data DIR}).
   *
   * @param classifierWeights the classifier's weights (safetensors or PyTorch's format)
   * @param referenceSpec {@code fashion-mnist}, an MNIST-style directory (its {@code t10k-images} file if it has one,
   *     else its training images), an IDX image file, or a folder of images (read as 28x28 grayscale)
   * @param device where the classifier runs
   * @return the evaluator; the caller closes it
   * @throws IOException if a file is missing or corrupt
   * @throws io.github.ddpm4j.nn.StateDictMismatchException if the weights are not of {@link FashionClassifier}'s architecture
   */
  public static Evaluator of(Path classifierWeights, String referenceSpec, Device device) throws IOException {
    FashionClassifier c = FashionClassifier.load(classifierWeights, device);
    Path dir = referenceSpec.equals("fashion-mnist") ? requireFashionMnist() : Path.of(referenceSpec);
    Path train = null;
    ImageDataset ref = null;
    try {
      if (Files.isDirectory(dir) && hasTestImages(dir)) {
        ref = IdxReader.readImages(ClassifierTrainer.testImages(dir), 0);
        train = IdxReader.trainImages(dir);
      } else {
        ref = Datasets.open(referenceSpec, FashionClassifier.IMAGE_SIZE, 1, 0);
      }
      requireGrayscale28(ref);
      return new Evaluator(c, ref, train);
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    } finally {
      if (ref != null) ref.close();
    }
  }

  /**
   * @param device where the classifier runs
   * @return the classifier shipped with ddpm4j, in evaluation mode; the caller closes it
   * @throws IOException if the resource cannot be read
   */
  public static FashionClassifier shippedClassifier(Device device) throws IOException {
    Path tmp = Files.createTempFile("ddpm4j-classifier", ".safetensors");
    try (InputStream in = Evaluator.class.getResourceAsStream(CLASSIFIER_RESOURCE)) {
      if (in == null) throw new IOException("the classifier's weights are missing from ddpm4j's resources: " + CLASSIFIER_RESOURCE);
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      try (StateDict state = StateDict.loadSafetensors(tmp)) {
        return FashionClassifier.fromStateDict(state, device);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * The scores of a set of images.
   *
   * @param n the number of images scored
   * @param fid the Fréchet distance between the Gaussians fitted to their features and to the reference's
   * @param kid the kernel distance: the unbiased MMD^2 with kernel {@code (x.y / d + 1)^3}, averaged over subsets
   * @param kidStdErr the standard error of {@code kid} over the subsets (their standard deviation / sqrt(subsets))
   * @param classCounts how many images the classifier assigns to each class, {@code long[10]}
   */
  public record Metrics(int n, double fid, double kid, double kidStdErr, long[] classCounts) {
    /**
     * @param k a class, 0..9
     * @return the share of the images assigned to class {@code k}, in [0, 1]: the agreement with a
     *     requested class {@code k}
     * @throws IllegalArgumentException if {@code k} is not a class
     */
    public double classFraction(int k) {
      if (k < 0 || k >= classCounts.length) throw new IllegalArgumentException("class must be in 0.." + (classCounts.length - 1) + ", got " + k);
      return (double) classCounts[k] / n;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Metrics m && n == m.n && Double.compare(fid, m.fid) == 0 && Double.compare(kid, m.kid) == 0
          && Double.compare(kidStdErr, m.kidStdErr) == 0 && Arrays.equals(classCounts, m.classCounts);
    }

    @Override
    public int hashCode() {
      return java.util.Objects.hash(n, fid, kid, kidStdErr, Arrays.hashCode(classCounts));
    }

    @Override
    public String toString() {
      return "Metrics[n=" + n + ", fid=" + fid + ", kid=" + kid + ", kidStdErr=" + kidStdErr + ", classCounts="
          + Arrays.toString(classCounts) + "]";
    }
  }

  /**
   * Scores images against the reference; KID's subsets are drawn with seed 0.
   *
   * @param images {@code float32 [n, 1, 28, 28]} in [-1, 1], n &gt;= 2, on any device
   * @return FID, KID and the class histogram
   * @throws IllegalArgumentException if the shape or dtype is wrong, n &lt; 2, or an image holds NaN or an infinity
   */
  public Metrics evaluate(Tensor images) {
    FashionClassifier.checkImages(images);
    if (images.size(0) < 2) throw new IllegalArgumentException("FID and KID need at least 2 images, got " + images.size(0));
    try (Scope s = Scope.open()) {
      long bad = images.isfinite().logicalNot().to(DType.FLOAT32).sum(new long[] {1, 2, 3}, false).gt(0).sum().itemLong();
      if (bad > 0) {
        throw new IllegalArgumentException(bad + " of " + images.size(0) + " images hold NaN or infinite values: they cannot be scored");
      }
      Tensor f = featuresOf(images);
      long[] counts = new long[FashionClassifier.CLASSES];
      long[] pred = classifier.head(f).argmax(1, false).cpu().toLongArray();
      for (long p : pred) counts[(int) p]++;
      Tensor f64 = f.to(DType.FLOAT64, Device.CPU);
      double fid = frechetDistance(mean(f64), covariance(f64), refMean, refCov);
      double[] kid = kernelDistance(f64, refFeatures, KID_SUBSETS, KID_SUBSET_SIZE, 0);
      return new Metrics((int) images.size(0), fid, kid[0], kid[1], counts);
    }
  }

  /**
   * The class the classifier assigns to each image (the argmax of its logits), as the class histogram of
   * {@link #evaluate} counts them; with the classes a conditional model was asked for, the share of equal
   * entries is how often the classifier agrees with the request.
   *
   * @param images {@code float32 [n, 1, 28, 28]} in [-1, 1], on any device
   * @return the class indices, 0..9 ({@link FashionClassifier#CLASS_NAMES}), one per image
   * @throws IllegalArgumentException if the shape or dtype is wrong
   */
  public long[] predictedClasses(Tensor images) {
    FashionClassifier.checkImages(images);
    try (Scope s = Scope.open()) {
      return classifier.head(featuresOf(images)).argmax(1, false).cpu().toLongArray();
    }
  }

  /**
   * Scores {@code n} real training images, drawn without replacement, against the reference: the floor
   * that a perfect generator reaches at this {@code n}.
   *
   * @param n images, 2 to the training set's size
   * @param seed which images
   * @return their scores
   * @throws IOException if the training images cannot be read
   * @throws IllegalStateException if this evaluator has no training images (a reference that is not an MNIST-style directory)
   * @throws IllegalArgumentException if {@code n} is out of range
   */
  public Metrics evaluateReal(int n, long seed) throws IOException {
    try (Scope s = Scope.open()) {
      return evaluate(realImages(n, seed));
    }
  }

  /**
   * Scores of real and corrupted images at {@code n}, to read other scores against: real training
   * images (the floor), the same images blurred by a 3x3 and a 5x5 box filter, with Gaussian noise of
   * standard deviation 0.1 and 0.3 added (in [-1, 1] units, then clamped to [-1, 1]), and uniform noise in
   * [-1, 1].
   *
   * @param n images per row, &gt;= 2
   * @param seed which images, and the noise
   * @return the rows, by name, in that order
   * @throws IOException if the training images cannot be read
   * @throws IllegalStateException if this evaluator has no training images
   * @throws IllegalArgumentException if {@code n} is out of range
   */
  public Map<String, Metrics> calibrate(int n, long seed) throws IOException {
    return calibrate(n, seed, Progress.NONE);
  }

  /**
   * {@link #calibrate(int, long)}, telling {@code progress} {@code (row, 6)} after each row.
   *
   * @param n images per row, &gt;= 2
   * @param seed which images, and the noise
   * @param progress told after each row
   * @return the rows, by name
   * @throws IOException if the training images cannot be read
   * @throws IllegalStateException if this evaluator has no training images
   * @throws IllegalArgumentException if {@code n} is out of range
   */
  public Map<String, Metrics> calibrate(int n, long seed, Progress progress) throws IOException {
    Map<String, Metrics> rows = new LinkedHashMap<>();
    final int total = 6;
    try (Scope s = Scope.open(); Generator gen = new Generator(seed)) {
      Tensor real = realImages(n, seed);
      long[] shape = real.shape();
      rows.put("real train images", evaluate(real));
      progress.step(rows.size(), total);
      rows.put("real, 3x3 box blur", evaluate(boxBlur(real, 3)));
      progress.step(rows.size(), total);
      rows.put("real, 5x5 box blur", evaluate(boxBlur(real, 5)));
      progress.step(rows.size(), total);
      rows.put("real + noise sigma 0.1", evaluate(real.add(Torch.randn(shape, DType.FLOAT32, Device.CPU, gen).mul(0.1)).clamp(-1, 1)));
      progress.step(rows.size(), total);
      rows.put("real + noise sigma 0.3", evaluate(real.add(Torch.randn(shape, DType.FLOAT32, Device.CPU, gen).mul(0.3)).clamp(-1, 1)));
      progress.step(rows.size(), total);
      rows.put("uniform noise in [-1, 1]", evaluate(Torch.rand(shape, DType.FLOAT32, Device.CPU, gen).mul(2).sub(1)));
      progress.step(rows.size(), total);
    }
    return rows;
  }

  /** @return the classifier's device */
  public Device device() {
    return device;
  }

  /** @return the number of reference images */
  public long referenceSize() {
    return refFeatures.size(0);
  }

  /** Frees the classifier and the reference features. */
  @Override
  public void close() {
    refFeatures.close();
    classifier.close();
  }

  // ------------------------------------------------------------------------------------- the metrics

  /**
   * The Fréchet distance between two Gaussians (Dowson and Landau 1982; FID, Heusel et al. 2017, eq. 6):
   * {@code |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2))}. The trace of the square root is the sum
   * of the square roots of the eigenvalues of the symmetric {@code sqrt(S1) S2 sqrt(S1)} (which has the
   * eigenvalues of {@code S1 S2}), negative rounding errors clamped to 0; {@code sqrt(S1)} is the symmetric
   * square root from S1's eigendecomposition, its eigenvalues clamped likewise.
   *
   * @param mu1 the first mean, {@code double[d]}
   * @param s1 the first covariance, {@code double[d][d]}, symmetric positive semi-definite
   * @param mu2 the second mean
   * @param s2 the second covariance
   * @return the distance, &gt;= 0 up to rounding
   * @throws IllegalArgumentException if the dimensions differ or a value is not finite
   */
  public static double frechetDistance(double[] mu1, double[][] s1, double[] mu2, double[][] s2) {
    int d = mu1.length;
    if (mu2.length != d || s1.length != d || s2.length != d) {
      throw new IllegalArgumentException("the Gaussians' dimensions differ: " + d + " and " + mu2.length);
    }
    double meanTerm = 0;
    for (int i = 0; i < d; i++) meanTerm += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    RealMatrix a = new Array2DRowRealMatrix(s1);
    RealMatrix b = new Array2DRowRealMatrix(s2);
    if (!Double.isFinite(meanTerm) || !finite(s1) || !finite(s2)) throw new IllegalArgumentException("the Gaussians' parameters are not finite");
    RealMatrix sqrtA = symmetricSqrt(symmetrize(a));
    RealMatrix m = symmetrize(sqrtA.multiply(b).multiply(sqrtA));
    double traceSqrt = 0;
    for (double ev : new EigenDecomposition(m).getRealEigenvalues()) traceSqrt += Math.sqrt(Math.max(ev, 0));
    return meanTerm + a.getTrace() + b.getTrace() - 2 * traceSqrt;
  }

  /**
   * FID of two feature sets.
   *
   * @param f1 {@code [n1, d]} features, n1 &gt;= 2, any float dtype
   * @param f2 {@code [n2, d]} features, n2 &gt;= 2
   * @return the Fréchet distance of their Gaussians (means, and covariances with n - 1), computed in double precision
   * @throws IllegalArgumentException if the shapes are wrong
   */
  public static double frechetDistance(Tensor f1, Tensor f2) {
    checkFeatures(f1, f2);
    try (Scope s = Scope.open()) {
      Tensor a = f1.to(DType.FLOAT64, Device.CPU);
      Tensor b = f2.to(DType.FLOAT64, Device.CPU);
      return frechetDistance(mean(a), covariance(a), mean(b), covariance(b));
    }
  }

  /**
   * The unbiased estimate of the squared maximum mean discrepancy (Gretton et al. 2012, eq. 3) with
   * KID's polynomial kernel {@code k(x, y) = (x.y / d + 1)^3} (Binkowski et al. 2018, section 4):
   * {@code sum_{i!=j} k(x_i, x_j) / (m(m-1)) + sum_{i!=j} k(y_i, y_j) / (n(n-1)) - 2 sum_{i,j} k(x_i, y_j) / (mn)}.
   *
   * @param x {@code [m, d]} features, m &gt;= 2
   * @param y {@code [n, d]} features, n &gt;= 2
   * @return the estimate (may be slightly negative)
   * @throws IllegalArgumentException if the shapes are wrong
   */
  public static double mmd2(Tensor x, Tensor y) {
    checkFeatures(x, y);
    try (Scope s = Scope.open()) {
      Tensor a = x.to(DType.FLOAT64, Device.CPU);
      Tensor b = y.to(DType.FLOAT64, Device.CPU);
      double d = a.size(1);
      double m = a.size(0), n = b.size(0);
      double kxx = offDiagonalSum(a, d), kyy = offDiagonalSum(b, d);
      double kxy = a.matmul(b.transpose(0, 1)).div(d).add(1).pow(3).sum().item();
      return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2 * kxy / (m * n);
    }
  }

  /**
   * KID: {@link #mmd2} averaged over {@code subsets} pairs of subsets of size {@code min(n1, n2, subsetSize)},
   * each drawn without replacement from {@code java.util.Random(seed)}, as Binkowski et al.'s reference code does.
   *
   * @param f1 {@code [n1, d]} features, n1 &gt;= 2
   * @param f2 {@code [n2, d]} features, n2 &gt;= 2
   * @param subsets how many subsets, &gt;= 2
   * @param subsetSize the largest subset size, &gt;= 2
   * @param seed the subsets' seed
   * @return {@code {mean, standard error}}: the mean of the subsets' estimates, and their sample standard
   *     deviation (n - 1) divided by {@code sqrt(subsets)}
   * @throws IllegalArgumentException if the shapes are wrong, or {@code subsets} or {@code subsetSize} is below 2
   */
  public static double[] kernelDistance(Tensor f1, Tensor f2, int subsets, int subsetSize, long seed) {
    checkFeatures(f1, f2);
    if (subsets < 2 || subsetSize < 2) throw new IllegalArgumentException("KID needs >= 2 subsets of >= 2 images, got " + subsets + " of " + subsetSize);
    int size = (int) Math.min(Math.min(f1.size(0), f2.size(0)), subsetSize);
    Random random = new Random(seed);
    double[] est = new double[subsets];
    try (Scope s = Scope.open()) {
      Tensor a = f1.to(DType.FLOAT64, Device.CPU);
      Tensor b = f2.to(DType.FLOAT64, Device.CPU);
      for (int i = 0; i < subsets; i++) {
        try (Scope step = Scope.open()) {
          Tensor x = a.indexSelect(0, Torch.tensor(choose(random, (int) a.size(0), size), size));
          Tensor y = b.indexSelect(0, Torch.tensor(choose(random, (int) b.size(0), size), size));
          est[i] = mmd2(x, y);
        }
      }
    }
    double mean = Arrays.stream(est).average().orElseThrow();
    double ss = 0;
    for (double e : est) ss += (e - mean) * (e - mean);
    return new double[] {mean, Math.sqrt(ss / (subsets - 1)) / Math.sqrt(subsets)};
  }

  // ------------------------------------------------------------------------------------- helpers

  private static long[] choose(Random random, int n, int k) {
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) perm[i] = i;
    long[] out = new long[k];
    for (int i = 0; i < k; i++) { // the first k steps of a Fisher-Yates shuffle
      int j = i + random.nextInt(n - i);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
      out[i] = perm[i];
    }
    return out;
  }

  /** @return {@code sum_{i != j} (x_i . x_j / d + 1)^3} */
  private static double offDiagonalSum(Tensor x, double d) {
    double all = x.matmul(x.transpose(0, 1)).div(d).add(1).pow(3).sum().item();
    double diag = x.square().sum(1).div(d).add(1).pow(3).sum().item();
    return all - diag;
  }

  private static void checkFeatures(Tensor f1, Tensor f2) {
    if (f1.dim() != 2 || f2.dim() != 2 || f1.size(1) != f2.size(1) || f1.size(0) < 2 || f2.size(0) < 2) {
      throw new IllegalArgumentException("feature sets must be [n1, d] and [n2, d] with n1, n2 >= 2, got "
          + Arrays.toString(f1.shape()) + " and " + Arrays.toString(f2.shape()));
    }
  }

  private static double[] mean(Tensor f64) {
    try (Scope s = Scope.open()) {
      return f64.mean(0).toDoubleArray();
    }
  }

  /** @return the sample covariance ({@code torch.cov}, correction 1) of the rows of {@code f64}, {@code double[d][d]} */
  private static double[][] covariance(Tensor f64) {
    try (Scope s = Scope.open()) {
      Tensor c = f64.sub(f64.mean(new long[] {0}, true));
      double[] flat = c.transpose(0, 1).matmul(c).div(f64.size(0) - 1).contiguous().toDoubleArray();
      int d = (int) f64.size(1);
      double[][] out = new double[d][d];
      for (int i = 0; i < d; i++) System.arraycopy(flat, i * d, out[i], 0, d);
      return out;
    }
  }

  private static boolean finite(double[][] m) {
    for (double[] row : m) for (double v : row) if (!Double.isFinite(v)) return false;
    return true;
  }

  private static RealMatrix symmetrize(RealMatrix m) {
    return m.add(m.transpose()).scalarMultiply(0.5);
  }

  private static RealMatrix symmetricSqrt(RealMatrix s) {
    EigenDecomposition e = new EigenDecomposition(s);
    RealMatrix v = e.getV();
    double[] ev = e.getRealEigenvalues();
    RealMatrix scaled = v.copy();
    for (int j = 0; j < ev.length; j++) {
      double r = Math.sqrt(Math.max(ev[j], 0));
      for (int i = 0; i < ev.length; i++) scaled.setEntry(i, j, v.getEntry(i, j) * r);
    }
    return scaled.multiply(v.transpose());
  }

  /** @return features of {@code images} (any device), in batches, as float32 {@code [n, 128]} on the classifier's device */
  private Tensor featuresOf(Tensor images) {
    long n = images.size(0);
    try (Scope s = Scope.open()) {
      java.util.List<Tensor> parts = new java.util.ArrayList<>();
      for (long start = 0; start < n; start += BATCH) {
        parts.add(classifier.features(images.narrow(0, start, Math.min(BATCH, n - start)).to(device)));
      }
      return Scope.keep(parts.size() == 1 ? parts.getFirst() : Torch.cat(parts, 0));
    }
  }

  private static Tensor normalizedAll(ImageDataset ds) {
    try (Scope s = Scope.open()) {
      return Scope.keep(ds.normalized(Torch.arange(ds.size())));
    }
  }

  private Tensor realImages(int n, long seed) throws IOException {
    if (trainImages == null) {
      throw new IllegalStateException("no real training images to compare with: the reference is not an MNIST-style directory");
    }
    try (ImageDataset train = IdxReader.readImages(trainImages, 0)) {
      if (n < 2 || n > train.size()) throw new IllegalArgumentException("n must be in 2.." + train.size() + ", got " + n);
      try (Scope s = Scope.open(); Generator gen = new Generator(seed)) {
        Tensor idx = Torch.randperm(train.size(), Device.CPU, gen).narrow(0, 0, n);
        return Scope.keep(train.normalized(idx));
      }
    }
  }

  /**
   * A k x k box blur of [-1, 1] images, with the border padded by black (-1), as the images' background.
   *
   * @param images {@code float32 [n, 1, H, W]}
   * @param k an odd kernel size
   * @return the blurred images, same shape
   */
  static Tensor boxBlur(Tensor images, int k) {
    try (Scope s = Scope.open()) {
      Tensor w = Torch.full(new long[] {1, 1, k, k}, 1.0 / (k * k), DType.FLOAT32, images.device());
      return Scope.keep(Functional.conv2d(images.add(1), w, null, 1, k / 2).sub(1));
    }
  }

  private static Path requireFashionMnist() throws DatasetException {
    if (!Files.isDirectory(Datasets.FASHION_MNIST)) {
      throw new DatasetException(Datasets.FASHION_MNIST, "Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)");
    }
    return Datasets.FASHION_MNIST;
  }

  private static boolean hasTestImages(Path dir) {
    try {
      ClassifierTrainer.testImages(dir);
      return true;
    } catch (DatasetException e) {
      return false;
    }
  }

  private static void requireGrayscale28(ImageDataset ref) {
    if (ref.channels() != 1 || ref.height() != FashionClassifier.IMAGE_SIZE || ref.width() != FashionClassifier.IMAGE_SIZE) {
      throw new IllegalArgumentException("the reference images must be 28x28 grayscale, got " + ref);
    }
  }
}
