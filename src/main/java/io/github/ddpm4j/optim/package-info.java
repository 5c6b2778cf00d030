/**
 * Optimizers, after {@code torch.optim}: {@link io.github.ddpm4j.optim.Adam} and
 * {@link io.github.ddpm4j.optim.AdamW} computed by LibTorch's own C++ implementation
 * (the same arithmetic as PyTorch's, with changeable learning rate and savable state),
 * their options ({@link io.github.ddpm4j.optim.AdamOptions}), and dynamic loss scaling
 * for float16 training ({@link io.github.ddpm4j.optim.GradScaler}, after
 * {@code torch.amp.GradScaler}). The native optimizer object itself is
 * {@link io.github.ddpm4j.torch.NativeOptimizer}, since only the {@code torch}
 * package calls the native shim.
 */
package io.github.ddpm4j.optim;
