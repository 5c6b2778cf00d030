package io.github.ddpm4j.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.Checkpoint;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two hosts: two network namespaces joined by a veth pair (10.231.0.1 and 10.231.0.2), one
 * {@code ddpm4j train} worker in each, as on two machines (rank 0's store and Gloo on the veth
 * addresses, {@code GLOO_SOCKET_IFNAME} naming each side's interface). The run matches the same two
 * workers on loopback. Namespaces need root (and iproute2); without them the test is skipped.
 */
@ExtendWith(CliRunner.Threads.class)
class TwoHostsTest {
  @TempDir Path dir;
  private final String id = Long.toString(ProcessHandle.current().pid() % 100_000) + "x" + Long.toString(System.nanoTime() % 1000);
  private final String nsA = "ddpm4j-a-" + id, nsB = "ddpm4j-b-" + id;
  private final String vethA = "dda" + id, vethB = "ddb" + id;
  private boolean made;

  /** Runs a command, returning its exit code and output. */
  private static String[] sh(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return new String[] {"timeout", out};
    }
    return new String[] {Integer.toString(p.exitValue()), out};
  }

  private static void ip(String... args) throws IOException, InterruptedException {
    List<String> c = new ArrayList<>(List.of("ip"));
    c.addAll(List.of(args));
    String[] r = sh(c);
    assertEquals("0", r[0], () -> String.join(" ", c) + ": " + r[1]);
  }

  /** Makes the two namespaces and the veth pair, or skips the test saying why it cannot. */
  private void makeHosts() throws IOException, InterruptedException {
    String[] who = sh(List.of("id", "-u"));
    assumeTrue(who[1].strip().equals("0"), "network namespaces need root; this test runs as uid " + who[1].strip());
    String[] add;
    try {
      add = sh(List.of("ip", "netns", "add", nsA));
    } catch (IOException e) {
      assumeTrue(false, "no 'ip' command (iproute2): " + e.getMessage());
      return;
    }
    assumeTrue(add[0].equals("0"), "cannot make a network namespace: " + add[1]);
    made = true;
    ip("netns", "add", nsB);
    ip("link", "add", vethA, "type", "veth", "peer", "name", vethB);
    ip("link", "set", vethA, "netns", nsA);
    ip("link", "set", vethB, "netns", nsB);
    ip("-n", nsA, "addr", "add", "10.231.0.1/24", "dev", vethA);
    ip("-n", nsB, "addr", "add", "10.231.0.2/24", "dev", vethB);
    for (String[] side : new String[][] {{nsA, vethA}, {nsB, vethB}}) {
      ip("-n", side[0], "link", "set", "lo", "up");
      ip("-n", side[0], "link", "set", side[1], "up");
    }
  }

  @AfterEach
  void removeHosts() throws IOException, InterruptedException {
    if (!made) return;
    sh(List.of("ip", "netns", "del", nsA)); // takes the veth pair with it
    sh(List.of("ip", "netns", "del", nsB));
  }

  /** Starts {@code bin/ddpm4j train} for 3 steps after {@code prefix} (empty, or {@code ip netns exec NS}), as rank {@code rank} of 2. */
  private static Process worker(List<String> prefix, String masterAddr, int port, int rank, Map<String, String> env, Path out, Path data,
      Path log) throws IOException {
    List<String> command = new ArrayList<>(prefix);
    command.add(Path.of("bin", "ddpm4j").toAbsolutePath().toString());
    command.addAll(List.of(TrainOutputFolderTest.train(data, out, 3)));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("DDPM4J_CLASSPATH", System.getProperty("java.class.path"));
    pb.environment().putAll(Map.of("MASTER_ADDR", masterAddr, "MASTER_PORT", Integer.toString(port), "RANK", Integer.toString(rank),
        "WORLD_SIZE", "2"));
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Rank {@code rank} in namespace {@code ns}, Gloo on {@code iface}. */
  private Process onHost(String ns, String iface, int rank, Path out, Path data, Path log) throws IOException {
    return worker(List.of("ip", "netns", "exec", ns), "10.231.0.1", 29511, rank, Map.of("GLOO_SOCKET_IFNAME", iface), out, data, log);
  }

  private static void awaitAll(Path dir, Process... ps) throws Exception {
    for (int r = 0; r < ps.length; r++) {
      if (!ps[r].waitFor(240, TimeUnit.SECONDS)) {
        for (Process p : ps) p.destroyForcibly();
        throw new AssertionError("a worker did not finish");
      }
    }
    for (int r = 0; r < ps.length; r++) {
      int rank = r;
      assertEquals(0, ps[r].exitValue(), () -> read(dir.resolve("w" + rank + ".log")));
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return e.toString();
    }
  }

  @Test
  void oneWorkerOnEachOfTwoHostsTrainsAsTwoOnLoopback() throws Exception {
    makeHosts();
    TorchTestBase.useTestThreads();
    Path data = TrainFixtures.data(dir.resolve("data"));
    Path hosts = dir.resolve("hosts"), local = dir.resolve("loopback");
    Files.createDirectories(dir.resolve("h"));
    Files.createDirectories(dir.resolve("l"));
    awaitAll(dir.resolve("h"), onHost(nsA, vethA, 0, hosts, data, dir.resolve("h/w0.log")), onHost(nsB, vethB, 1, hosts, data,
        dir.resolve("h/w1.log")));
    int port = DistributedTrainCommandTest.freePort();
    awaitAll(dir.resolve("l"), worker(List.of(), "127.0.0.1", port, 0, Map.of(), local, data, dir.resolve("l/w0.log")),
        worker(List.of(), "127.0.0.1", port, 1, Map.of(), local, data, dir.resolve("l/w1.log")));
    assertTrue(read(dir.resolve("h/w0.log")).contains("in each of 2 processes"), read(dir.resolve("h/w0.log")));
    try (StateDict a = StateDict.loadPyTorch(hosts.resolve("checkpoint.pt")); StateDict b = StateDict.loadPyTorch(local.resolve("checkpoint.pt"));
         Scope s = Scope.open()) {
      assertEquals(2, Checkpoint.meta(a, "meta.world_size"));
      Map<String, Tensor> wa = Checkpoint.weights(a, "model."), wb = Checkpoint.weights(b, "model.");
      assertEquals(wa.keySet(), wb.keySet());
      for (String k : wa.keySet()) {
        assertTrue(wa.get(k).equal(wb.get(k)), k + " differs between two hosts and loopback");
      }
      for (String k : Checkpoint.weights(a, "ema.").keySet()) {
        assertTrue(a.get("ema." + k).equal(b.get("ema." + k)), "ema." + k + " differs between two hosts and loopback");
      }
    }
    assertEquals(Files.readAllLines(hosts.resolve("loss.csv")).stream().map(l -> l.split(",")[1]).toList(),
        Files.readAllLines(local.resolve("loss.csv")).stream().map(l -> l.split(",")[1]).toList());
  }
}
