/**
 * Reading and writing state dicts in PyTorch's checkpoint format
 * ({@code torch.save}'s zip archive) and in safetensors, with zero-copy
 * memory-mapped loading: see {@link io.github.ddpm4j.serialize.StateDict}.
 *
 * <p>Readers treat files as untrusted input. A malformed, truncated or
 * malicious file throws {@link io.github.ddpm4j.serialize.CorruptFileException}
 * (or its subclass {@link io.github.ddpm4j.serialize.ForbiddenGlobalException})
 * naming the file and the problem; it never crashes the JVM, loops without
 * end, or makes the reader allocate memory in proportion to a forged size.
 */
package io.github.ddpm4j.serialize;
