/**
 * Neural-network building blocks over {@link io.github.ddpm4j.torch}, after
 * {@code torch.nn}: {@link io.github.ddpm4j.nn.Module} trees with PyTorch's
 * dotted parameter names and state dicts, layers with torch.nn's default
 * initialisation ({@link io.github.ddpm4j.nn.Linear},
 * {@link io.github.ddpm4j.nn.Conv2d}, {@link io.github.ddpm4j.nn.ConvTranspose2d},
 * {@link io.github.ddpm4j.nn.GroupNorm}, ...), initialisers in
 * {@link io.github.ddpm4j.nn.Init} and gradient clipping in {@link io.github.ddpm4j.nn.Utils}.
 * The functional forms ({@code torch.nn.functional}) are {@link io.github.ddpm4j.torch.Functional};
 * the optimizers are in {@link io.github.ddpm4j.optim}; state dicts in PyTorch's file
 * format and safetensors in {@link io.github.ddpm4j.serialize}.
 *
 * <p>A training step, with every temporary freed by the scope:
 * {@snippet :
 * try (Sequential model = new Sequential(new Linear(2, 16), new SiLU(), new Linear(16, 1));
 *     Adam opt = new Adam(model.parameters(), 1e-2)) {
 *   for (int step = 0; step < steps; step++) {
 *     try (Scope s = Scope.open()) {
 *       opt.zeroGrad();
 *       Tensor loss = Functional.mseLoss(model.forward(x), y);
 *       loss.backward();
 *       Utils.clipGradNorm(model.parameters(), 1.0);
 *       opt.step();
 *     }
 *   }
 * }
 * }
 *
 * <p>Given the same weights and inputs, layers and functions compute the same
 * values and gradients as PyTorch on the same LibTorch; after
 * {@code Torch.manualSeed(s)}, a new layer holds the same weights as PyTorch's
 * after {@code torch.manual_seed(s)}.
 */
package io.github.ddpm4j.nn;
