package io.github.ddpm4j.data;

import io.github.ddpm4j.io.InvalidSettingException;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * Endless shuffled mini-batches of an {@link ImageDataset} for training, as a
 * {@code torch.utils.data.DataLoader(shuffle=True, drop_last=True)} would give
 * them: each epoch is a fresh permutation drawn from this loader's own
 * generator, batches are gathered by LibTorch ({@code index_select}), scaled
 * to [-1, 1], and optionally flipped left-right with probability 1/2 each.
 *
 * <p>The state is the generator and the position in the current epoch, so a
 * resumed run that restores both sees the same batches.
 *
 * <p>In data-parallel training each of {@code worldSize} processes makes a loader with the same
 * seed and the global batch size, and its {@code rank}: every process draws the same permutation
 * and the same flips, and rank {@code r} takes the images at positions {@code r, r + W, r + 2W, ...}
 * of each global batch, as torch's {@code DistributedSampler} deals out an epoch. The ranks' shards
 * of one step are therefore exactly the images that one process at the global batch size sees in
 * that step, flipped alike, and the state (the generator and the position in the global permutation)
 * is the same on every rank and does not depend on the number of processes.
 */
public final class DataLoader implements AutoCloseable {
  private final ImageDataset dataset;
  private final int batchSize;
  private final int rank;
  private final int worldSize;
  private final boolean flip;
  private final Device device;
  private final Generator generator;
  private Tensor order;
  private Tensor epochStart;
  private long position;
  private long epoch;

  /**
   * @param dataset the images (not owned)
   * @param batchSize images per batch, 1..dataset size
   * @param flip randomly mirror images horizontally
   * @param device where batches are placed
   * @param seed seed of the shuffling and flipping generator
   * @throws InvalidSettingException naming {@code batchSize} if it is out of range
   */
  public DataLoader(ImageDataset dataset, int batchSize, boolean flip, Device device, long seed) {
    this(dataset, batchSize, flip, device, seed, 0, 1);
  }

  /**
   * A loader of one rank's shard of every global batch (see the class comment).
   *
   * @param dataset the images (not owned)
   * @param batchSize images per global batch (all ranks together), 1..dataset size, divisible by {@code worldSize}
   * @param flip randomly mirror images horizontally
   * @param device where batches are placed
   * @param seed seed of the shuffling and flipping generator, the same on every rank
   * @param rank this process's rank, 0..worldSize-1
   * @param worldSize the number of processes that share each global batch, &gt;= 1
   * @throws InvalidSettingException naming {@code batchSize} if it is out of range or not divisible by
   *     {@code worldSize}, or naming {@code rank} or {@code worldSize} if they are out of range
   */
  public DataLoader(ImageDataset dataset, int batchSize, boolean flip, Device device, long seed, int rank, int worldSize) {
    if (batchSize <= 0 || batchSize > dataset.size()) {
      throw new InvalidSettingException("{batchSize=} must be in 1..{} (the dataset size)", batchSize, dataset.size());
    }
    if (worldSize < 1) throw new InvalidSettingException("{worldSize=} must be >= 1", worldSize);
    if (rank < 0 || rank >= worldSize) throw new InvalidSettingException("{rank=} must be in 0..{} (the world size less 1)", rank, worldSize - 1);
    if (batchSize % worldSize != 0) {
      throw new InvalidSettingException("{batchSize=} must be divisible by the number of processes ({}): each of them takes an "
          + "equal share of every batch", batchSize, worldSize);
    }
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.rank = rank;
    this.worldSize = worldSize;
    this.flip = flip;
    this.device = device;
    this.generator = new Generator(seed);
  }

  /** @return completed epochs */
  public long epoch() {
    return epoch;
  }

  /** @return the index of the next batch's first image in the current epoch's permutation */
  public long position() {
    return position;
  }

  /** @return the images of each batch this loader returns: the global batch size divided by the world size */
  public int shardSize() {
    return batchSize / worldSize;
  }

  /** @return the generator that drives shuffling and flipping (for checkpointing its state) */
  public Generator generator() {
    return generator;
  }

  /**
   * Where the loader is, for checkpoints: with it, {@link #restore(State)} makes a
   * fresh loader over the same dataset yield exactly the batches this one would.
   *
   * @param epoch completed epochs
   * @param position index of the next batch's first image in the current permutation
   * @param epochStart generator state from which the current permutation was drawn (uint8 CPU tensor)
   * @param current the generator's current state (uint8 CPU tensor)
   */
  public record State(long epoch, long position, Tensor epochStart, Tensor current) {}

  /**
   * @return the current state; its tensors are new and owned by the caller (or the caller's scope)
   */
  public State state() {
    Tensor start = epochStart != null ? epochStart.clone() : generator.getState();
    return new State(epoch, order == null ? 0 : position, start, generator.getState());
  }

  /**
   * Continues from a state saved by {@link #state()}.
   *
   * @param state the saved state
   * @throws IllegalArgumentException if the position is out of range
   * @throws io.github.ddpm4j.torch.TorchException if a generator state is invalid
   */
  public void restore(State state) {
    if (state.position() < 0 || state.position() > dataset.size()) {
      throw new IllegalArgumentException("loader position " + state.position() + " is outside 0.." + dataset.size());
    }
    if (order != null) order.close();
    order = null;
    epoch = state.epoch();
    position = 0;
    generator.setState(state.epochStart());
    if (state.position() > 0) {
      newOrder();
      position = state.position();
    }
    generator.setState(state.current());
  }

  private void newOrder() {
    if (epochStart != null) epochStart.close();
    epochStart = Scope.release(generator.getState());
    order = Scope.release(Torch.randperm(dataset.size(), Device.CPU, generator));
    position = 0;
  }

  /**
   * The next batch, or this rank's shard of it; a new epoch starts when fewer than {@code batchSize}
   * (the global batch size) images remain.
   *
   * @return {@code float32 [shardSize, channels, height, width]} in [-1, 1] on the loader's device, the
   *     images at positions {@code rank, rank + worldSize, ...} of the global batch (all of it for one
   *     process), owned by the caller (or the caller's scope)
   */
  public Tensor next() {
    return draw(false).images();
  }

  /**
   * A batch and the class labels of its images, in the same order.
   *
   * @param images {@code float32 [shardSize, channels, height, width]} in [-1, 1] on the loader's device
   * @param labels int64 {@code [shardSize]} on the loader's device, the class of each image; null when the
   *     dataset has no labels
   */
  public record Batch(Tensor images, Tensor labels) {}

  /**
   * The next batch with its labels: the same images as {@link #next()} would return (same shuffle, flips,
   * data-parallel shard and position), and their classes.
   *
   * @return the images and their labels (null labels for a dataset without them), owned by the caller (or
   *     the caller's scope)
   */
  public Batch nextBatch() {
    return draw(true);
  }

  private Batch draw(boolean withLabels) {
    if (order == null || position + batchSize > dataset.size()) {
      if (order != null) {
        order.close();
        epoch++;
      }
      newOrder();
    }
    Tensor batch;
    Tensor labels = null;
    try (Scope s = Scope.open()) {
      Tensor idx = order.slice(0, position + rank, position + batchSize, worldSize);
      Tensor x = dataset.normalized(idx);
      if (withLabels && dataset.hasLabels()) {
        Tensor y = dataset.labels().indexSelect(0, idx);
        labels = Scope.keep(device.isCuda() ? y.to(device) : y);
      }
      if (flip) {
        // every rank draws the whole batch's coins, so that the generator stays the same on all of them
        Tensor coin = Torch.rand(new long[] {batchSize, 1, 1, 1}, io.github.ddpm4j.torch.DType.FLOAT32, Device.CPU, generator).lt(0.5);
        if (worldSize > 1) coin = coin.slice(0, rank, batchSize, worldSize);
        x = Torch.where(coin, x.flip(3), x);
      }
      if (device.isCuda()) x = x.to(device);
      batch = Scope.keep(x);
    }
    position += batchSize;
    return new Batch(batch, labels);
  }

  /** Frees the generator and the current permutation (not the dataset). */
  @Override
  public void close() {
    if (order != null) order.close();
    if (epochStart != null) epochStart.close();
    generator.close();
  }
}
