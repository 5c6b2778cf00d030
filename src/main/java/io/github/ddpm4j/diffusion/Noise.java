package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.torch.Generator;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Where a sampler's Gaussian noise comes from: {@code z ~ N(0, I)} for {@code x_T} and for the steps that
 * add noise. One generator for the whole batch ({@link #of}), or one generator per group of rows
 * ({@link #perRows}), so that images sampled in one batch for several requests get exactly the noise each
 * request would get alone: batching then changes their values only by the float rounding of the batched
 * forward pass.
 */
@FunctionalInterface
public interface Noise {
  /**
   * @param like the tensor whose shape, dtype and device the noise takes, {@code [batch, ...]}
   * @return standard normal noise of that shape, dtype and device; joins the caller's scope
   */
  Tensor randnLike(Tensor like);

  /**
   * @param generator the source of every draw ({@code torch.randn_like(x, generator=g)})
   * @return noise drawn from {@code generator}
   * @throws NullPointerException if {@code generator} is null
   */
  static Noise of(Generator generator) {
    Objects.requireNonNull(generator, "generator");
    return like -> Torch.randnLike(like, generator);
  }

  /**
   * Noise whose rows come from several generators: the first {@code rows[0]} rows of every draw from
   * {@code generators.get(0)}, the next {@code rows[1]} from the second, and so on. Each group's values equal
   * those of {@code Noise.of(generators.get(i))} drawing a tensor of {@code rows[i]} rows.
   *
   * @param generators one generator per group, on the device of the tensors drawn
   * @param rows the rows of each group, each &gt;= 1; their sum is the batch size of every draw
   * @return the noise source
   * @throws IllegalArgumentException if the lists differ in length or a count is below 1
   * @throws NullPointerException if an argument or a generator is null
   */
  static Noise perRows(List<Generator> generators, long[] rows) {
    List<Generator> gens = List.copyOf(generators);
    long[] counts = rows.clone();
    if (gens.size() != counts.length) {
      throw new IllegalArgumentException(gens.size() + " generators for " + counts.length + " groups of rows");
    }
    long total = 0;
    for (long r : counts) {
      if (r < 1) throw new IllegalArgumentException("every group needs at least one row, got " + r);
      total += r;
    }
    long batch = total;
    return like -> {
      if (like.dim() < 1 || like.size(0) != batch) {
        throw new IllegalArgumentException("noise for " + batch + " rows, asked for a tensor of shape " + java.util.Arrays.toString(like.shape()));
      }
      if (gens.size() == 1) return Torch.randnLike(like, gens.get(0));
      List<Tensor> parts = new ArrayList<>(gens.size());
      try (Scope scope = Scope.open()) {
        long[] shape = like.shape();
        for (int i = 0; i < gens.size(); i++) {
          shape[0] = counts[i];
          parts.add(Torch.randn(shape.clone(), like.dtype(), like.device(), gens.get(i)));
        }
        return Scope.keep(Torch.cat(parts, 0));
      }
    };
  }
}
