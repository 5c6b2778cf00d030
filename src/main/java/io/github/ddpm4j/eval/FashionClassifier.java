package io.github.ddpm4j.eval;

import io.github.ddpm4j.nn.Conv2d;
import io.github.ddpm4j.nn.ConvOptions;
import io.github.ddpm4j.nn.Dropout;
import io.github.ddpm4j.nn.EvalMode;
import io.github.ddpm4j.nn.GroupNorm;
import io.github.ddpm4j.nn.Linear;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.GradMode;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A small convolutional classifier of 28x28 grayscale garments (Fashion-MNIST's ten classes), whose
 * 128-d penultimate activations are the feature space of {@link Evaluator}'s FID and KID, as
 * Inception-v3's 2048-d pool features are for FID on natural images (Heusel et al. 2017).
 *
 * <p>Layers, with PyTorch's state-dict names:
 * {@code conv1} (3x3, 1 to 32 channels, 28x28), {@code norm1} (GroupNorm, 8 groups), SiLU;
 * {@code conv2} (3x3 stride 2, 32 to 64, 14x14), {@code norm2}, SiLU;
 * {@code conv3} (3x3 stride 2, 64 to 64, 7x7), {@code norm3}, SiLU;
 * flattened to 3136 values, {@code fc1} (Linear 3136 to 128) and SiLU give the features; {@code dropout}
 * (training only) and {@code fc} (Linear 128 to 10) give the logits. The PyTorch equivalent is
 * {@code nn.Sequential(Conv2d(1,32,3,1,1), GroupNorm(8,32), SiLU(), Conv2d(32,64,3,2,1), GroupNorm(8,64),
 * SiLU(), Conv2d(64,64,3,2,1), GroupNorm(8,64), SiLU(), Flatten(), Linear(3136,128), SiLU())}, then
 * {@code Linear(128, 10)}. A fully connected layer over the 7x7 map, rather than a global mean, keeps
 * where in the image a feature is (a sleeve, a heel), and trains to a higher accuracy in the same epochs.
 */
public final class FashionClassifier extends Module {
  /** Side of the images the classifier takes, in pixels. */
  public static final int IMAGE_SIZE = 28;
  /** Width of the feature vectors ({@link #features}). */
  public static final int FEATURES = 128;
  /** Number of classes: Fashion-MNIST's ten garment kinds. */
  public static final int CLASSES = 10;
  /** Fashion-MNIST's class names, by label (Xiao et al. 2017). */
  public static final String[] CLASS_NAMES = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};

  private final Conv2d conv1;
  private final GroupNorm norm1;
  private final Conv2d conv2;
  private final GroupNorm norm2;
  private final Conv2d conv3;
  private final GroupNorm norm3;
  private final Linear fc1;
  private final Dropout dropout;
  private final Linear fc;

  /**
   * A classifier with PyTorch's default initialisation, drawn from the default generator
   * ({@link io.github.ddpm4j.torch.Torch#manualSeed}).
   *
   * @param dropout the dropout probability before {@code fc} in training, in [0, 1]
   * @throws IllegalArgumentException if {@code dropout} is outside [0, 1]
   */
  public FashionClassifier(double dropout) {
    conv1 = registerModule("conv1", new Conv2d(1, 32, ConvOptions.kernel(3).withPadding(1)));
    norm1 = registerModule("norm1", new GroupNorm(8, 32));
    conv2 = registerModule("conv2", new Conv2d(32, 64, ConvOptions.kernel(3).withStride(2).withPadding(1)));
    norm2 = registerModule("norm2", new GroupNorm(8, 64));
    conv3 = registerModule("conv3", new Conv2d(64, 64, ConvOptions.kernel(3).withStride(2).withPadding(1)));
    norm3 = registerModule("norm3", new GroupNorm(8, 64));
    fc1 = registerModule("fc1", new Linear(64 * 7 * 7, FEATURES));
    this.dropout = registerModule("dropout", new Dropout(dropout));
    fc = registerModule("fc", new Linear(FEATURES, CLASSES));
  }

  /**
   * Loads a classifier's weights from a state dict file (safetensors or PyTorch's {@code torch.save}
   * format) with this class's keys; float16 or bfloat16 weights are widened to float32.
   *
   * @param file the weights, as {@code ddpm4j train-classifier} writes them
   * @param device where the classifier runs
   * @return the classifier, on {@code device}, in evaluation mode
   * @throws IOException if the file cannot be read or is corrupt
   * @throws io.github.ddpm4j.nn.StateDictMismatchException if its keys or shapes are not this architecture's
   */
  public static FashionClassifier load(Path file, Device device) throws IOException {
    try (StateDict state = StateDict.load(file)) {
      return fromStateDict(state, device);
    }
  }

  /**
   * @param state the weights, with this class's keys
   * @param device where the classifier runs
   * @return a new classifier holding copies of the weights as float32, on {@code device}, in evaluation mode
   * @throws io.github.ddpm4j.nn.StateDictMismatchException if the keys or shapes are not this architecture's
   */
  static FashionClassifier fromStateDict(Map<String, Tensor> state, Device device) {
    FashionClassifier c = new FashionClassifier(0.0);
    try (Scope s = Scope.open()) {
      Map<String, Tensor> wide = new HashMap<>();
      for (var e : state.entrySet()) wide.put(e.getKey(), e.getValue().to(DType.FLOAT32));
      c.loadStateDict(wide);
    }
    c.to(device);
    c.eval();
    return c;
  }

  /**
   * The features, {@code silu(fc1(flatten(silu(norm3(conv3(...))))))}, in evaluation mode and
   * inference mode (no graph).
   *
   * @param images {@code float32 [n, 1, 28, 28]} in [-1, 1], on the classifier's device
   * @return {@code float32 [n, 128]}
   * @throws IllegalArgumentException if {@code images} is not of shape {@code [n, 1, 28, 28]} with n &gt;= 1
   */
  public Tensor features(Tensor images) {
    checkImages(images);
    try (EvalMode e = EvalMode.enter(); GradMode g = GradMode.inferenceMode()) {
      return trunk(images);
    }
  }

  /**
   * The class scores, in evaluation mode and inference mode.
   *
   * @param images {@code float32 [n, 1, 28, 28]} in [-1, 1]
   * @return {@code float32 [n, 10]}, unnormalised log-probabilities
   * @throws IllegalArgumentException if {@code images} is not of shape {@code [n, 1, 28, 28]}
   */
  public Tensor logits(Tensor images) {
    checkImages(images);
    try (EvalMode e = EvalMode.enter(); GradMode g = GradMode.inferenceMode()) {
      return forward(images);
    }
  }

  /**
   * The class scores under the current grad mode and the module's training flag (dropout in
   * training mode), for training.
   *
   * @param images {@code float32 [n, 1, 28, 28]} in [-1, 1]
   * @return {@code float32 [n, 10]}
   * @throws IllegalArgumentException if {@code images} is not of shape {@code [n, 1, 28, 28]}
   */
  public Tensor forward(Tensor images) {
    checkImages(images);
    try (Scope s = Scope.open()) {
      return Scope.keep(fc.forward(dropout.forward(trunk(images))));
    }
  }

  /**
   * The last layer alone, in inference mode: logits from {@link #features}.
   *
   * @param features {@code float32 [n, 128]}
   * @return {@code float32 [n, 10]}
   */
  Tensor head(Tensor features) {
    try (GradMode g = GradMode.inferenceMode()) {
      return fc.forward(features);
    }
  }

  /**
   * Cross-entropy of the logits against the labels ({@code F.cross_entropy}, mean reduction):
   * {@code -mean_i log_softmax(logits)[i, label_i]}.
   *
   * @param logits {@code float32 [n, 10]}
   * @param labels {@code int64 [n]}, each in 0..9
   * @return a scalar float32 tensor
   * @throws IllegalArgumentException if the shapes do not match
   */
  public static Tensor crossEntropy(Tensor logits, Tensor labels) {
    if (logits.dim() != 2 || labels.dim() != 1 || labels.size(0) != logits.size(0)) {
      throw new IllegalArgumentException("cross entropy wants logits [n, C] and labels [n], got "
          + Arrays.toString(logits.shape()) + " and " + Arrays.toString(labels.shape()));
    }
    try (Scope s = Scope.open()) {
      return Scope.keep(logits.logSoftmax(1).gather(1, labels.unsqueeze(1)).mean().neg());
    }
  }

  private Tensor trunk(Tensor x) {
    try (Scope s = Scope.open()) {
      Tensor h = norm1.forward(conv1.forward(x)).silu_();
      h = norm2.forward(conv2.forward(h)).silu_();
      h = norm3.forward(conv3.forward(h)).silu_();
      return Scope.keep(fc1.forward(h.flatten(1, -1)).silu_());
    }
  }

  /**
   * @param images the input of {@link #features} or {@link #logits}
   * @throws IllegalArgumentException unless {@code images} is a float tensor {@code [n, 1, 28, 28]} with n &gt;= 1
   */
  static void checkImages(Tensor images) {
    long[] s = images.shape();
    if (s.length != 4 || s[0] < 1 || s[1] != 1 || s[2] != IMAGE_SIZE || s[3] != IMAGE_SIZE) {
      throw new IllegalArgumentException("the Fashion-MNIST classifier takes images of shape [n, 1, 28, 28]"
          + " (28x28 grayscale, n >= 1), got " + Arrays.toString(s));
    }
    if (images.dtype() != DType.FLOAT32) {
      throw new IllegalArgumentException("the Fashion-MNIST classifier takes float32 images in [-1, 1], got " + images.dtype());
    }
  }
}
