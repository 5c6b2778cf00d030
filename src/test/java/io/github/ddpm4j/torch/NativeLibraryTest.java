package io.github.ddpm4j.torch;

import static org.junit.jupiter.api.Assertions.*;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the shim is found, extracted and loaded: class loaders, the extraction cache, and the errors. */
class NativeLibraryTest {
  private static final String FOLDER = "io/github/ddpm4j/native/linux-x86_64/";
  private static final int JVMS = 4;

  @TempDir Path dir;

  /**
   * Several JVMs that start at once on an empty cache folder, with the shim in a jar: each loads it,
   * all load the same file, named by the version and the library's hash, and it holds the jar's
   * bytes; no temporary file is left. A later JVM loads that file without writing it again, and a
   * file that was overwritten is replaced.
   */
  @Test
  void jvmsStartingAtOnceShareOneExtractedCopy() throws Exception {
    Path jar = shimJar();
    Path cache = dir.resolve("cache");
    long startAt = System.currentTimeMillis() + 2000;
    List<CompletableFuture<ChildJvm.Result>> children = new ArrayList<>();
    for (int i = 0; i < JVMS; i++) children.add(CompletableFuture.supplyAsync(() -> load(jar, cache, startAt)));
    Path library = null;
    for (CompletableFuture<ChildJvm.Result> child : children) {
      ChildJvm.Result r = child.join();
      assertEquals(0, r.code(), r.output());
      assertEquals(3, ChildJvm.value(r, "sum"), r.output());
      Path loaded = Path.of(text(r, "library"));
      if (library == null) library = loaded;
      assertEquals(library, loaded, "every JVM loads the one copy");
    }
    byte[] shim = Files.readAllBytes(shimFile());
    assertEquals(cache.resolve(ExtractionCache.folderName("0.1.0-SNAPSHOT", shim)).resolve("libddpm4j.so"), library);
    assertTrue(library.getParent().getFileName().toString().matches("0\\.1\\.0-SNAPSHOT-[0-9a-f]{16}"), library.toString());
    assertArrayEquals(shim, Files.readAllBytes(library));
    try (Stream<Path> files = Files.list(library.getParent())) {
      assertEquals(List.of(library), files.toList(), "no temporary file is left");
    }

    FileTime written = FileTime.from(Instant.parse("2020-01-01T00:00:00Z"));
    Files.setLastModifiedTime(library, written);
    ChildJvm.Result warm = load(jar, cache, 0);
    assertEquals(0, warm.code(), warm.output());
    assertEquals(written, Files.getLastModifiedTime(library), "a warm cache is not written again");

    Files.write(library, new byte[] {1, 2, 3});
    ChildJvm.Result repaired = load(jar, cache, 0);
    assertEquals(0, repaired.code(), repaired.output());
    assertArrayEquals(shim, Files.readAllBytes(library), "a file with other bytes is replaced");
  }

  /**
   * Where the user's cache folder cannot be written (a home folder that cannot be created here), the
   * shim goes to a folder of this user's below the temporary folder, which only its owner may write;
   * such a folder that others may write is refused, and the error names every folder tried.
   */
  @Test
  void withoutAWritableCacheTheShimGoesToAPrivateTemporaryFolder() throws Exception {
    Path jar = shimJar();
    Path tmp = Files.createDirectories(dir.resolve("tmp"));
    ChildJvm.Result r = loadWithoutCache(jar, tmp);
    assertEquals(0, r.code(), r.output());
    Path fallback = tmp.resolve("ddpm4j-native-" + System.getProperty("user.name"));
    assertTrue(Path.of(text(r, "library")).startsWith(fallback), r.output());
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fallback)));

    Path shared = Files.createDirectories(dir.resolve("shared-tmp"));
    Path open = Files.createDirectory(shared.resolve(fallback.getFileName()));
    Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
    ChildJvm.Result refused = loadWithoutCache(jar, shared);
    assertEquals(3, refused.code(), refused.output());
    String error = text(refused, "error");
    assertTrue(error.startsWith("cannot extract libddpm4j.so into /proc/ddpm4j-no-home/.cache/ddpm4j/native ("), error);
    assertTrue(error.contains(open + " (" + open + ": writable by other users)"), error);
    assertTrue(error.contains("set -Dddpm4j.nativeDir"), error);
  }

  /** Runs {@link LibraryLoad} with no usable cache folder (no XDG_CACHE_HOME, a home that cannot exist) and {@code tmp} as java.io.tmpdir. */
  private static ChildJvm.Result loadWithoutCache(Path jar, Path tmp) throws Exception {
    return ChildJvm.run(List.of("env", "-u", "XDG_CACHE_HOME"), List.of("-cp", jar + File.pathSeparator + System.getProperty("java.class.path"),
        "-Duser.home=/proc/ddpm4j-no-home", "-Djava.io.tmpdir=" + tmp), LibraryLoad.class);
  }

  /**
   * A shim whose LibTorch is not installed: the error names the missing library and how to install
   * LibTorch. The stand-in shim links a stub {@code libtorch_cpu} that is deleted before the load.
   */
  @Test
  void aMissingLibTorchIsNamedWithHowToInstallIt() throws Exception {
    Path stubDir = Files.createDirectories(dir.resolve("stub"));
    Path stub = stubDir.resolve("libtorch_cpu.so");
    // a soname that no installed LibTorch has, so that the dynamic linker finds none
    gcc(dir, "int dd_stub(void) { return 1; }", "-shared", "-fPIC", "-Wl,-soname,libtorch_cpu.so.99", "-o", stub.toString());
    Path shim = dir.resolve("libddpm4j.so");
    gcc(dir, "int dd_stub(void); int dd_probe(void) { return dd_stub(); }", "-shared", "-fPIC", "-o", shim.toString(),
        "-L" + stubDir, "-ltorch_cpu");
    Files.delete(stub);
    Files.writeString(dir.resolve("libddpm4j.properties"), "libtorch.version=2.13.0\nlibtorch.dir=/opt/libtorch/lib\n");

    ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-Dddpm4j.library=" + shim), LibraryLoad.class);
    assertEquals(3, r.code(), r.output());
    String error = text(r, "error");
    assertTrue(error.contains(shim.toString()), error);
    assertTrue(error.contains("libtorch_cpu.so.99: cannot open shared object file"), error);
    assertTrue(error.contains("LibTorch 2.13.0 (in /opt/libtorch/lib)"), error);
    assertTrue(error.contains("apt install libtorch-dev"), error);
    assertTrue(error.contains("scripts/fetch-libtorch 2.13.0"), error);
    assertTrue(error.contains("-Dddpm4j.library"), error);
  }

  /** The dynamic linker's other usual reasons get their own advice; a LibTorch 1.13 shim points at Debian's package first. */
  @Test
  void theLinkersReasonsGetTheirAdvice() {
    Path shim = Path.of("/opt/app/libddpm4j.so");
    Properties debian = new Properties();
    debian.setProperty("libtorch.version", "1.13.0");
    debian.setProperty("libtorch.dir", "/usr/lib/x86_64-linux-gnu");
    String undefined = NativeLibrary.loadFailure(shim, "/opt/app/libddpm4j.so: undefined symbol: _ZN3c104impl3cow11cow_deleterEPv", debian);
    assertTrue(undefined.contains("not the one it was built against, LibTorch 1.13.0 (in /usr/lib/x86_64-linux-gnu)"), undefined);
    assertTrue(undefined.indexOf("apt install libtorch-dev") < undefined.indexOf("scripts/fetch-libtorch 2.13.0"), undefined);
    String noexec = NativeLibrary.loadFailure(shim, "/opt/app/libddpm4j.so: failed to map segment from shared object", new Properties());
    assertTrue(noexec.contains("mounted noexec: set -Dddpm4j.nativeDir"), noexec);
    String other = NativeLibrary.loadFailure(shim, "libgomp.so.1: cannot open shared object file: No such file or directory", debian);
    assertTrue(other.endsWith("It needs libgomp.so.1, which is not installed."), other);
    String unknown = NativeLibrary.loadFailure(shim, null, new Properties());
    assertTrue(unknown.startsWith("cannot load the native library /opt/app/libddpm4j.so: the dynamic linker refused it. ddpm4j needs "
        + "the LibTorch it was built against at run time."), unknown);
  }

  /** Runs {@link LibraryLoad} with {@code jar} first on the class path and {@code cache} as the extraction folder. */
  private static ChildJvm.Result load(Path jar, Path cache, long startAt) {
    try {
      return ChildJvm.run(List.of(), List.of("-cp", jar + File.pathSeparator + System.getProperty("java.class.path"),
          "-D" + NativeLibrary.NATIVE_DIR_PROPERTY + "=" + cache), LibraryLoad.class, Long.toString(startAt));
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  /** @return the shim the build put on the class path (a folder in this build) */
  private static Path shimFile() throws Exception {
    URL url = NativeLibrary.class.getResource("/" + FOLDER + "libddpm4j.so");
    assumeTrue(url != null && url.getProtocol().equals("file"), "the shim is not a file on the class path: " + url);
    return Path.of(url.toURI());
  }

  /** @return a jar that holds the shim and its build information, as the library's jar does */
  private Path shimJar() throws Exception {
    Path shim = shimFile();
    Path jar = dir.resolve("shim.jar");
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out)) {
      for (Path f : List.of(shim, shim.resolveSibling("libddpm4j.properties"))) {
        j.putNextEntry(new JarEntry(FOLDER + f.getFileName()));
        Files.copy(f, j);
        j.closeEntry();
      }
    }
    return jar;
  }

  private static void gcc(Path dir, String source, String... args) throws Exception {
    Path c = Files.createTempFile(dir, "src", ".c");
    Files.writeString(c, source);
    List<String> cmd = new ArrayList<>(List.of("gcc"));
    cmd.addAll(List.of(args));
    cmd.add(c.toString());
    // the library comes last: with --as-needed, a library named before the code that uses it is dropped
    if (cmd.contains("-ltorch_cpu")) {
      cmd.remove("-ltorch_cpu");
      cmd.add("-ltorch_cpu");
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), cmd + "\n" + out);
  }

  /** @return the text after {@code key=} on its line of the output */
  private static String text(ChildJvm.Result r, String key) {
    for (String line : r.output().split("\n")) {
      if (line.startsWith(key + "=")) return line.substring(key.length() + 1).strip();
    }
    throw new AssertionError("no " + key + " in the child's output:\n" + r.output());
  }
  /**
   * An application server that deploys the library twice (or redeploys it) loads its classes in
   * class loaders of their own. Both load the one shim, which the process shares: a tensor that
   * one holds counts in the other's live handles.
   */
  @Test
  void twoClassLoadersShareOneShim() throws Exception {
    long base = Torch.liveHandles();
    try (URLClassLoader a = isolated(); URLClassLoader b = isolated()) {
      long[] heldByA = (long[]) probe(a, "hold");
      assertEquals(8, heldByA[0], "sum of [2, 2, 2, 2] in loader A");
      assertEquals(base + 1, heldByA[1], "A's tensor is live");
      assertEquals(base + 1, (long) probe(b, "liveHandles"), "loader B sees A's tensor: one shim");
      long[] heldByB = (long[]) probe(b, "hold");
      assertEquals(8, heldByB[0]);
      assertEquals(base + 2, heldByB[1]);
      assertEquals(base + 1, (long) probe(a, "release"));
      assertEquals(base, (long) probe(b, "release"));
      assertEquals(base, Torch.liveHandles());
    }
  }

  /** @return a class loader over the test class path whose parent is the platform class loader */
  private static URLClassLoader isolated() throws Exception {
    List<URL> urls = new ArrayList<>();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      if (!entry.isBlank()) urls.add(Path.of(entry).toUri().toURL());
    }
    return new URLClassLoader("isolated", urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
  }

  private static Object probe(ClassLoader loader, String method) throws Exception {
    Class<?> probe = Class.forName(LoaderProbe.class.getName(), true, loader);
    assertNotSame(LoaderProbe.class, probe, "loaded by the isolated loader");
    Method m = probe.getMethod(method);
    try {
      return m.invoke(null);
    } catch (java.lang.reflect.InvocationTargetException e) {
      throw new AssertionError(method + " in " + loader.getName() + ": " + e.getCause(), e.getCause());
    }
  }
}
