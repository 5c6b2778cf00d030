/**
 * Tensors on LibTorch, after the {@code torch} module: the one package that calls the
 * native shim ({@code libddpm4j.so}, declared in {@code native/include/ddpm4j.h}) through
 * the generated bindings in {@code io.github.ddpm4j.ffi}.
 *
 * <ul>
 *   <li>{@link io.github.ddpm4j.torch.Tensor} ({@code at::Tensor}) and its element types
 *       ({@link io.github.ddpm4j.torch.DType}), devices ({@link io.github.ddpm4j.torch.Device}) and
 *       layouts ({@link io.github.ddpm4j.torch.MemoryFormat}); creation and library-wide functions in
 *       {@link io.github.ddpm4j.torch.Torch}; the functional forms of {@code torch.nn.functional} in
 *       {@link io.github.ddpm4j.torch.Functional}.</li>
 *   <li>Lifetime: a {@link io.github.ddpm4j.torch.Scope} frees the tensors a thread creates while it is
 *       open; a tensor no scope owns is freed by a Cleaner, with the native memory such tensors hold
 *       bounded by {@link io.github.ddpm4j.torch.NativeMemory}. Every native object (tensor,
 *       {@link io.github.ddpm4j.torch.Generator}, {@link io.github.ddpm4j.torch.NativeOptimizer},
 *       {@link io.github.ddpm4j.torch.CudaGraph}) is freed exactly once, and a use after that throws
 *       {@link java.lang.IllegalStateException} instead of reaching freed memory.</li>
 *   <li>Modes of the current thread: {@link io.github.ddpm4j.torch.GradMode} ({@code torch.no_grad},
 *       {@code torch.inference_mode}) and {@link io.github.ddpm4j.torch.Autocast} ({@code torch.autocast},
 *       chosen by {@link io.github.ddpm4j.torch.Precision}).</li>
 *   <li>Errors inside LibTorch come back as {@link io.github.ddpm4j.torch.TorchException}; no C++ exception
 *       crosses the C boundary.</li>
 *   <li>The process-wide CPU allocator cache ({@link io.github.ddpm4j.torch.CpuCache}) and the
 *       {@code ddpm4j.*} system properties that configure the library when it loads
 *       ({@link io.github.ddpm4j.torch.LibraryProperties}).</li>
 * </ul>
 *
 * <p>Tensors may be used from any thread, but one tensor must not be used by two threads at once
 * while one of them writes it, as in PyTorch.
 */
package io.github.ddpm4j.torch;
