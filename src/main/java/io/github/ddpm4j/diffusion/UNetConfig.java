package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.io.InvalidSettingException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The shape of a {@link UNet}, with the seed's names and defaults.
 *
 * <p>Level {@code i} (of {@code chMults.size()} levels) works at
 * {@code nChannels * chMults[0] * ... * chMults[i]} channels and at the input
 * resolution halved {@code i} times; it has {@code nBlocks} residual blocks on the
 * way down and {@code nBlocks + 1} on the way up, each followed by self-attention
 * where {@code isAttn[i]}. The time embedding has {@code 4 * nChannels} features.
 *
 * <p>Every size has an upper bound as well ({@link #MAX_IMAGE_CHANNELS}, {@link #MAX_CHANNELS},
 * {@link #MAX_WIDTH}, {@link #MAX_LEVELS}, {@link #MAX_BLOCKS}): a configuration read from a file
 * is checked by the same constructor, and an absurd size must fail here, naming the field, not as
 * a failed allocation of gigabytes in LibTorch.
 *
 * @param imageChannels channels of the images, 1..{@value #MAX_IMAGE_CHANNELS} (3 for RGB)
 * @param nChannels channels of the first feature map, even and in 4..{@value #MAX_CHANNELS}
 * @param chMults the channel multiplier of each resolution level, each &gt;= 1, 1..{@value #MAX_LEVELS} levels;
 *     the widest level, {@code nChannels * chMults[0] * ... * chMults[last]}, has at most {@value #MAX_WIDTH} channels
 * @param isAttn whether each level has self-attention, one entry per level
 * @param nBlocks residual blocks per level on the way down, 1..{@value #MAX_BLOCKS}
 * @param dropout dropout probability inside the residual blocks, in [0, 1)
 * @param nGroups groups of the GroupNorms in the residual and attention blocks; must divide every
 *     channel count those blocks normalise
 * @param finalGroups groups of the GroupNorm before the output convolution; must divide {@code nChannels}
 * @param numClasses the classes of a class-conditional UNet, 0..{@value #MAX_CLASSES}; 0 for an unconditional one (a
 *     configuration written before the field existed is unconditional)
 */
public record UNetConfig(int imageChannels, int nChannels, List<Integer> chMults, List<Boolean> isAttn, int nBlocks,
    double dropout, int nGroups, int finalGroups, int numClasses) {
  /** Most image channels (4: RGBA). */
  public static final int MAX_IMAGE_CHANNELS = 4;
  /** Most channels of the first feature map. */
  public static final int MAX_CHANNELS = 1024;
  /** Most channels of the widest level (the seed's default UNet has 256, its CIFAR-10 model 512). */
  public static final int MAX_WIDTH = 4096;
  /** Most resolution levels. */
  public static final int MAX_LEVELS = 8;
  /** Most residual blocks per level. */
  public static final int MAX_BLOCKS = 16;
  /** Most classes of a class-conditional UNet. */
  public static final int MAX_CLASSES = 100_000;

  /**
   * Validates the configuration.
   *
   * @throws InvalidSettingException naming the parameter that is out of range, or {@code nGroups} /
   *     {@code finalGroups} when it does not divide a normalised channel count
   * @throws NullPointerException if a list or one of its entries is null
   */
  public UNetConfig {
    chMults = List.copyOf(Objects.requireNonNull(chMults, "chMults"));
    isAttn = List.copyOf(Objects.requireNonNull(isAttn, "isAttn"));
    if (imageChannels < 1 || imageChannels > MAX_IMAGE_CHANNELS) {
      throw new InvalidSettingException("{imageChannels=} must be in 1..{}", imageChannels, MAX_IMAGE_CHANNELS);
    }
    if (nChannels < 4 || nChannels > MAX_CHANNELS || nChannels % 2 != 0) {
      throw new InvalidSettingException("{nChannels=} must be even and in 4..{} (the sinusoidal time embedding uses "
          + "{nChannels} / 2 frequencies, at least 2)", nChannels, MAX_CHANNELS);
    }
    if (chMults.isEmpty()) throw new InvalidSettingException("{chMults} must list at least one level");
    if (chMults.size() > MAX_LEVELS) {
      throw new InvalidSettingException("{chMults} has {} levels, at most {} are allowed", chMults.size(), MAX_LEVELS);
    }
    long width = nChannels;
    for (int m : chMults) {
      if (m < 1) throw new InvalidSettingException("{chMults=} must hold values >= 1", chMults);
      width = Math.min(width * m, MAX_WIDTH + 1L);
    }
    if (width > MAX_WIDTH) {
      throw new InvalidSettingException("{chMults=} make the widest level ({nChannels=} times their product) wider than {} "
          + "channels", chMults, nChannels, MAX_WIDTH);
    }
    if (isAttn.size() != chMults.size()) {
      throw new InvalidSettingException("{isAttn} has {} entries but {chMults} has {} levels", isAttn.size(), chMults.size());
    }
    if (nBlocks < 1 || nBlocks > MAX_BLOCKS) throw new InvalidSettingException("{nBlocks=} must be in 1..{}", nBlocks, MAX_BLOCKS);
    if (!(dropout >= 0 && dropout < 1)) throw new InvalidSettingException("{dropout=} must lie in [0, 1)", dropout);
    if (nGroups < 1) throw new InvalidSettingException("{nGroups=} must be >= 1", nGroups);
    if (finalGroups < 1) throw new InvalidSettingException("{finalGroups=} must be >= 1", finalGroups);
    for (long c : normalisedChannels(nChannels, chMults, nBlocks)) {
      if (c % nGroups != 0) {
        throw new InvalidSettingException("{nGroups=} does not divide {}, the channel count of a GroupNorm in this UNet "
            + "({nChannels=}, {chMults=})", nGroups, c, nChannels, chMults);
      }
    }
    if (nChannels % finalGroups != 0) {
      throw new InvalidSettingException("{finalGroups=} does not divide {nChannels=}", finalGroups, nChannels);
    }
    if (numClasses < 0 || numClasses > MAX_CLASSES) {
      throw new InvalidSettingException("{numClasses=} must be in 0..{} (0: unconditional)", numClasses, MAX_CLASSES);
    }
  }

  /**
   * An unconditional UNet ({@code numClasses = 0}).
   *
   * @throws InvalidSettingException as the canonical constructor
   * @throws NullPointerException if a list or one of its entries is null
   */
  public UNetConfig(int imageChannels, int nChannels, List<Integer> chMults, List<Boolean> isAttn, int nBlocks, double dropout,
      int nGroups, int finalGroups) {
    this(imageChannels, nChannels, chMults, isAttn, nBlocks, dropout, nGroups, finalGroups, 0);
  }

  /** @return whether the UNet takes a class label ({@code numClasses > 0}) */
  public boolean isClassConditional() {
    return numClasses > 0;
  }

  /**
   * @param classes the number of classes, 0 for unconditional
   * @return this configuration with another {@code numClasses}
   * @throws InvalidSettingException naming {@code numClasses} when out of range
   */
  public UNetConfig withNumClasses(int classes) {
    return new UNetConfig(imageChannels, nChannels, chMults, isAttn, nBlocks, dropout, nGroups, finalGroups, classes);
  }

  /**
   * The seed's defaults: {@code imageChannels = 3, nChannels = 64, chMults = (1, 2, 2, 4),
   * isAttn = (false, false, true, true), nBlocks = 2, dropout = 0.1, nGroups = 32, finalGroups = 8}.
   *
   * @return the default configuration
   */
  public static UNetConfig defaults() {
    return new UNetConfig(3, 64, List.of(1, 2, 2, 4), List.of(false, false, true, true), 2, 0.1, 32, 8);
  }

  /**
   * A builder preset to {@link #defaults()}; nothing is validated until {@link Builder#build()}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /** @return a builder preset to this configuration */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.imageChannels = imageChannels;
    b.nChannels = nChannels;
    b.chMults = chMults;
    b.isAttn = isAttn;
    b.nBlocks = nBlocks;
    b.dropout = dropout;
    b.nGroups = nGroups;
    b.finalGroups = finalGroups;
    b.numClasses = numClasses;
    return b;
  }

  /** Collects the fields of a {@link UNetConfig}; {@link #build()} validates them together. */
  public static final class Builder {
    private int imageChannels = 3;
    private int nChannels = 64;
    private List<Integer> chMults = List.of(1, 2, 2, 4);
    private List<Boolean> isAttn = List.of(false, false, true, true);
    private int nBlocks = 2;
    private double dropout = 0.1;
    private int nGroups = 32;
    private int finalGroups = 8;
    private int numClasses = 0;

    private Builder() {}

    /**
     * Sets {@code imageChannels}, the channels of the images.
     *
     * @param value channels of the images
     * @return this builder
     */
    public Builder imageChannels(int value) {
      imageChannels = value;
      return this;
    }

    /**
     * Sets {@code nChannels}, the channels of the first feature map.
     *
     * @param value channels of the first feature map
     * @return this builder
     */
    public Builder nChannels(int value) {
      nChannels = value;
      return this;
    }

    /**
     * Sets {@code chMults}, the channel multiplier of each level.
     *
     * @param values the channel multiplier of each level
     * @return this builder
     */
    public Builder chMults(int... values) {
      List<Integer> m = new ArrayList<>();
      for (int v : values) m.add(v);
      chMults = m;
      return this;
    }

    /**
     * Sets {@code isAttn}, whether each level has self-attention.
     *
     * @param values whether each level has self-attention
     * @return this builder
     */
    public Builder isAttn(boolean... values) {
      List<Boolean> a = new ArrayList<>();
      for (boolean v : values) a.add(v);
      isAttn = a;
      return this;
    }

    /**
     * Sets {@code nBlocks}, the residual blocks per level on the way down.
     *
     * @param value residual blocks per level on the way down
     * @return this builder
     */
    public Builder nBlocks(int value) {
      nBlocks = value;
      return this;
    }

    /**
     * Sets {@code dropout}, the dropout probability in the residual blocks.
     *
     * @param value dropout probability in the residual blocks
     * @return this builder
     */
    public Builder dropout(double value) {
      dropout = value;
      return this;
    }

    /**
     * Sets {@code nGroups}, the groups of the block GroupNorms.
     *
     * @param value groups of the block GroupNorms
     * @return this builder
     */
    public Builder nGroups(int value) {
      nGroups = value;
      return this;
    }

    /**
     * Sets {@code finalGroups}, the groups of the GroupNorm before the output convolution.
     *
     * @param value groups of the GroupNorm before the output convolution
     * @return this builder
     */
    public Builder finalGroups(int value) {
      finalGroups = value;
      return this;
    }

    /**
     * Sets {@code numClasses}, the classes of a class-conditional UNet (0: unconditional).
     *
     * @param value the number of classes
     * @return this builder
     */
    public Builder numClasses(int value) {
      numClasses = value;
      return this;
    }

    /**
     * @return the validated configuration
     * @throws IllegalArgumentException naming the offending parameter (see {@link UNetConfig})
     */
    public UNetConfig build() {
      return new UNetConfig(imageChannels, nChannels, chMults, isAttn, nBlocks, dropout, nGroups, finalGroups, numClasses);
    }
  }

  /** @return the number of resolution levels, {@code chMults.size()} */
  public int levels() {
    return chMults.size();
  }

  /** @return the factor that image height and width must be divisible by: {@code 2^(levels - 1)} */
  public int sizeDivisor() {
    return 1 << (levels() - 1);
  }

  /** Every channel count that a block GroupNorm sees, in the order the UNet builds them. */
  private static List<Long> normalisedChannels(int nChannels, List<Integer> chMults, int nBlocks) {
    List<Long> out = new ArrayList<>();
    long in = nChannels;
    for (int mult : chMults) {
      long outCh = in * mult;
      for (int b = 0; b < nBlocks; b++) {
        out.add(in);
        out.add(outCh);
        in = outCh;
      }
    }
    out.add(in);
    for (int i = chMults.size() - 1; i >= 0; i--) {
      for (int b = 0; b < nBlocks; b++) out.add(2 * in);
      long outCh = in / chMults.get(i);
      out.add(in + outCh);
      out.add(outCh);
      in = outCh;
    }
    return out;
  }
}
