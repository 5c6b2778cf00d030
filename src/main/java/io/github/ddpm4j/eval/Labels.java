package io.github.ddpm4j.eval;

import io.github.ddpm4j.data.DatasetException;
import io.github.ddpm4j.data.IdxReader;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The class labels of an IDX image file as the classifier trains and is tested on them: read by
 * {@link IdxReader#readLabels} from the label file beside the images ({@link IdxReader#labelsFor}), and
 * checked against the classifier's number of classes.
 */
final class Labels {
  private Labels() {}

  /**
   * @param imagesFile an IDX image file, e.g. {@code train-images-idx3-ubyte.gz}
   * @param classes every label must be in 0..classes-1
   * @return {@code int64 [count]}, one label per image
   * @throws DatasetException if the label file is missing, corrupt, of another count than the images, or holds a
   *     label out of range (the message names the file)
   */
  static Tensor read(Path imagesFile, int classes) throws DatasetException {
    Path file = IdxReader.labelsFor(imagesFile);
    if (file == null || !Files.isRegularFile(file)) {
      throw new DatasetException(imagesFile, "no label file beside it (" + (file == null ? "*-labels-idx1-ubyte" : file.getFileName())
          + ", gzipped or not)");
    }
    long[] labels = IdxReader.readLabels(file, imagesFile, 0);
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] >= classes) throw new DatasetException(file, "label " + labels[i] + " of image " + i + " is not in 0.." + (classes - 1));
    }
    return Torch.tensor(labels, labels.length);
  }
}
