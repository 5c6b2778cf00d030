package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code ddpm4j train} does with its output folder: it never overwrites a run without
 * {@code --resume} or {@code --force}, removes the temporary files of killed writes, and writes
 * files with the mode of an ordinary file write. The model is the tiny one of {@link TrainFixtures}
 * on 20 images of 8x8.
 */
@ExtendWith(CliRunner.Threads.class)
class TrainOutputFolderTest {
  @TempDir static Path shared;
  private static Path data;

  @TempDir Path dir;

  @BeforeAll
  static void makeData() throws IOException {
    data = TrainFixtures.data(shared.resolve("data"));
  }

  static String[] train(Path data, Path out, int steps, String... more) {
    List<String> args = new ArrayList<>(List.of("train", "--data", data.toString(), "--output-dir", out.toString(), "--train-steps",
        Integer.toString(steps), "--batch-size", "8", "--image-size", "8", "--base-channels", "8", "--groups", "4",
        "--channel-mults", "1,2", "--attention", "false,true", "--timesteps", "20", "--warmup", "1", "--checkpoint-every", "2",
        "--sample-every", "2", "--samples", "4", "--sampling-steps", "3", "--no-progress", "--threads", CliRunner.THREADS));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  /** Every file below {@code root}, relative, with its bytes and modification time. */
  private static Map<String, String> snapshot(Path root) throws IOException {
    Map<String, String> out = new TreeMap<>();
    try (Stream<Path> files = Files.walk(root)) {
      for (Path p : files.filter(Files::isRegularFile).toList()) {
        out.put(root.relativize(p).toString(), Arrays.hashCode(Files.readAllBytes(p)) + "@" + Files.getLastModifiedTime(p).toMillis()
            + "/" + Files.size(p));
      }
    }
    return out;
  }

  private static List<String> names(Path folder) throws IOException {
    try (Stream<Path> s = Files.list(folder)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void aNewRunIntoAFolderThatHoldsARunIsRefusedAndChangesNothing() throws IOException {
    Path run = dir.resolve("run");
    CliRunner.ok(train(data, run, 4));
    byte[] checkpoint = Files.readAllBytes(run.resolve("checkpoint.pt"));
    String losses = Files.readString(run.resolve("loss.csv"));
    Map<String, String> before = snapshot(run);

    CliRunner.Result again = CliRunner.run(train(data, run, 2));
    assertEquals(2, again.code(), again::toString);
    for (String word : List.of(run.toString(), "already holds a run", "--resume", "--force", "another --out")) {
      assertTrue(again.err().contains(word), () -> word + " not in:\n" + again);
    }
    assertTrue(Arrays.equals(checkpoint, Files.readAllBytes(run.resolve("checkpoint.pt"))), "checkpoint.pt unchanged");
    assertEquals(losses, Files.readString(run.resolve("loss.csv")));
    assertEquals(before, snapshot(run), "nothing in the folder changed");

    Path onlyLog = Files.createDirectories(dir.resolve("only-log"));
    Files.copy(run.resolve("loss.csv"), onlyLog.resolve("loss.csv"));
    CliRunner.Result log = CliRunner.run(train(data, onlyLog, 2));
    assertEquals(2, log.code(), log::toString);
    assertTrue(log.err().contains("(loss.csv)"), log::toString);
    assertEquals(List.of("loss.csv"), names(onlyLog));

    CliRunner.Result both = CliRunner.run(train(data, run, 2, "--resume", "--force"));
    assertEquals(2, both.code(), both::toString);
    assertEquals(before, snapshot(run));
  }

  @Test
  void forceStartsOverInTheFolder() throws IOException {
    Path run = dir.resolve("run");
    CliRunner.ok(train(data, run, 4));
    Files.writeString(run.resolve("notes.txt"), "mine");
    CliRunner.Result r = CliRunner.ok(train(data, run, 2, "--force"));
    assertTrue(r.out().contains("after 2 steps"), r::toString);
    try (StateDict ck = Checkpoint.open(run.resolve("checkpoint.pt"))) {
      assertEquals(2, Checkpoint.meta(ck, "meta.step"));
    }
    assertEquals(List.of("step,loss,lr,seconds", "0", "1"),
        Files.readAllLines(run.resolve("loss.csv")).stream().map(l -> l.startsWith("step") ? l : l.split(",")[0]).toList());
    assertEquals(List.of("step-000002.png"), names(run.resolve("samples")), "the old run's grid of step 4 is gone");
    assertEquals("mine", Files.readString(run.resolve("notes.txt")));
  }

  @Test
  void startingRemovesTheTemporaryFilesOfKilledWritesAndNothingElse() throws IOException {
    Path run = dir.resolve("run");
    Path samples = Files.createDirectories(run.resolve("samples"));
    List<String> unrelated = List.of("notes.txt", ".checkpoint.pt.tmp", "x.tmp", ".loss.csv.nothex.tmp", "checkpoint.pt.1a.tmp");
    List<Path> stale = new ArrayList<>();
    for (Path folder : List.of(run, samples)) {
      for (String n : List.of(".checkpoint.pt.3f2a9c0d1e4b5a6f.tmp", ".loss.png.7.tmp", ".step-000002.png.5ca1ab1e.tmp")) {
        stale.add(Files.write(folder.resolve(n), new byte[1000]));
      }
      for (String n : unrelated) Files.write(folder.resolve(n), new byte[] {1});
    }
    CliRunner.ok(train(data, run, 2));
    for (Path p : stale) assertFalse(Files.exists(p), p + " removed");
    for (Path folder : List.of(run, samples)) {
      for (String n : unrelated) assertTrue(Files.exists(folder.resolve(n)), folder.resolve(n) + " kept");
    }

    for (Path p : stale) Files.write(p, new byte[10]);
    CliRunner.ok(train(data, run, 4, "--resume"));
    for (Path p : stale) assertFalse(Files.exists(p), p + " removed on --resume");
    for (String n : unrelated) assertTrue(Files.exists(run.resolve(n)));
  }

  /**
   * Every file that train, sample (grid and singles) and animate (GIF) write has the permission bits of a
   * file that {@code Files.write} creates in the same folder ({@code 0666 & ~umask}).
   */
  @Test
  void outputsHaveTheModeOfAnOrdinaryFileWrite() throws IOException {
    Path run = dir.resolve("run");
    CliRunner.ok(train(data, run, 2));
    Path checkpoint = run.resolve("checkpoint.pt");
    Path out = Files.createDirectories(dir.resolve("out"));
    CliRunner.ok("sample", "--checkpoint", checkpoint.toString(), "-n", "2", "--sampling-steps", "2", "--out",
        out.resolve("grid.png").toString(), "--output-dir", out.resolve("singles").toString(), "--no-progress", "--threads", CliRunner.THREADS);
    CliRunner.ok("animate", "--checkpoint", checkpoint.toString(), "--count", "1", "--every", "10", "--out",
        out.resolve("t.gif").toString(), "--threads", CliRunner.THREADS);
    List<Path> written = new ArrayList<>();
    try (Stream<Path> files = Stream.concat(Files.walk(run), Files.walk(out))) {
      files.filter(Files::isRegularFile).forEach(written::add);
    }
    List<String> names = written.stream().map(p -> dir.relativize(p).toString()).sorted().toList();
    for (String expected : List.of("run/checkpoint.pt", "run/loss.csv", "run/loss.png", "run/samples.png", "run/samples/step-000002.png",
        "out/grid.png", "out/singles/sample-0000.png", "out/t.gif")) {
      assertTrue(names.contains(expected), expected + " in " + names);
    }
    for (Path p : written) {
      Path reference = Files.write(p.resolveSibling("reference-" + System.nanoTime()), new byte[] {1});
      String want = PosixFilePermissions.toString(Files.getPosixFilePermissions(reference));
      Files.delete(reference);
      assertEquals(want, PosixFilePermissions.toString(Files.getPosixFilePermissions(p)), p.toString());
    }
  }
}
