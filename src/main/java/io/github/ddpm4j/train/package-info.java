/**
 * Training a DDPM (Ho et al. 2020, Algorithm 1): the loop ({@link io.github.ddpm4j.train.Trainer}) with
 * Adam, gradient clipping, learning-rate warm-up and an EMA of the weights
 * ({@link io.github.ddpm4j.train.Ema}); everything that defines a run
 * ({@link io.github.ddpm4j.train.TrainConfig}, stored as JSON in each checkpoint); the checkpoint itself,
 * written atomically and resumed bit for bit ({@link io.github.ddpm4j.train.Checkpoint}); and the loss log
 * and curve ({@link io.github.ddpm4j.train.LossLog}).
 *
 * <p>A new run never overwrites an existing one ({@link io.github.ddpm4j.train.ExistingRunException}).
 *
 * <p>Data-parallel training: every process of a {@link io.github.ddpm4j.distributed.ProcessGroup} runs a
 * {@code Trainer} made {@link io.github.ddpm4j.train.Trainer#distributed distributed}, each on its share of
 * every batch ({@link io.github.ddpm4j.data.DataLoader}), with gradients averaged by
 * {@link io.github.ddpm4j.distributed.DistributedDataParallel}; rank 0 writes the run's files.
 */
package io.github.ddpm4j.train;
