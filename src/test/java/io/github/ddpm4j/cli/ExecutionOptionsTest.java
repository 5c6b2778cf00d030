package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Precision;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** --precision, --channels-last and --cuda-graphs: what runs on this machine, and clear errors for what does not. */
@ExtendWith(CliRunner.Threads.class)
class ExecutionOptionsTest {
  @TempDir static Path dir;
  private static Path data;

  @BeforeAll
  static void makeData() throws IOException {
    data = TrainFixtures.data(dir.resolve("data"));
  }

  @Test
  void bfloat16ChannelsLastTrainingRecordsItsPrecisionAndSamplesInIt() throws IOException {
    Path run = dir.resolve("bf16");
    CliRunner.ok(TrainOutputFolderTest.train(data, run, 3, "--precision", "bf16", "--channels-last"));
    try (StateDict ck = Checkpoint.open(run.resolve("checkpoint.pt"))) {
      assertEquals(Precision.BF16, Checkpoint.config(ck).precision());
    }
    assertTrue(Files.isRegularFile(run.resolve("samples.png")));
    Path grid = dir.resolve("fp32.png");
    CliRunner.ok("sample", "--checkpoint", run.resolve("checkpoint.pt").toString(), "-n", "2", "--sampling-steps", "3",
        "--precision", "fp32", "--channels-last", "--out", grid.toString(), "--no-progress", "--threads", CliRunner.THREADS);
    assertTrue(Files.isRegularFile(grid));
  }

  @Test
  void unavailableSettingsAreUsageErrorsThatSayWhy() {
    assumeFalse(Torch.cudaIsAvailable(), "CUDA is here: fp16 and CUDA graphs are allowed");
    Path run = dir.resolve("refused");
    CliRunner.Result fp16 = CliRunner.run(TrainOutputFolderTest.train(data, run, 3, "--precision", "fp16"));
    assertEquals(2, fp16.code(), fp16::toString);
    assertTrue(fp16.err().contains("fp16 precision needs a CUDA device"), fp16.err());
    assertFalse(Files.exists(run.resolve("checkpoint.pt")), "nothing was trained");
    CliRunner.Result bad = CliRunner.run(TrainOutputFolderTest.train(data, run, 3, "--precision", "fp8"));
    assertEquals(2, bad.code(), bad::toString);
    assertTrue(bad.err().contains("precision must be fp32, bf16 or fp16, got 'fp8'"), bad.err());
    CliRunner.Result graphs = CliRunner.run("sample", "--checkpoint", dir.resolve("none.pt").toString(), "--cuda-graphs",
        "--threads", CliRunner.THREADS);
    assertEquals(2, graphs.code(), graphs::toString);
    assertTrue(graphs.err().contains("--cuda-graphs needs a CUDA device"), graphs.err());
  }
}
