package io.github.ddpm4j.pipeline;

import io.github.ddpm4j.data.ImageWriter;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The images a {@link DDPMPipeline} call made: a tensor, and its PNG encodings. Owns the tensor and
 * frees it on {@link #close()}. Not for use by several threads at once.
 */
public final class GeneratedImages implements AutoCloseable {
  private final Tensor images;

  /** @param images float32 {@code [n, channels, height, width]} in [-1, 1], owned from now on */
  GeneratedImages(Tensor images) {
    this.images = images;
  }

  /**
   * @return float32 {@code [numImages, channels, height, width]}, values in [-1, 1] (clamp before use: the
   *     model may overshoot slightly); valid until this is closed
   */
  public Tensor images() {
    return images;
  }

  /** @return the number of images */
  public int size() {
    return (int) images.size(0);
  }

  /**
   * @param nrow images per row
   * @return the images as one picture, {@code torchvision.utils.make_grid}'s layout with 2 pixels of padding
   * @throws IllegalArgumentException if {@code nrow} &lt; 1
   */
  public BufferedImage grid(int nrow) {
    return ImageWriter.grid(images, nrow, 2);
  }

  /** @return the images as one PNG grid, about square ({@code ceil(sqrt(n))} per row) */
  public byte[] gridPng() {
    return encode(grid((int) Math.ceil(Math.sqrt(size()))));
  }

  /**
   * @param i which image, in 0..{@link #size()} - 1
   * @return that image as PNG bytes (8-bit grayscale or RGB)
   * @throws IndexOutOfBoundsException if {@code i} is out of range
   */
  public byte[] png(int i) {
    if (i < 0 || i >= size()) throw new IndexOutOfBoundsException("image " + i + " of " + size());
    try (Scope scope = Scope.open()) {
      return encode(ImageWriter.grid(images.narrow(0, i, 1), 1, 0));
    }
  }

  /** @return every image as PNG bytes, in order */
  public List<byte[]> pngs() {
    List<byte[]> out = new ArrayList<>(size());
    for (int i = 0; i < size(); i++) out.add(png(i));
    return out;
  }

  private static byte[] encode(BufferedImage image) {
    try {
      return ImageWriter.png(image);
    } catch (IOException e) {
      throw new UncheckedIOException("PNG encoding failed: " + e.getMessage(), e); // in memory: not expected
    }
  }

  /** Frees the images' tensor; idempotent. */
  @Override
  public void close() {
    images.close();
  }
}
