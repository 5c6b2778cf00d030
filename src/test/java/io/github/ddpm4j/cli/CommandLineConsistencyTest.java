package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The command line as one tool: the options every command shares, one meaning per option name, progress
 * and status output by the usual conventions, {@code --version}, and the completion script (run in bash).
 */
@ExtendWith(CliRunner.Threads.class)
class CommandLineConsistencyTest {
  /** Every command's options that a script may pass to any command. */
  private static final List<String> EVERYWHERE = List.of("--device", "--threads", "--seed", "--no-progress", "--quiet", "--help",
      "--version");

  /**
   * Option names whose help differs between commands, each for a stated reason: the file or folder a
   * command writes, how many images it makes, and info's optional checkpoint (without one, info describes
   * the default model).
   */
  private static final Set<String> PER_COMMAND = Set.of("--out", "--output-dir", "--count", "--checkpoint");

  /**
   * Options of one command that share a name with another command's option of another form, each for a
   * stated reason: train-classifier's training settings are those of the classifier, not of the UNet (its
   * own defaults, and {@code --data} takes only an MNIST-style directory, with labels), and evaluate's
   * {@code --images} is a folder to score where interpolate's is a pair of files.
   */
  private static final Map<String, Set<String>> OWN_FORM = Map.of(
      "train-classifier", Set.of("--data", "--batch-size", "--lr"),
      "evaluate", Set.of("--images"));

  @TempDir static Path dir;
  private static Path ck;

  @BeforeAll
  static void makeCheckpoint() throws IOException {
    ck = TrainFixtures.train(TrainFixtures.data(dir.resolve("data")), dir.resolve("run"), 1);
  }

  private static List<CommandLine> commands() {
    List<CommandLine> all = new ArrayList<>(Main.commandLine().getSubcommands().values());
    all.removeIf(c -> c.getCommandName().equals("help"));
    return all;
  }

  @Test
  void everyCommandTakesTheSharedOptions() {
    List<String> names = commands().stream().map(CommandLine::getCommandName).toList();
    assertEquals(List.of("train", "sample", "interpolate", "animate", "serve", "info", "evaluate", "train-classifier", "completion"), names);
    for (CommandLine c : commands()) {
      if (c.getCommandName().equals("completion")) continue; // prints a script: no model, no device
      for (String option : EVERYWHERE) {
        assertTrue(c.getCommandSpec().findOption(option) != null, c.getCommandName() + " lacks " + option);
      }
    }
  }

  @Test
  void anOptionMeansOneThingInEveryCommand() {
    Map<String, OptionSpec> first = new LinkedHashMap<>();
    Map<String, String> firstCommand = new LinkedHashMap<>();
    for (CommandLine c : commands()) {
      for (OptionSpec o : c.getCommandSpec().options()) {
        String name = o.longestName();
        if (PER_COMMAND.contains(name)) continue;
        if (OWN_FORM.getOrDefault(c.getCommandName(), Set.of()).contains(name)) continue;
        OptionSpec seen = first.putIfAbsent(name, o);
        firstCommand.putIfAbsent(name, c.getCommandName());
        if (seen == null) continue;
        String where = name + " in " + firstCommand.get(name) + " and " + c.getCommandName();
        assertEquals(Arrays.asList(seen.names()), Arrays.asList(o.names()), where);
        assertEquals(Arrays.asList(seen.description()), Arrays.asList(o.description()), where);
        assertEquals(seen.defaultValue(), o.defaultValue(), where);
        assertEquals(seen.paramLabel(), o.paramLabel(), where);
        assertEquals(seen.type(), o.type(), where);
      }
    }
    // The sampler and execution options are shared, not only the common ones.
    for (String shared : List.of("--sampler", "--sampling-steps", "--eta", "--precision", "--channels-last", "--cuda-graphs")) {
      for (String command : List.of("train", "sample", "animate")) {
        assertTrue(Main.commandLine().getSubcommands().get(command).getCommandSpec().findOption(shared) != null, command + " " + shared);
      }
    }
  }

  private static String[] sample(String... more) {
    List<String> args = new ArrayList<>(List.of("sample", "--checkpoint", ck.toString(), "-n", "2", "--sampling-steps", "40",
        "--threads", CliRunner.THREADS, "--out", dir.resolve("grid-" + System.nanoTime() + ".png").toString()));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  @Test
  void progressGoesToStandardErrorAsLinesWhenItIsNotATerminal() {
    CliRunner.Result r = CliRunner.ok(sample());
    assertFalse(r.err().contains("\r"), r::toString);
    String[] lines = r.err().strip().split("\n");
    assertTrue(lines.length >= 2 && lines.length <= 100 / io.github.ddpm4j.console.ConsoleProgress.LINE_PERCENT + 2, r::toString);
    for (String line : lines) assertTrue(line.matches("sample +\\d+% \\[.*\\] +\\d+/40 it \\(.*\\).*it/s"), () -> line + "\n" + r);
    assertTrue(lines[lines.length - 1].startsWith("sample 100%"), r::toString);
    assertTrue(r.out().startsWith("ddpm4j: wrote "), r::toString);
    assertEquals(1, r.out().strip().split("\n").length, r::toString);
  }

  @Test
  void noProgressKeepsTheStatusLineAndQuietPrintsNothing() {
    CliRunner.Result plain = CliRunner.ok(sample("--no-progress"));
    assertEquals("", plain.err(), plain::toString);
    assertTrue(plain.out().startsWith("ddpm4j: wrote "), plain::toString);
    for (String[] args : List.of(sample("--quiet"), sample("-q"),
        new String[] {"animate", "--checkpoint", ck.toString(), "--every", "25", "--threads", CliRunner.THREADS, "-q", "--out",
            dir.resolve("q.gif").toString()},
        new String[] {"interpolate", "--checkpoint", ck.toString(), "--indices", "0,1", "--t", "3", "--frames", "2", "--threads",
            CliRunner.THREADS, "--quiet", "--out", dir.resolve("q.png").toString()})) {
      CliRunner.Result quiet = CliRunner.ok(args);
      assertEquals("", quiet.out(), quiet::toString);
      assertEquals("", quiet.err(), quiet::toString);
    }
    assertTrue(Files.exists(dir.resolve("q.gif")) && Files.exists(dir.resolve("q.png")));
  }

  @Test
  void errorsGoToStandardError() {
    CliRunner.Result r = CliRunner.run("sample", "--checkpoint", dir.resolve("absent.pt").toString(), "--quiet");
    assertEquals(1, r.code(), r::toString);
    assertEquals("", r.out(), r::toString);
    assertTrue(r.err().startsWith("ddpm4j sample: " + dir.resolve("absent.pt")), r::toString);
  }

  @Test
  void versionNamesDdpm4jLibTorchItsBuildAndTheJdk() {
    CliRunner.Result r = CliRunner.ok("--version");
    String[] lines = r.out().strip().split("\n");
    assertEquals(3, lines.length, r::toString);
    assertTrue(lines[0].startsWith("ddpm4j "), r::toString);
    Torch.Build b = Torch.build();
    assertTrue(lines[1].startsWith("LibTorch " + Torch.version() + " (" + (b.cuda() ? "CUDA" : "CPU") + " build, BLAS: " + b.blas()),
        r::toString);
    assertTrue(lines[2].startsWith("JDK " + Runtime.version() + " ("), r::toString);
  }

  @Test
  void theCompletionScriptNamesEveryCommandAndCompletesInBash() throws Exception {
    CliRunner.Result r = CliRunner.ok("completion");
    for (CommandLine c : commands()) {
      assertTrue(r.out().contains(c.getCommandName()), () -> c.getCommandName() + " missing from the completion script");
      CommandSpec spec = c.getCommandSpec();
      for (OptionSpec o : spec.options()) {
        if (!o.hidden()) assertTrue(r.out().contains(o.longestName()), c.getCommandName() + " " + o.longestName());
      }
    }
    Path script = Files.writeString(dir.resolve("ddpm4j-completion.bash"), r.out());
    assertEquals(List.of("train", "train-classifier"), complete(script, "ddpm4j", "tr"));
    assertEquals(List.of("evaluate"), complete(script, "ddpm4j", "ev"));
    assertEquals(List.of("--sampler", "--sampling-steps"), complete(script, "ddpm4j", "sample", "--sampl"));
    assertEquals(List.of("ancestral", "ddim", "dpm-solver++"), complete(script, "ddpm4j", "animate", "--sampler", ""));
  }

  /** @return what bash's completion offers for the words, the last one being completed, sorted */
  private static List<String> complete(Path script, String... words) throws Exception {
    StringBuilder array = new StringBuilder();
    for (String w : words) array.append(" '").append(w).append('\'');
    String program = "source '" + script + "'\nCOMP_WORDS=(" + array + ")\nCOMP_CWORD=" + (words.length - 1)
        + "\nCOMP_LINE=\"${COMP_WORDS[*]}\"\nCOMP_POINT=${#COMP_LINE}\n_complete_ddpm4j\nprintf '%s\\n' \"${COMPREPLY[@]}\" | sort\n";
    // Outside a real completion, bash's compopt complains on stderr; the candidates are on stdout.
    Process p = new ProcessBuilder("bash", "-c", program).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out.strip().isEmpty() ? List.of() : Arrays.stream(out.strip().split("\n")).map(String::strip).toList();
  }
}
