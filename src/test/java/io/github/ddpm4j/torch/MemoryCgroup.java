package io.github.ddpm4j.torch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Creates a child memory cgroup (v1 or v2) with a limit, under the cgroup this JVM
 * runs in, for tests that need a container's memory limit. Needs root.
 */
final class MemoryCgroup {
  private MemoryCgroup() {}

  /** @return the new cgroup's folder, or null when none can be created here */
  static Path create(long limitBytes) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
        String[] f = line.split(":", 3);
        if (f.length < 3) continue;
        Path dir = null;
        String limitFile = null;
        if (List.of(f[1].split(",")).contains("memory")) {
          dir = mountPoint("cgroup", "memory");
          limitFile = "memory.limit_in_bytes";
        } else if (f[0].equals("0") && f[1].isEmpty()) {
          dir = mountPoint("cgroup2", null);
          limitFile = "memory.max";
        }
        if (dir == null) continue;
        Path parent = dir.resolve(f[2].substring(1));
        Path child = parent.resolve("ddpm4j-test-" + ProcessHandle.current().pid());
        try {
          Files.createDirectories(child);
          Files.writeString(child.resolve(limitFile), Long.toString(limitBytes));
          if (Long.parseLong(Files.readString(child.resolve(limitFile)).strip()) == limitBytes) return child;
        } catch (IOException | RuntimeException e) {
          // this hierarchy does not allow it: try the next
        }
        remove(child);
      }
    } catch (IOException e) {
      return null;
    }
    return null;
  }

  /** @return the words that start a command inside the cgroup: a shell that moves itself into it, then execs */
  static List<String> join(Path cgroup) {
    return List.of("sh", "-c", "echo $$ > '" + cgroup.resolve("cgroup.procs") + "' && exec \"$@\"", "sh");
  }

  static void remove(Path cgroup) {
    try {
      Files.deleteIfExists(cgroup);
    } catch (IOException e) {
      // left for the system; it is empty once the child exits
    }
  }

  private static Path mountPoint(String type, String option) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
      String[] halves = line.split(" - ", 2);
      if (halves.length < 2) continue;
      String[] after = halves[1].split(" ");
      String[] before = halves[0].split(" ");
      if (after[0].equals(type) && (option == null || List.of(after[after.length - 1].split(",")).contains(option))) {
        return Path.of(before[4]);
      }
    }
    return null;
  }
}
