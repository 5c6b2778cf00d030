package io.github.ddpm4j.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads image files in the IDX format of MNIST and Fashion-MNIST (LeCun et
 * al.): a big-endian magic number {@code 0x00000803} (unsigned bytes, three
 * dimensions), the sizes {@code count, rows, columns} as big-endian int32, then
 * the pixels row-major. Gzipped files ({@code .gz}) are decompressed on the fly and
 * always to their end, so that the CRC-32 and length in the gzip trailer are checked;
 * bytes after the last gzip member that do not start another member are ignored, as
 * {@code gzip -d} ignores them ({@code gzip -t} warns "trailing garbage ignored").
 */
public final class IdxReader {
  /** Magic number of an unsigned-byte IDX file with three dimensions. */
  public static final int IMAGES_MAGIC = 0x00000803;
  /** Magic number of an unsigned-byte IDX file with one dimension: a label file. */
  public static final int LABELS_MAGIC = 0x00000801;
  /** The largest image side accepted, to reject forged headers before allocating. */
  static final int MAX_SIDE = 4096;
  /**
   * An upper bound on deflate's compression ratio (its limit is about 1032:1), used to
   * reject a gzipped file whose header announces more data than it can possibly hold.
   */
  static final long MAX_GZIP_RATIO = 1100;

  private IdxReader() {}

  /**
   * Loads an IDX image file into off-heap memory.
   *
   * @param file an {@code *-images-idx3-ubyte} file, optionally gzipped
   * @param limit read at most this many images (&lt;= 0: all)
   * @return a dataset of {@code [count, 1, rows, columns]} uint8 pixels
   * @throws DatasetException if the file is missing, truncated, not gzip when named {@code .gz},
   *     has a wrong magic number or implausible sizes, or (gzip) fails the CRC-32/length check of
   *     its trailer; a gzipped file is decompressed to its end for that check, also when
   *     {@code limit} asks for fewer images
   */
  public static ImageDataset readImages(Path file, long limit) throws DatasetException {
    if (!Files.isRegularFile(file)) throw new DatasetException(file, "no such file");
    Arena arena = Arena.ofShared();
    boolean ok = false;
    try (InputStream raw = Files.newInputStream(file);
         DataInputStream in = new DataInputStream(new BufferedInputStream(wrap(file, raw), 1 << 16))) {
      int magic = in.readInt();
      if (magic != IMAGES_MAGIC) {
        throw new DatasetException(file, String.format("wrong magic number 0x%08x, expected 0x%08x (IDX unsigned-byte images)", magic, IMAGES_MAGIC));
      }
      int count = in.readInt();
      int rows = in.readInt();
      int cols = in.readInt();
      if (count <= 0) throw new DatasetException(file, "image count " + count + " must be positive");
      if (rows <= 0 || cols <= 0 || rows > MAX_SIDE || cols > MAX_SIDE) {
        throw new DatasetException(file, "implausible image size " + rows + "x" + cols);
      }
      long n = limit > 0 ? Math.min(limit, count) : count;
      long imageBytes = (long) rows * cols;
      long fileSize = Files.size(file);
      if (!isGzip(file) && fileSize < 16 + count * imageBytes) {
        throw new DatasetException(file, "truncated: header announces " + count + " images of " + rows + "x" + cols + " ("
            + (16 + count * imageBytes) + " bytes) but the file has " + fileSize + " bytes");
      }
      if (isGzip(file) && 16 + n * imageBytes > fileSize * MAX_GZIP_RATIO + 1024) {
        throw new DatasetException(file, "implausible header: it announces " + count + " images of " + rows + "x" + cols + " ("
            + (16 + n * imageBytes) + " bytes to read) but " + fileSize + " bytes of gzip data cannot hold that much");
      }
      MemorySegment memory = arena.allocate(n * imageBytes, 64);
      byte[] buf = new byte[(int) Math.min(imageBytes * 256, 1 << 20)];
      long done = 0;
      long total = n * imageBytes;
      while (done < total) {
        int want = (int) Math.min(buf.length, total - done);
        in.readFully(buf, 0, want);
        MemorySegment.copy(MemorySegment.ofArray(buf), 0, memory, done, want);
        done += want;
      }
      if (isGzip(file)) drain(in, buf);
      ImageDataset ds = new ImageDataset(arena, memory, n, 1, rows, cols, file.toString());
      ok = true;
      return ds;
    } catch (EOFException e) {
      throw new DatasetException(file, "truncated: the file ends before all announced images", e);
    } catch (ZipException e) {
      if (TRAILER_MISMATCH.equals(e.getMessage())) throw trailerMismatch(file, e);
      throw new DatasetException(file, "corrupt gzip data: " + e.getMessage(), e);
    } catch (DatasetException e) {
      throw e;
    } catch (IOException e) {
      throw new DatasetException(file, "cannot read: " + e.getMessage(), e);
    } finally {
      if (!ok) arena.close();
    }
  }

  /**
   * The label file that belongs to an image file: its name with {@code images-idx3} replaced by
   * {@code labels-idx1} (or {@code images.idx3} by {@code labels.idx1}), in the same directory, e.g.
   * {@code train-labels-idx1-ubyte.gz} for {@code train-images-idx3-ubyte.gz}. Where that file does not exist
   * but the same name without (or with) {@code .gz} does, that one: the labels may be compressed or not
   * independently of the images.
   *
   * @param images an IDX image file
   * @return the label file's path (it may not exist), or null if the name has no such part
   */
  public static Path labelsFor(Path images) {
    String name = images.getFileName().toString();
    String labels = name.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1");
    if (labels.equals(name)) return null;
    Path same = images.resolveSibling(labels);
    if (Files.isRegularFile(same)) return same;
    // gzipped images with plain labels, or the other way round
    Path other = images.resolveSibling(labels.endsWith(".gz") ? labels.substring(0, labels.length() - 3) : labels + ".gz");
    return Files.isRegularFile(other) ? other : same;
  }

  /**
   * Reads the labels of an image file from its label file, and checks that both announce the same count.
   *
   * @param labelsFile an {@code *-labels-idx1-ubyte} file (magic {@value #LABELS_MAGIC}: unsigned bytes, one
   *     dimension), optionally gzipped
   * @param imagesFile the image file they belong to
   * @param limit read at most this many labels (&lt;= 0: all)
   * @return the labels, 0..255 each
   * @throws DatasetException if the label file is missing, truncated, corrupt, has a wrong magic number, or its
   *     count differs from the image file's (the message names both files)
   */
  public static long[] readLabels(Path labelsFile, Path imagesFile, long limit) throws DatasetException {
    if (!Files.isRegularFile(labelsFile)) throw new DatasetException(labelsFile, "no such file");
    int imageCount = headerCount(imagesFile);
    try (InputStream raw = Files.newInputStream(labelsFile);
         DataInputStream in = new DataInputStream(new BufferedInputStream(wrap(labelsFile, raw), 1 << 16))) {
      int magic = in.readInt();
      if (magic != LABELS_MAGIC) {
        throw new DatasetException(labelsFile, String.format("wrong magic number 0x%08x, expected 0x%08x (IDX unsigned-byte labels,"
            + " one dimension)", magic, LABELS_MAGIC));
      }
      int count = in.readInt();
      if (count != imageCount) {
        throw new DatasetException(labelsFile, "holds " + count + " labels but " + imagesFile + " holds " + imageCount
            + " images; the label file must have one label per image");
      }
      int n = (int) (limit > 0 ? Math.min(limit, count) : count);
      byte[] bytes = new byte[n];
      in.readFully(bytes);
      if (isGzip(labelsFile)) drain(in, new byte[1 << 16]);
      long[] labels = new long[n];
      for (int i = 0; i < n; i++) labels[i] = bytes[i] & 0xff;
      return labels;
    } catch (EOFException e) {
      throw new DatasetException(labelsFile, "truncated: the file ends before all announced labels", e);
    } catch (ZipException e) {
      if (TRAILER_MISMATCH.equals(e.getMessage())) throw trailerMismatch(labelsFile, e);
      throw new DatasetException(labelsFile, "corrupt gzip data: " + e.getMessage(), e);
    } catch (DatasetException e) {
      throw e;
    } catch (IOException e) {
      throw new DatasetException(labelsFile, "cannot read: " + e.getMessage(), e);
    }
  }

  /** The count in an IDX file's header (its second int32). */
  private static int headerCount(Path file) throws DatasetException {
    try (InputStream raw = Files.newInputStream(file); DataInputStream in = new DataInputStream(wrap(file, raw))) {
      in.readInt();
      return in.readInt();
    } catch (IOException e) {
      throw new DatasetException(file, "cannot read its header: " + e.getMessage(), e);
    }
  }

  /** What {@link GZIPInputStream} says when a member's CRC-32 or ISIZE does not match its data. */
  private static final String TRAILER_MISMATCH = "Corrupt GZIP trailer";

  /**
   * Reads the rest of a gzip stream, however many images were wanted, so that
   * {@link GZIPInputStream} reaches the end of the member and compares its trailer (the CRC-32
   * and the length modulo 2^32 of the uncompressed data, RFC 1952 section 2.3.1) with the data.
   * Bytes after the last member that do not start another member are ignored, as
   * {@code gzip -d} ignores them.
   */
  private static void drain(InputStream in, byte[] buf) throws IOException {
    while (in.read(buf) >= 0) {
      // the bytes after the wanted images only feed the CRC
    }
  }

  private static DatasetException trailerMismatch(Path file, ZipException e) {
    return new DatasetException(file, "gzip CRC/length check failed: the CRC-32 or length in the gzip trailer does not match"
        + " the decompressed data (corrupt file)", e);
  }

  private static boolean isGzip(Path file) {
    return file.getFileName().toString().endsWith(".gz");
  }

  private static InputStream wrap(Path file, InputStream raw) throws IOException {
    return isGzip(file) ? new GZIPInputStream(raw, 1 << 16) : raw;
  }

  /**
   * Finds the training images of an MNIST-style directory:
   * {@code train-images-idx3-ubyte} or {@code train-images.idx3-ubyte}, gzipped or not.
   *
   * @param dir the directory
   * @return the image file
   * @throws DatasetException if the directory has no such file
   */
  public static Path trainImages(Path dir) throws DatasetException {
    if (!Files.isDirectory(dir)) throw new DatasetException(dir, "not a directory");
    for (String name : new String[] {"train-images-idx3-ubyte.gz", "train-images-idx3-ubyte", "train-images.idx3-ubyte"}) {
      Path p = dir.resolve(name);
      if (Files.isRegularFile(p)) return p;
    }
    throw new DatasetException(dir, "no train-images-idx3-ubyte[.gz] file in this directory");
  }
}
