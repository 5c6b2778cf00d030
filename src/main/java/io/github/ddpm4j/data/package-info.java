/**
 * Training images: reading them into one off-heap {@code uint8} tensor
 * {@code [count, channels, height, width]} ({@link io.github.ddpm4j.data.ImageDataset}), from
 * Fashion-MNIST or any IDX file ({@link io.github.ddpm4j.data.IdxReader}) or a folder of PNG/JPEG
 * images ({@link io.github.ddpm4j.data.ImageFolderReader}), opened by name with
 * {@link io.github.ddpm4j.data.Datasets}; shuffled mini-batches scaled to [-1, 1]
 * ({@link io.github.ddpm4j.data.DataLoader}, after {@code torch.utils.data.DataLoader}); and writing
 * images back out as PNG files, grids and GIFs ({@link io.github.ddpm4j.data.ImageWriter}).
 *
 * <p>Readers treat files as untrusted: a missing, truncated, corrupt or oversized file throws
 * {@link io.github.ddpm4j.data.DatasetException} naming it.
 */
package io.github.ddpm4j.data;
