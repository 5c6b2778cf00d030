package io.github.ddpm4j.eval;

import io.github.ddpm4j.data.DatasetException;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.Tensor;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * Reads an IDX label file ({@code *-labels-idx1-ubyte[.gz]}: magic {@code 0x00000801}, a count, then
 * one unsigned byte per image), as LeCun's MNIST page and Fashion-MNIST define it.
 */
final class Labels {
  /** Magic number of an unsigned-byte IDX file with one dimension. */
  static final int LABELS_MAGIC = 0x00000801;

  private Labels() {}

  /**
   * @param dir an MNIST-style directory
   * @param split {@code "train"} or {@code "t10k"}
   * @return the label file of that split, gzipped or not
   * @throws DatasetException if there is none
   */
  static Path file(Path dir, String split) throws DatasetException {
    for (String name : new String[] {split + "-labels-idx1-ubyte.gz", split + "-labels-idx1-ubyte", split + "-labels.idx1-ubyte"}) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p)) return p;
    }
    throw new DatasetException(dir, "no " + split + "-labels-idx1-ubyte[.gz] file in this directory");
  }

  /**
   * @param file an IDX label file, optionally gzipped (name ending in {@code .gz})
   * @param limit at most this many labels (&lt;= 0: all)
   * @param classes labels must be in 0..classes-1
   * @return {@code int64 [count]}
   * @throws DatasetException if the file is missing, truncated, has a wrong magic number, or a label is out of range
   */
  static Tensor read(Path file, long limit, int classes) throws DatasetException {
    if (!Files.isRegularFile(file)) throw new DatasetException(file, "no such file");
    try (InputStream raw = Files.newInputStream(file);
         DataInputStream in = new DataInputStream(new BufferedInputStream(
             file.getFileName().toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw, 1 << 16))) {
      int magic = in.readInt();
      if (magic != LABELS_MAGIC) {
        throw new DatasetException(file, String.format("wrong magic number 0x%08x, expected 0x%08x (IDX unsigned-byte labels)", magic, LABELS_MAGIC));
      }
      int count = in.readInt();
      if (count <= 0) throw new DatasetException(file, "label count " + count + " must be positive");
      int n = (int) (limit > 0 ? Math.min(limit, count) : count);
      byte[] bytes = new byte[n];
      in.readFully(bytes);
      long[] labels = new long[n];
      for (int i = 0; i < n; i++) {
        labels[i] = bytes[i] & 0xFF;
        if (labels[i] >= classes) throw new DatasetException(file, "label " + labels[i] + " of image " + i + " is not in 0.." + (classes - 1));
      }
      return Torch.tensor(labels, n);
    } catch (EOFException e) {
      throw new DatasetException(file, "truncated: the file ends before all announced labels", e);
    } catch (IOException e) {
      throw new DatasetException(file, "cannot read: " + e.getMessage(), e);
    }
  }
}
