/**
 * Data-parallel training over several processes, after {@code torch.distributed}: a
 * {@link io.github.ddpm4j.distributed.ProcessGroup} ({@code init_process_group}, with a TCP store,
 * torchrun's environment or a file store) runs collectives with a timeout ({@code all_reduce},
 * {@code broadcast}, {@code barrier}, {@code all_gather}), and
 * {@link io.github.ddpm4j.distributed.DistributedDataParallel} keeps a module's replicas equal by
 * broadcasting rank 0's weights and averaging gradients. Failures, timeouts and lost peers are
 * {@link io.github.ddpm4j.distributed.DistributedException}s. The groups are LibTorch's c10d
 * (Gloo for CPU tensors, NCCL for CUDA tensors where LibTorch has it) and speak its protocol, so a
 * Python {@code torch.distributed} process of the same LibTorch version can be one of the ranks.
 * The native group itself is {@link io.github.ddpm4j.torch.NativeProcessGroup}, since only the
 * {@code torch} package calls the native shim.
 */
package io.github.ddpm4j.distributed;
