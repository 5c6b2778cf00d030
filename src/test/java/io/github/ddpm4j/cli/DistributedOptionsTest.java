package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.torch.ChildJvm;
import io.github.ddpm4j.torch.Device;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@link DistributedOptions} and {@link WorkerEnvironment}: which process is a launcher, a worker or alone;
 * the workers' arguments and command line; torchrun's variables read and checked, each error naming the
 * option or variable at fault.
 */
class DistributedOptionsTest {
  @Command(name = "t")
  static final class Holder {
    @Mixin DistributedOptions options;
  }

  private static DistributedOptions parse(String... args) {
    Holder h = new Holder();
    new CommandLine(h).parseArgs(args);
    return h.options;
  }

  private static String refused(Map<String, String> env, String... args) {
    return assertThrows(IllegalArgumentException.class, () -> parse(args).check(env)).getMessage();
  }

  private static final Map<String, String> WORKER = Map.of("MASTER_ADDR", "10.1.1.1", "MASTER_PORT", "1234", "RANK", "3", "WORLD_SIZE", "4",
      "LOCAL_RANK", "1", "LOCAL_WORLD_SIZE", "2");

  @Test
  void aProcessIsAloneALauncherOrAWorker() {
    DistributedOptions alone = parse();
    alone.check(Map.of());
    assertFalse(alone.launches());
    assertFalse(WorkerEnvironment.present(Map.of("MASTER_ADDR", "x")));
    DistributedOptions launcher = parse("--nproc-per-node", "2");
    launcher.check(Map.of());
    assertTrue(launcher.launches());
    assertEquals(new LocalLauncher.Plan(2, 1, 0, "127.0.0.1", 29500), launcher.plan());
    assertEquals(new LocalLauncher.Plan(1, 3, 2, "node0", 4000),
        parse("--nnodes", "3", "--node-rank", "2", "--master-addr", "node0", "--master-port", "4000").plan());
    assertTrue(WorkerEnvironment.present(WORKER));
    assertEquals(new WorkerEnvironment("10.1.1.1", 1234, 3, 4, 1, 2), WorkerEnvironment.of(WORKER));
    assertEquals("gloo", alone.backend(Device.CPU));
    assertEquals("nccl", alone.backend(Device.cuda(0)));
    assertEquals("gloo", parse("--dist-backend", "gloo").backend(Device.cuda(0)));
    assertEquals(Duration.ofSeconds(300), alone.timeout());
    assertEquals(Duration.ofSeconds(7), parse("--dist-timeout", "7").timeout());
  }

  @Test
  void contradictoryOrIncompleteOptionsAreRefusedNamingTheOption() {
    assertTrue(refused(WORKER, "--nproc-per-node", "2").contains("this process is one already (RANK=3, WORLD_SIZE=4 from torchrun"));
    assertEquals("--nnodes 2 needs --master-addr: the address of machine 0 (--node-rank 0), which every machine can reach",
        refused(Map.of(), "--nnodes", "2", "--nproc-per-node", "2"));
    assertEquals("--node-rank must be in 0..0 (--nnodes 1), got 1", refused(Map.of(), "--node-rank", "1"));
    assertEquals("--dist-backend must be gloo or nccl, got 'mpi'", refused(Map.of(), "--nproc-per-node", "2", "--dist-backend", "mpi"));
    assertEquals("--dist-timeout must be >= 1 second, got 0", refused(Map.of(), "--nproc-per-node", "2", "--dist-timeout", "0"));
    assertEquals("--dist-backend is for a run of several processes: give --nproc-per-node too, or launch with torchrun",
        refused(Map.of(), "--dist-backend", "gloo"));
    parse("--dist-timeout", "5").check(WORKER);
  }

  @Test
  void torchrunsVariablesAreCheckedNamingTheVariable() {
    Map<String, String> env = new java.util.HashMap<>(WORKER);
    env.remove("LOCAL_RANK");
    env.remove("LOCAL_WORLD_SIZE");
    env.put("RANK", "2");
    assertEquals(new WorkerEnvironment("10.1.1.1", 1234, 2, 4, 2, 4), WorkerEnvironment.of(env), "one machine unless told otherwise");
    assertEquals("RANK=4 must be in 0..3 (WORLD_SIZE=4)", bad(env, "RANK", "4"));
    assertEquals("RANK=x is not a whole number", bad(env, "RANK", "x"));
    assertEquals("WORLD_SIZE=0 must be >= 1", bad(env, "WORLD_SIZE", "0"));
    assertEquals("MASTER_PORT=0 must be a port, 1..65535", bad(env, "MASTER_PORT", "0"));
    assertEquals("LOCAL_RANK=2 must be in 0..1 (LOCAL_WORLD_SIZE=2)", bad(WORKER, "LOCAL_RANK", "2"));
    Map<String, String> noAddr = new java.util.HashMap<>(WORKER);
    noAddr.remove("MASTER_ADDR");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> WorkerEnvironment.of(noAddr)).getMessage()
        .startsWith("the environment sets RANK or WORLD_SIZE (a launched worker) but not MASTER_ADDR"));
    Map<String, String> partial = new java.util.HashMap<>(WORKER);
    partial.remove("LOCAL_RANK");
    assertTrue(assertThrows(IllegalArgumentException.class, () -> WorkerEnvironment.of(partial)).getMessage().endsWith(
        "but not LOCAL_RANK; torchrun and 'ddpm4j train --nproc-per-node' set MASTER_ADDR, MASTER_PORT, RANK and WORLD_SIZE"));
  }

  private static String bad(Map<String, String> base, String key, String value) {
    Map<String, String> env = new java.util.HashMap<>(base);
    env.put(key, value);
    return assertThrows(IllegalArgumentException.class, () -> WorkerEnvironment.of(env)).getMessage();
  }

  @Test
  void theWorkersGetTheArgumentsWithoutThePlacementOptions() {
    assertEquals(List.of("train", "--batch-size", "8", "--dist-timeout", "9", "--seed=3"), DistributedOptions.workerArgs(List.of("train",
        "--nproc-per-node", "2", "--batch-size", "8", "--nnodes=1", "--node-rank", "0", "--master-addr", "h", "--master-port=5",
        "--dist-timeout", "9", "--seed=3")));
  }

  @Test
  void theWorkersRunThisJvmsCommandWithTheirArguments() throws Exception {
    ChildJvm.Result r = ChildJvm.run(List.of(), List.of("-Xmx321m", "-Dddpm4j.test=yes"), PrintWorkerCommand.class, "train",
        "--nproc-per-node", "2", "--seed", "4");
    assertEquals(0, r.code(), r.output());
    List<String> words = List.of(r.output().strip().split("\n"));
    assertEquals(ChildJvm.java(), words.getFirst());
    assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), "-Xmx321m", "-Dddpm4j.test=yes",
        PrintWorkerCommand.class.getName(), "train", "--seed", "4"), words.subList(1, words.size()));
  }
}
