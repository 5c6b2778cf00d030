package io.github.ddpm4j.torch;

import io.github.ddpm4j.io.FileErrors;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Where the shim inside a jar is extracted so that the dynamic linker can open it: one folder per
 * ddpm4j version and library, named {@code VERSION-HASH} (the first 16 hex digits of the SHA-256 of
 * the library's bytes), under {@code ${XDG_CACHE_HOME:-~/.cache}/ddpm4j/native}, or under the
 * folder that the system property {@value NativeLibrary#NATIVE_DIR_PROPERTY} names.
 *
 * <p>A JVM that finds the file there with the same bytes loads it as it is; the first one writes it.
 * Several JVMs may start at once on an empty folder: each writes a temporary file of its own in the
 * version's folder and renames it into place (an atomic replace), so that no JVM ever opens a file
 * that another is still writing, and whichever rename comes last leaves the same bytes. A file with
 * other bytes (cut short, overwritten) is replaced the same way. Temporary files older than an hour
 * (a JVM killed while writing) are removed.
 *
 * <p>Without the property, when the cache folder cannot be written (a read-only home), the shim goes
 * to {@code ${java.io.tmpdir}/ddpm4j-native-USER} instead, a folder that only its owner may write.
 *
 * <p>Stateless and thread-safe; the class loader's lock in {@link NativeLibrary#load()} serialises
 * its use within one class loader, and the file system's rename between processes and loaders.
 */
final class ExtractionCache {
  /** The file name of the shim inside the version's folder. */
  static final String FILE = "libddpm4j.so";
  private static final Duration STALE = Duration.ofHours(1);
  private static final String TEMP_SUFFIX = ".tmp";

  private ExtractionCache() {}

  /**
   * @return the folders to try, in order: the property's alone when it is set; else the user's cache
   *     folder, then the fallback below {@code java.io.tmpdir}
   * @throws IllegalArgumentException if the property is set and is not a folder
   */
  static List<Path> roots() {
    Path chosen = LibraryProperties.folder(NativeLibrary.NATIVE_DIR_PROPERTY);
    if (chosen != null) return List.of(chosen);
    List<Path> roots = new ArrayList<>();
    String xdg = System.getenv("XDG_CACHE_HOME");
    if (xdg != null && !xdg.isBlank() && Path.of(xdg).isAbsolute()) {
      roots.add(Path.of(xdg, "ddpm4j", "native"));
    } else {
      String home = System.getProperty("user.home");
      if (home != null && !home.isBlank() && !home.equals("?")) roots.add(Path.of(home, ".cache", "ddpm4j", "native"));
    }
    roots.add(Path.of(System.getProperty("java.io.tmpdir"), "ddpm4j-native-" + System.getProperty("user.name", "user")));
    return roots;
  }

  /**
   * @param version the ddpm4j version the library belongs to
   * @param bytes the library
   * @return the name of the library's folder: the version (made safe for a file name) and a hash of the bytes
   */
  static String folderName(String version, byte[] bytes) {
    String safe = version.replaceAll("[^A-Za-z0-9._+-]", "_");
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
      return safe + "-" + HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }

  /**
   * Puts the library into the first root that takes it.
   *
   * @param version the ddpm4j version
   * @param bytes the library's bytes
   * @return the extracted file, holding exactly {@code bytes}
   * @throws UnsatisfiedLinkError naming every folder tried and why it failed
   */
  static Path extract(String version, byte[] bytes) {
    String name = folderName(version, bytes);
    List<Path> roots = roots();
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < roots.size(); i++) {
      Path root = roots.get(i);
      boolean fallback = i > 0;
      try {
        if (fallback) privateFolder(root);
        return into(root.resolve(name), bytes);
      } catch (IOException | SecurityException | UnsupportedOperationException e) {
        failures.add(root + " (" + FileErrors.message(e) + ")");
      }
    }
    throw new UnsatisfiedLinkError("cannot extract " + FILE + " into " + String.join(", nor into ", failures)
        + ": set -D" + NativeLibrary.NATIVE_DIR_PROPERTY + " to a folder that this user may write, on a file system"
        + " that allows executables (not mounted noexec)");
  }

  /**
   * Makes {@code dir} hold exactly {@code bytes} as {@value #FILE}: leaves an equal file alone,
   * else writes a temporary file beside it and renames it into place.
   *
   * @return the file
   * @throws IOException if the folder or the file cannot be written
   */
  static Path into(Path dir, byte[] bytes) throws IOException {
    Path lib = dir.resolve(FILE);
    if (holds(lib, bytes)) return lib;
    Files.createDirectories(dir);
    removeStaleTemporaries(dir);
    Path tmp = Files.createTempFile(dir, FILE + ".", TEMP_SUFFIX);
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining()) ch.write(buf);
        ch.force(true);
      }
      try {
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      } catch (UnsupportedOperationException notPosix) {
        // the file system has no POSIX modes; the library needs none
      }
      Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return lib;
  }

  /** @return whether {@code lib} exists and holds exactly {@code bytes} */
  static boolean holds(Path lib, byte[] bytes) throws IOException {
    try {
      return Files.size(lib) == bytes.length && Arrays.equals(Files.readAllBytes(lib), bytes);
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /** Removes the temporary files of writes that died (older than an hour); others may be in progress. */
  private static void removeStaleTemporaries(Path dir) throws IOException {
    Instant before = Instant.now().minus(STALE);
    try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, FILE + ".*" + TEMP_SUFFIX)) {
      for (Path t : temps) {
        try {
          if (Files.getLastModifiedTime(t, LinkOption.NOFOLLOW_LINKS).compareTo(FileTime.from(before)) < 0) Files.deleteIfExists(t);
        } catch (IOException e) {
          // gone already, or another JVM's: leave it
        }
      }
    }
  }

  /**
   * Creates the fallback folder (below a temporary folder that every user may write) for this user
   * alone, or checks that an existing one belongs to this user and that no one else may write it:
   * another user's folder could hand this JVM a library of theirs.
   *
   * @throws IOException if it cannot be created, or is not this user's alone
   */
  private static void privateFolder(Path root) throws IOException {
    Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rwx------");
    try {
      Files.createDirectory(root, PosixFilePermissions.asFileAttribute(ownerOnly));
    } catch (FileAlreadyExistsException exists) {
      if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) throw new IOException("not a folder");
    }
    UserPrincipal me = root.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(System.getProperty("user.name"));
    if (!Files.getOwner(root, LinkOption.NOFOLLOW_LINKS).equals(me)) throw new AccessDeniedException(root.toString(), null, "owned by another user");
    Set<PosixFilePermission> modes = Files.getPosixFilePermissions(root, LinkOption.NOFOLLOW_LINKS);
    if (modes.contains(PosixFilePermission.GROUP_WRITE) || modes.contains(PosixFilePermission.OTHERS_WRITE)) {
      throw new AccessDeniedException(root.toString(), null, "writable by other users");
    }
  }
}
