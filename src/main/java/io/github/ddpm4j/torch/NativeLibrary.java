package io.github.ddpm4j.torch;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Loads the native shim ({@code libddpm4j.so}) once per class loader.
 *
 * <p>Search order: the system property {@code ddpm4j.library} (a file path),
 * the environment variable {@code DDPM4J_LIBRARY}, then the copy that the
 * Maven build puts on the class path under
 * {@code io/github/ddpm4j/native/linux-x86_64/}, extracted to a temporary file
 * when the class path is a jar. The shim finds LibTorch through its run path,
 * set at build time. Once loaded, the system properties
 * {@value CpuCache#LIMIT_PROPERTY} and {@value CpuCache#MAX_IDLE_PROPERTY} configure
 * the {@link CpuCache}, and {@value NativeMemory#UNSCOPED_LIMIT_PROPERTY} the bound of
 * {@link NativeMemory}.
 */
public final class NativeLibrary {
  private static final String RESOURCE = "/io/github/ddpm4j/native/linux-x86_64/libddpm4j.so";
  private static volatile boolean loaded;

  private NativeLibrary() {}

  /**
   * Loads the shim if it is not loaded yet. Safe to call from any thread, any number of times.
   *
   * @throws UnsatisfiedLinkError if no library is found, or it (or LibTorch) cannot be loaded;
   *     the message says where it looked
   * @throws IllegalArgumentException if one of those system properties is malformed
   */
  public static void load() {
    if (loaded) return;
    synchronized (NativeLibrary.class) {
      if (loaded) return;
      System.load(locate().toAbsolutePath().toString());
      loaded = true;
      CpuCache.configure();
      NativeMemory.applyProperty();
    }
  }

  /**
   * Checks the system properties that configure the library when it loads, without loading
   * it: a command line calls this first, so that a malformed value is a one-line error
   * rather than an {@link ExceptionInInitializerError} from the first class that loads it.
   *
   * @throws IllegalArgumentException {@code "system property NAME: ..."} for the first malformed property
   */
  public static void checkProperties() {
    LibraryProperties.check();
  }

  private static Path locate() {
    String prop = System.getProperty("ddpm4j.library");
    if (prop != null && !prop.isBlank()) return existing(Path.of(prop), "system property ddpm4j.library");
    String env = System.getenv("DDPM4J_LIBRARY");
    if (env != null && !env.isBlank()) return existing(Path.of(env), "environment variable DDPM4J_LIBRARY");
    var url = NativeLibrary.class.getResource(RESOURCE);
    if (url == null) {
      throw new UnsatisfiedLinkError("libddpm4j.so is not on the class path (" + RESOURCE
          + "); build it with 'mvn compile' or point -Dddpm4j.library at it");
    }
    if (url.getProtocol().equals("file")) {
      try {
        return Path.of(url.toURI());
      } catch (java.net.URISyntaxException e) {
        throw new UnsatisfiedLinkError("bad library URL " + url + ": " + e.getMessage());
      }
    }
    try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
      Path dir = Files.createTempDirectory("ddpm4j-native");
      Path lib = dir.resolve("libddpm4j.so");
      Files.copy(in, lib, StandardCopyOption.REPLACE_EXISTING);
      lib.toFile().deleteOnExit();
      dir.toFile().deleteOnExit();
      return lib;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot extract " + RESOURCE, e);
    }
  }

  private static Path existing(Path p, String source) {
    if (!Files.isRegularFile(p)) throw new UnsatisfiedLinkError(source + " names " + p + ", which is not a file");
    return p;
  }
}
