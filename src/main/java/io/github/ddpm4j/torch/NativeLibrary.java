package io.github.ddpm4j.torch;

import io.github.ddpm4j.ffi.ShimLookup;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Loads the native shim ({@code libddpm4j.so}) once per class loader.
 *
 * <h2>Where the shim comes from</h2>
 * In this order:
 * <ol>
 *   <li>the file that the system property {@value #LIBRARY_PROPERTY} names;</li>
 *   <li>the file that the environment variable {@value #LIBRARY_ENV} names;</li>
 *   <li>the copy that the build puts on the class path, under
 *       {@code io/github/ddpm4j/native/linux-x86_64/}: loaded where it is when the class path is a
 *       folder, and extracted first when it is a jar. Extraction goes to a cache of one folder per
 *       ddpm4j version and library ({@code VERSION-HASH}, the hash of the library's bytes) under
 *       {@code ${XDG_CACHE_HOME:-~/.cache}/ddpm4j/native}, or under the folder that the system
 *       property {@value #NATIVE_DIR_PROPERTY} names (for a machine whose home or temporary folder
 *       is mounted {@code noexec}). A JVM that finds the file there loads it without writing; the
 *       first writes it to a temporary file and renames it into place, so several JVMs may start at
 *       once. When the default cache cannot be written, the shim goes to a folder of this user's
 *       below {@code java.io.tmpdir}.</li>
 * </ol>
 *
 * <p>The shim finds LibTorch through its run path, set at build time: the LibTorch it was built
 * against must be installed where the build found it (Debian's {@code libtorch-dev}, or the one that
 * {@code scripts/fetch-libtorch} unpacks), or {@value #LIBRARY_PROPERTY} must name a shim built
 * against the LibTorch that is installed. When loading fails, the error names the library that is
 * missing and how to install it.
 *
 * <h2>Class loaders</h2>
 * The shim is opened with {@link SymbolLookup#libraryLookup(Path, Arena)}, not {@link System#load}:
 * the JVM lets only one class loader {@code System.load} a file, while every class loader that loads
 * ddpm4j (an application server deploying it twice, or redeploying it) may open the same file, and
 * all of them then share one copy of the shim, with one count of live handles and one CPU cache.
 * The library stays loaded until the JVM exits.
 *
 * <h2>Configuration</h2>
 * Once loaded, the system properties {@value CpuCache#LIMIT_PROPERTY} and
 * {@value CpuCache#MAX_IDLE_PROPERTY} configure the {@link CpuCache}, and
 * {@value NativeMemory#UNSCOPED_LIMIT_PROPERTY} the bound of {@link NativeMemory}.
 * {@link #checkProperties()} checks all of these, and {@value #NATIVE_DIR_PROPERTY}, without loading.
 *
 * <p>Thread-safe.
 */
public final class NativeLibrary {
  /** The system property naming the shim file to load instead of the one on the class path. */
  public static final String LIBRARY_PROPERTY = "ddpm4j.library";
  /** The environment variable naming the shim file to load, when {@value #LIBRARY_PROPERTY} is not set. */
  public static final String LIBRARY_ENV = "DDPM4J_LIBRARY";
  /** The system property naming the folder that the shim is extracted into from a jar. */
  public static final String NATIVE_DIR_PROPERTY = "ddpm4j.nativeDir";

  private static final String FOLDER = "/io/github/ddpm4j/native/linux-x86_64/";
  private static final String RESOURCE = FOLDER + ExtractionCache.FILE;
  /** What the build wrote beside the library: the ddpm4j version and the LibTorch it was built against. */
  private static final String BUILD_INFO = "libddpm4j.properties";

  private static volatile Path loaded;

  private NativeLibrary() {}

  /**
   * Loads the shim if it is not loaded yet. Safe to call from any thread, any number of times.
   *
   * @throws UnsatisfiedLinkError if no library is found, it cannot be extracted, or it (or LibTorch)
   *     cannot be loaded; the message says where it looked, or which library is missing and how to
   *     install it
   * @throws IllegalArgumentException if one of the properties above is malformed
   */
  public static void load() {
    if (loaded != null) return;
    synchronized (NativeLibrary.class) {
      if (loaded != null) return;
      Located lib = locate();
      ShimLookup.bind(open(lib));
      loaded = lib.file();
      CpuCache.configure();
      NativeMemory.applyProperty();
    }
  }

  /**
   * @return the shim file this class loader loaded, loading it first if needed
   * @throws UnsatisfiedLinkError as {@link #load()}
   */
  public static Path path() {
    load();
    return loaded;
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

  /** A shim file, and what its build says about it (empty where no build information is found). */
  private record Located(Path file, Properties build) {}

  private static Located locate() {
    String prop = System.getProperty(LIBRARY_PROPERTY);
    if (prop != null && !prop.isBlank()) return given(Path.of(prop), "system property " + LIBRARY_PROPERTY);
    String env = System.getenv(LIBRARY_ENV);
    if (env != null && !env.isBlank()) return given(Path.of(env), "environment variable " + LIBRARY_ENV);
    URL url = NativeLibrary.class.getResource(RESOURCE);
    if (url == null) {
      throw new UnsatisfiedLinkError(ExtractionCache.FILE + " is not on the class path (" + RESOURCE
          + "); build it with 'mvn compile' or point -D" + LIBRARY_PROPERTY + " at it");
    }
    Properties build = resourceBuildInfo();
    if (url.getProtocol().equals("file")) {
      try {
        return new Located(Path.of(url.toURI()), build);
      } catch (URISyntaxException e) {
        throw new UnsatisfiedLinkError("bad library URL " + url + ": " + e.getMessage());
      }
    }
    byte[] bytes;
    try (InputStream in = NativeLibrary.class.getResourceAsStream(RESOURCE)) {
      if (in == null) throw new UnsatisfiedLinkError("cannot read " + url);
      bytes = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + url, e);
    }
    return new Located(ExtractionCache.extract(version(build), bytes), build);
  }

  private static Located given(Path p, String source) {
    if (!Files.isRegularFile(p)) throw new UnsatisfiedLinkError(source + " names " + p + ", which is not a file");
    Properties build = new Properties();
    Path info = p.toAbsolutePath().resolveSibling(BUILD_INFO);
    if (Files.isRegularFile(info)) {
      try (Reader r = Files.newBufferedReader(info, StandardCharsets.UTF_8)) {
        build.load(r);
      } catch (IOException | IllegalArgumentException e) {
        // only for messages: a shim without readable build information loads all the same
      }
    }
    return new Located(p, build);
  }

  private static Properties resourceBuildInfo() {
    Properties build = new Properties();
    try (InputStream in = NativeLibrary.class.getResourceAsStream(FOLDER + BUILD_INFO)) {
      if (in != null) build.load(in);
    } catch (IOException | IllegalArgumentException e) {
      // only for messages and the extraction folder's name
    }
    return build;
  }

  /** @return the ddpm4j version of the build, else of the jar's manifest, else {@code "unversioned"} */
  private static String version(Properties build) {
    String v = build.getProperty("ddpm4j.version");
    if (v == null || v.isBlank() || v.equals("unknown")) v = NativeLibrary.class.getPackage().getImplementationVersion();
    return v == null || v.isBlank() ? "unversioned" : v.strip();
  }

  /**
   * Opens the shim for this class loader's bindings.
   *
   * @throws UnsatisfiedLinkError with the dynamic linker's reason and what to do about it
   */
  private static SymbolLookup open(Located lib) {
    Path file = lib.file().toAbsolutePath();
    try {
      return SymbolLookup.libraryLookup(file, Arena.global());
    } catch (IllegalArgumentException e) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError(loadFailure(file, linkerError(file).orElse(null), lib.build()));
      error.initCause(e);
      throw error;
    }
  }

  /** The dynamic linker's words for a library it cannot find: {@code "libtorch_cpu.so: cannot open shared object file: ..."}. */
  private static final Pattern MISSING = Pattern.compile("^([^:/\\s]+): cannot open shared object file");

  /**
   * The message for a shim that the dynamic linker refused: its reason, and what to do about the
   * usual ones (a LibTorch library missing, another LibTorch found, a {@code noexec} folder).
   *
   * @param file the shim
   * @param reason the dynamic linker's words ({@code dlerror}), or null where they are unknown
   * @param build what the build says about the shim (may be empty)
   * @return the message
   */
  static String loadFailure(Path file, String reason, Properties build) {
    String why = reason == null ? "the dynamic linker refused it" : reason.strip();
    String torchVersion = build.getProperty("libtorch.version");
    String torchDir = build.getProperty("libtorch.dir");
    String builtAgainst = torchVersion == null ? "the LibTorch it was built against"
        : "LibTorch " + torchVersion + (torchDir == null ? "" : " (in " + torchDir + ")");
    StringBuilder m = new StringBuilder("cannot load the native library ").append(file).append(": ").append(why).append(". ");
    Matcher missing = MISSING.matcher(why);
    if (missing.find() && isTorchLibrary(missing.group(1))) {
      m.append(missing.group(1)).append(" is part of LibTorch: ddpm4j needs ").append(builtAgainst)
          .append(" at run time. ").append(installHint(torchVersion));
    } else if (missing.reset().find()) {
      m.append("It needs ").append(missing.group(1)).append(", which is not installed.");
    } else if (why.contains("undefined symbol")) {
      m.append("The LibTorch found at run time is not the one it was built against, ").append(builtAgainst).append(". ")
          .append(installHint(torchVersion));
    } else if (why.contains("failed to map segment")) {
      m.append("Its folder may be on a file system mounted noexec: set -D").append(NATIVE_DIR_PROPERTY)
          .append(" to a folder on one that allows executables.");
    } else {
      m.append("ddpm4j needs ").append(builtAgainst).append(" at run time. ").append(installHint(torchVersion));
    }
    return m.toString();
  }

  /** @return whether {@code name} is one of LibTorch's own libraries */
  private static boolean isTorchLibrary(String name) {
    return name.startsWith("libtorch") || name.startsWith("libc10") || name.startsWith("libshm");
  }

  /**
   * @param torchVersion the LibTorch the shim was built against, or null where unknown
   * @return how to install LibTorch, or to use a shim built for the one installed
   */
  private static String installHint(String torchVersion) {
    String debian = "on Debian, 'apt install libtorch-dev' installs LibTorch 1.13 (for a ddpm4j built with DDPM4J_LIBTORCH=debian)";
    String wheel = torchVersion == null || torchVersion.startsWith("1.") ? "2.13.0" : torchVersion;
    String fetch = "ddpm4j's 'scripts/fetch-libtorch " + wheel + "' unpacks LibTorch " + wheel
        + " from the torch wheel into ~/.cache/ddpm4j/libtorch/" + wheel + " (for a ddpm4j built with DDPM4J_LIBTORCH=" + wheel + ")";
    String order = torchVersion != null && torchVersion.startsWith("1.") ? debian + "; " + fetch : fetch + "; " + debian;
    return "To install it: " + order + ". Or point -D" + LIBRARY_PROPERTY
        + " at a libddpm4j.so built against the LibTorch that is installed.";
  }

  /**
   * Asks the dynamic linker why it refuses {@code file}: Java's library lookup says only that it
   * could not open it. Opens the file once more with {@code dlopen} and reads {@code dlerror}, in one
   * thread with no blocking call between them (both are per thread).
   *
   * @return the dynamic linker's words, or empty where they cannot be had
   */
  private static Optional<String> linkerError(Path file) {
    try {
      Linker linker = Linker.nativeLinker();
      SymbolLookup libc = linker.defaultLookup();
      Optional<MemorySegment> dlopen = libc.find("dlopen");
      Optional<MemorySegment> dlerror = libc.find("dlerror");
      Optional<MemorySegment> dlclose = libc.find("dlclose");
      if (dlopen.isEmpty() || dlerror.isEmpty() || dlclose.isEmpty()) return Optional.empty();
      MethodHandle open = linker.downcallHandle(dlopen.get(), FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
      MethodHandle error = linker.downcallHandle(dlerror.get(), FunctionDescriptor.of(ValueLayout.ADDRESS));
      MethodHandle close = linker.downcallHandle(dlclose.get(), FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
      try (Arena arena = Arena.ofConfined()) {
        int rtldLazy = 1;
        MemorySegment handle = (MemorySegment) open.invokeExact(arena.allocateFrom(file.toString()), rtldLazy);
        if (!handle.equals(MemorySegment.NULL)) {
          int ignored = (int) close.invokeExact(handle); // it opened this time: nothing to report
          return Optional.empty();
        }
        MemorySegment text = (MemorySegment) error.invokeExact();
        if (text.equals(MemorySegment.NULL)) return Optional.empty();
        return Optional.of(text.reinterpret(4096).getString(0, StandardCharsets.UTF_8));
      }
    } catch (Throwable e) {
      return Optional.empty();
    }
  }
}
