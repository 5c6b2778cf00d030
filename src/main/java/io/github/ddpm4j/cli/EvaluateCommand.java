package io.github.ddpm4j.cli;

import io.github.ddpm4j.diffusion.UNet;
import io.github.ddpm4j.diffusion.GaussianDiffusion;
import io.github.ddpm4j.diffusion.ClassifierFreeGuidance;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.ddpm4j.console.ConsoleProgress;
import io.github.ddpm4j.data.ImageDataset;
import io.github.ddpm4j.data.ImageFolderReader;
import io.github.ddpm4j.diffusion.Progress;
import io.github.ddpm4j.diffusion.Sampler;
import io.github.ddpm4j.eval.Evaluator;
import io.github.ddpm4j.eval.FashionClassifier;
import io.github.ddpm4j.io.AtomicFiles;
import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * {@code ddpm4j evaluate}: FID, KID and the class histogram of a model's samples or of a folder of images,
 * in the feature space of ddpm4j's Fashion-MNIST classifier ({@link Evaluator}).
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Score a model's samples (or a folder of images) against Fashion-MNIST's test set: FID, KID and the",
        "class histogram, in the feature space of ddpm4j's own small Fashion-MNIST classifier (not comparable with",
        "the Inception FIDs of papers)."})
final class EvaluateCommand implements Callable<Integer> {
  /** Images per sampler call. */
  static final int SAMPLE_BATCH = 250;
  /** Most images one evaluation scores. */
  static final int MAX_IMAGES = 100_000;

  @Mixin
  CheckpointOption model;

  @Option(names = {"-n", "--count"}, paramLabel = "N", defaultValue = "1000",
      description = "Images to sample and score, >= 2 (with --images: at most N of the folder's, default all) (default: ${DEFAULT-VALUE}).")
  int count;

  @Option(names = "--images", paramLabel = "DIR", description = "Score the PNG/JPEG images of DIR instead of sampling from a checkpoint.")
  Path images;

  @Option(names = "--feature-extractor", paramLabel = "FILE",
      description = {"Weights of the same classifier architecture trained on other 28x28 grayscale data ('ddpm4j",
          "train-classifier --data DIR'), instead of the shipped Fashion-MNIST classifier."})
  Path featureExtractor;

  @Option(names = "--reference", paramLabel = "SPEC", defaultValue = "fashion-mnist",
      description = {"The real images to compare with, for --feature-extractor: fashion-mnist, an MNIST-style directory",
          "(its t10k test images), an IDX file, or an image folder (default: ${DEFAULT-VALUE})."})
  String reference;

  @Option(names = "--calibrate", description = {"Print the scores of real and corrupted images at N instead (real train images,",
      "blurred, with Gaussian noise, uniform noise), to read other scores against."})
  boolean calibrate;

  @Option(names = "--json", paramLabel = "FILE", description = "Also write the scores as JSON.")
  Path json;

  @Option(names = "--guidance-scales", paramLabel = "W,..", split = ",",
      description = {"With a class-conditional checkpoint: sample the classes in turn (image i of class i mod K) with",
          "classifier-free guidance at each scale W (0 unconditional, 1 conditional, > 1 guided), and report for each",
          "how often the classifier agrees with the requested class."})
  List<Double> guidanceScales;

  @Mixin
  SamplerMixin sampler;

  @Mixin
  ExecutionOptions execution;

  @Mixin
  CommonOptions common;

  @Spec
  CommandSpec spec;

  /** The classes of the checkpoint's model, once a {@code --guidance-scales} evaluation has read it. */
  private int classes = 1;

  /** How often the classifier agreed with the requested class, per row of a {@code --guidance-scales} evaluation. */
  private final Map<String, Double> agreement = new LinkedHashMap<>();

  @Override
  public Integer call() throws Exception {
    ParseResult parsed = spec.commandLine().getParseResult();
    boolean checkpointGiven = parsed.hasMatchedOption("--checkpoint");
    if (count < 2 || count > MAX_IMAGES) throw new InvalidSettingException("{count=} must be in 2..{} (FID needs a covariance)", count, MAX_IMAGES);
    if (json != null && !json.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")) {
      throw new IllegalArgumentException("--json must end in .json, got " + json);
    }
    if (images != null && checkpointGiven) throw new IllegalArgumentException("give --checkpoint or --images, not both");
    if (calibrate && (images != null || checkpointGiven)) {
      throw new IllegalArgumentException("--calibrate scores real and corrupted images: it takes no --checkpoint or --images");
    }
    if (parsed.hasMatchedOption("--reference") && featureExtractor == null) {
      throw new IllegalArgumentException("--reference needs --feature-extractor: the shipped classifier is scored against Fashion-MNIST's test set");
    }
    if (images != null && featureExtractor == null) requireFashionMnistShaped(images);
    if (!calibrate && images == null && !Files.isRegularFile(model.checkpoint)) {
      throw new IllegalArgumentException("no checkpoint at " + model.checkpoint + ": give --checkpoint FILE (from 'ddpm4j train') or --images DIR");
    }
    if (guidanceScales != null) {
      if (images != null || calibrate) throw new IllegalArgumentException("--guidance-scales samples a class-conditional checkpoint: it takes no --images or --calibrate");
      for (double w : guidanceScales) {
        if (!(w >= 0 && Double.isFinite(w))) throw new IllegalArgumentException("--guidance-scales: " + w + " must be finite and >= 0");
      }
    }
    if (json != null) Sampling.outputFolder(json);
    Device device = common.apply();
    try (Evaluator ev = featureExtractor == null ? Evaluator.fashionMnist(device) : Evaluator.of(featureExtractor, reference, device);
         Scope scope = Scope.open()) {
      Map<String, Evaluator.Metrics> rows = new LinkedHashMap<>();
      if (calibrate) {
        try (ConsoleProgress bar = common.progress("calibrate", -1)) {
          rows.putAll(ev.calibrate(count, common.seed, bar::step));
        }
      } else if (guidanceScales != null) {
        for (double w : guidanceScales) {
          Tensor x = sample(device, w);
          Evaluator.Metrics m = ev.evaluate(x);
          long[] predicted = ev.predictedClasses(x);
          long agree = 0;
          for (int i = 0; i < predicted.length; i++) if (predicted[i] == requested(i)) agree++;
          String row = String.format(Locale.ROOT, "guidance %s", w);
          rows.put(row, m);
          agreement.put(row, (double) agree / predicted.length);
        }
      } else {
        Tensor x = images != null ? readImages() : sample(device, Double.NaN);
        rows.put(images != null ? images.toString() : "samples of " + model.checkpoint.getFileName(), ev.evaluate(x));
      }
      print(rows, common.out());
      if (!agreement.isEmpty()) printAgreement(agreement, common.out());
      if (json != null) {
        AtomicFiles.write(json, toJson(rows, agreement).getBytes(StandardCharsets.UTF_8));
      }
      Evaluator.Metrics first = rows.values().iterator().next();
      String what = calibrate ? "calibrated at n = " + count : String.format(Locale.ROOT, "scored %d images: FID %.3f", first.n(), first.fid());
      common.report(what + (json != null ? ", wrote " + json : ""));
    }
    return 0;
  }

  private Tensor readImages() throws IOException {
    boolean limited = spec.commandLine().getParseResult().hasMatchedOption("--count");
    try (ImageDataset ds = ImageFolderReader.read(images, FashionClassifier.IMAGE_SIZE, 1, limited ? count : 0)) {
      if (ds.size() < 2) throw new IllegalArgumentException("--images " + images + ": FID needs at least 2 images, found " + ds.size());
      return ds.normalized(Torch.arange(ds.size()));
    }
  }

  /** The class that image {@code i} of a {@code --guidance-scales} evaluation is sampled as: the classes in turn. */
  private int requested(int i) {
    return i % classes;
  }

  /**
   * Samples {@code count} images in calls of {@value #SAMPLE_BATCH}.
   *
   * @param guidance NaN for the model's own (unconditional) samples; else the scale of classifier-free guidance,
   *     with image {@code i} of class {@link #requested(int)}
   */
  private Tensor sample(Device device, double guidance) throws IOException {
    try (Sampling s = Sampling.open(model.checkpoint, device, execution)) {
      long[] shape = s.model().imageShape();
      if (shape[0] != 1 || shape[1] != FashionClassifier.IMAGE_SIZE || shape[2] != FashionClassifier.IMAGE_SIZE) {
        throw new IllegalArgumentException(model.checkpoint + " makes " + describe(shape) + " images: the classifier scores only"
            + " 28x28 grayscale images");
      }
      UNet unet = s.model().unet();
      if (!Double.isNaN(guidance)) {
        if (!unet.config().isClassConditional()) {
          throw new IllegalArgumentException("--guidance-scales needs a class-conditional model, and " + model.checkpoint
              + " holds an unconditional one (train with --class-conditional)");
        }
        classes = unet.numClasses();
        if (classes != FashionClassifier.CLASSES) {
          throw new IllegalArgumentException("--guidance-scales: " + model.checkpoint + " has " + classes + " classes, and the "
              + "classifier knows Fashion-MNIST's " + FashionClassifier.CLASSES);
        }
      }
      int batches = (count + SAMPLE_BATCH - 1) / SAMPLE_BATCH;
      List<Tensor> parts = new ArrayList<>();
      try (ConsoleProgress bar = common.progress("evaluate", -1)) {
        for (int b = 0; b < batches; b++) {
          int size = Math.min(SAMPLE_BATCH, count - b * SAMPLE_BATCH);
          final int done = b;
          Progress p = (step, total) -> bar.step((long) done * total + step, (long) batches * total);
          GaussianDiffusion diffusion = s.diffusion();
          if (!Double.isNaN(guidance)) {
            long[] labels = new long[size];
            for (int i = 0; i < size; i++) labels[i] = requested(b * SAMPLE_BATCH + i);
            diffusion = diffusion.withEpsModel(new ClassifierFreeGuidance(unet, labels, guidance));
          }
          Sampler smp = sampler.options(s.model().config().timesteps()).create(diffusion);
          Tensor x = smp.sample(size, shape, common.seed + b, p);
          s.requireFinite(x);
          parts.add(x.cpu());
        }
      }
      return Scope.keep(Torch.cat(parts, 0));
    }
  }

  /**
   * Refuses a folder whose first image is not 28x28 grayscale, since the shipped classifier knows only those.
   *
   * @throws IllegalArgumentException saying why the images cannot be scored, and what can be done
   */
  private static void requireFashionMnistShaped(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) throw new IllegalArgumentException("--images " + dir + ": not a directory");
    Path first;
    try (Stream<Path> walk = Files.walk(dir)) {
      first = walk.filter(Files::isRegularFile).filter(p -> {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".png") || n.endsWith(".jpg") || n.endsWith(".jpeg");
      }).sorted().findFirst().orElseThrow(() -> new IllegalArgumentException("--images " + dir + ": contains no .png, .jpg or .jpeg file"));
    }
    BufferedImage img = ImageIO.read(first.toFile());
    if (img == null) throw new IllegalArgumentException("--images " + first + ": not a PNG or JPEG image");
    boolean gray = img.getColorModel().getNumColorComponents() == 1;
    if (!gray || img.getWidth() != FashionClassifier.IMAGE_SIZE || img.getHeight() != FashionClassifier.IMAGE_SIZE) {
      throw new IllegalArgumentException("--images " + dir + ": cannot score " + img.getWidth() + "x" + img.getHeight() + (gray ? " grayscale" : " color")
          + " images (" + first.getFileName() + "): the shipped classifier knows only 28x28 grayscale garments (Fashion-MNIST);"
          + " for other images give --feature-extractor FILE (from 'ddpm4j train-classifier --data DIR') and --reference SPEC");
    }
  }

  private static String describe(long[] shape) {
    return shape[1] + "x" + shape[2] + (shape[0] == 1 ? " grayscale" : shape[0] == 3 ? " RGB" : " " + shape[0] + "-channel");
  }

  static void print(Map<String, Evaluator.Metrics> rows, PrintWriter out) {
    int width = Math.max(6, rows.keySet().stream().mapToInt(String::length).max().orElse(6));
    out.printf(Locale.ROOT, "%-" + width + "s  %6s  %10s  %21s%n", "images", "n", "FID", "KID x 1000 (+- s.e.)");
    for (var e : rows.entrySet()) {
      Evaluator.Metrics m = e.getValue();
      out.printf(Locale.ROOT, "%-" + width + "s  %6d  %10.3f  %11.3f +- %6.3f%n", e.getKey(), m.n(), m.fid(), 1000 * m.kid(), 1000 * m.kidStdErr());
    }
    out.println();
    out.println("class histogram (the classifier's predictions):");
    StringBuilder head = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s", "images"));
    for (int k = 0; k < FashionClassifier.CLASSES; k++) head.append(String.format(Locale.ROOT, " %6s", shortName(k)));
    out.println(head);
    for (var e : rows.entrySet()) {
      StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-" + width + "s", e.getKey()));
      for (int k = 0; k < FashionClassifier.CLASSES; k++) row.append(String.format(Locale.ROOT, " %5.1f%%", 100 * e.getValue().classFraction(k)));
      out.println(row);
    }
    out.flush();
  }

  private static String shortName(int k) {
    String n = FashionClassifier.CLASS_NAMES[k];
    return n.length() <= 6 ? n : n.substring(0, 6);
  }

  /** Prints how often the classifier agreed with the requested class, per guidance scale. */
  private static void printAgreement(Map<String, Double> agreement, PrintWriter out) {
    out.println();
    out.println("class agreement (the classifier's prediction equals the requested class):");
    for (var e : agreement.entrySet()) out.printf(Locale.ROOT, "%-14s %6.1f%%%n", e.getKey(), 100 * e.getValue());
    out.flush();
  }

  static String toJson(Map<String, Evaluator.Metrics> rows, Map<String, Double> agreement) {
    JsonArray all = new JsonArray();
    for (var e : rows.entrySet()) {
      Evaluator.Metrics m = e.getValue();
      JsonObject o = new JsonObject();
      o.addProperty("images", e.getKey());
      o.addProperty("n", m.n());
      o.addProperty("fid", m.fid());
      o.addProperty("kid", m.kid());
      o.addProperty("kid_std_err", m.kidStdErr());
      JsonObject hist = new JsonObject();
      for (int k = 0; k < FashionClassifier.CLASSES; k++) hist.addProperty(FashionClassifier.CLASS_NAMES[k], m.classCounts()[k]);
      o.add("class_counts", hist);
      if (agreement.containsKey(e.getKey())) o.addProperty("class_agreement", agreement.get(e.getKey()));
      all.add(o);
    }
    JsonObject root = new JsonObject();
    root.addProperty("feature_space", "ddpm4j FashionClassifier, its 128-d fc1 features (not Inception-v3)");
    root.add("results", all);
    return new GsonBuilder().setPrettyPrinting().create().toJson(root) + "\n";
  }
}
