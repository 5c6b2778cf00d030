package io.github.ddpm4j.ffi;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the generated bindings look up the shim's symbols: in the library that
 * {@code io.github.ddpm4j.torch.NativeLibrary} opened with
 * {@link SymbolLookup#libraryLookup(java.nio.file.Path, java.lang.foreign.Arena)}.
 *
 * <p>jextract's bindings look symbols up in the libraries of their class loader
 * ({@link SymbolLookup#loaderLookup()}), which only {@link System#load} fills, and the JVM lets
 * only one class loader {@code System.load} a given file. A library lookup has no such owner:
 * every class loader that loads ddpm4j (an application server's, once per deployment) opens the
 * same file and gets the same copy of the shim. {@code scripts/regenerate-bindings} points the
 * generated {@code SYMBOL_LOOKUP} at {@link #LOOKUP}; this file is written by hand.
 *
 * <p>Thread-safe.
 */
public final class ShimLookup {
  private static volatile SymbolLookup library;

  /** The lookup of the generated bindings: the shim's symbols, once {@link #bind} has run. */
  static final SymbolLookup LOOKUP = ShimLookup::find;

  private ShimLookup() {}

  /**
   * Gives the bindings the opened shim. Called once per class loader, by the library loader,
   * before any binding is used.
   *
   * @param lookup the shim's symbols
   * @throws NullPointerException if {@code lookup} is null
   * @throws IllegalStateException if another lookup was bound before
   */
  public static synchronized void bind(SymbolLookup lookup) {
    Objects.requireNonNull(lookup, "lookup");
    if (library != null && library != lookup) throw new IllegalStateException("the shim's symbols are bound already");
    library = lookup;
  }

  /**
   * @param name a symbol of the shim
   * @return its address, or empty if the shim does not export it
   * @throws IllegalStateException if the shim is not loaded yet
   */
  static Optional<MemorySegment> find(String name) {
    SymbolLookup l = library;
    if (l == null) {
      throw new IllegalStateException("the native library libddpm4j.so is not loaded yet (" + name
          + "): io.github.ddpm4j.torch.NativeLibrary.load() loads it");
    }
    return l.find(name);
  }
}
