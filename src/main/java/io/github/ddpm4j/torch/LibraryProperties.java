package io.github.ddpm4j.torch;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * The {@code ddpm4j.*} system properties that configure the native library when it loads
 * ({@link CpuCache#LIMIT_PROPERTY}, {@link CpuCache#MAX_IDLE_PROPERTY},
 * {@link NativeMemory#UNSCOPED_LIMIT_PROPERTY}) and where it is extracted to
 * ({@link NativeLibrary#NATIVE_DIR_PROPERTY}), and the parsing of their values. This
 * class loads nothing native, so a command line can check the properties before it
 * touches LibTorch.
 */
final class LibraryProperties {
  private LibraryProperties() {}

  /**
   * Parses every property that is set.
   *
   * @throws IllegalArgumentException {@code "system property NAME: ..."} for the first malformed one
   */
  static void check() {
    size(CpuCache.LIMIT_PROPERTY);
    duration(CpuCache.MAX_IDLE_PROPERTY);
    size(NativeMemory.UNSCOPED_LIMIT_PROPERTY);
    folder(NativeLibrary.NATIVE_DIR_PROPERTY);
  }

  /**
   * @param property a folder property
   * @return its value as a path (which need not exist yet), or {@code null} when it is not set
   * @throws IllegalArgumentException naming the property if its value is not a path, or names something
   *     that exists and is not a folder
   */
  static Path folder(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) return null;
    Path p;
    try {
      p = Path.of(value.strip());
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("system property " + property + ": not a path: '" + value + "'", e);
    }
    if (Files.exists(p) && !Files.isDirectory(p)) {
      throw new IllegalArgumentException("system property " + property + ": " + p + " exists and is not a folder");
    }
    return p;
  }

  /**
   * @param property a size property
   * @return its value in bytes, or -1 when it is not set
   * @throws IllegalArgumentException naming the property if its value is not a size
   */
  static long size(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) return -1;
    try {
      return parseSize(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("system property " + property + ": " + e.getMessage(), e);
    }
  }

  /**
   * @param property a duration property
   * @return its value, or {@code null} when it is not set
   * @throws IllegalArgumentException naming the property if its value is not a duration
   */
  static Duration duration(String property) {
    String value = System.getProperty(property);
    if (value == null || value.isBlank()) return null;
    try {
      return parseDuration(value);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("system property " + property + ": " + e.getMessage(), e);
    }
  }

  /** {@link CpuCache#parseDuration}. */
  static Duration parseDuration(String text) {
    String s = text.strip().toLowerCase(Locale.ROOT);
    String digits = s;
    java.time.temporal.ChronoUnit unit = java.time.temporal.ChronoUnit.MILLIS;
    if (s.endsWith("ms")) {
      digits = s.substring(0, s.length() - 2);
    } else if (s.endsWith("s")) {
      digits = s.substring(0, s.length() - 1);
      unit = java.time.temporal.ChronoUnit.SECONDS;
    } else if (s.endsWith("m")) {
      digits = s.substring(0, s.length() - 1);
      unit = java.time.temporal.ChronoUnit.MINUTES;
    }
    long value;
    try {
      value = Long.parseLong(digits.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a duration (e.g. 500ms, 5s, 2m): '" + text + "'");
    }
    if (value < 0) throw new IllegalArgumentException("duration must be >= 0, got '" + text + "'");
    try {
      return Duration.of(value, unit);
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("duration overflows: '" + text + "'");
    }
  }

  /** {@link CpuCache#parseSize}. */
  static long parseSize(String text) {
    String s = text.strip().toLowerCase(Locale.ROOT);
    int shift = 0;
    if (!s.isEmpty()) {
      switch (s.charAt(s.length() - 1)) {
        case 'k' -> shift = 10;
        case 'm' -> shift = 20;
        case 'g' -> shift = 30;
        default -> { }
      }
    }
    String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
    long value;
    try {
      value = Long.parseLong(digits);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("not a size in bytes (e.g. 1073741824, 512m, 2g): '" + text + "'");
    }
    if (value < 0) throw new IllegalArgumentException("size must be >= 0, got '" + text + "'");
    if (value > (Long.MAX_VALUE >> shift)) throw new IllegalArgumentException("size overflows: '" + text + "'");
    return value << shift;
  }
}
