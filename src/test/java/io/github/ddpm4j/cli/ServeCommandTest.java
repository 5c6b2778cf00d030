package io.github.ddpm4j.cli;

import static io.github.ddpm4j.server.HttpFixtures.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.server.HttpFixtures;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ddpm4j serve} as a program: a real {@code bin/ddpm4j serve} process (on the classes under test,
 * {@code DDPM4J_CLASSPATH}) shows the warm-up bar, prints the line with its URL when it is ready, and on SIGTERM
 * answers the requests it has taken with 200, refuses new connections, says so and exits; an address in use
 * fails with the address named.
 */
@ExtendWith(CliRunner.Threads.class)
class ServeCommandTest {
  private static final Pattern SERVING = Pattern.compile("^ddpm4j: serving (http://\\S+/) \\(", Pattern.MULTILINE);
  private static final int SIGTERM_EXIT = 128 + 15;

  @TempDir static Path dir;
  private static Path ck;

  @BeforeAll
  static void makeCheckpoint() throws IOException {
    TorchTestBase.useTestThreads();
    ck = TrainFixtures.train(TrainFixtures.data(dir.resolve("data")), dir.resolve("run"), 1);
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return file + ": " + e.getMessage();
    }
  }

  @Test
  void sigtermAnswersTheRequestsInFlightThenExits() throws Exception {
    Path stdout = dir.resolve("serve.out");
    Path stderr = dir.resolve("serve.err");
    ProcessBuilder pb = new ProcessBuilder(Path.of("bin", "ddpm4j").toAbsolutePath().toString(), "serve", "--checkpoint", ck.toString(),
        "--port", "0", "--threads", CliRunner.THREADS, "--max-images", "4096", "--batch-window", "0")
        .redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    pb.environment().put("DDPM4J_CLASSPATH", System.getProperty("java.class.path"));
    Process p = pb.start();
    try {
      await(120, "no 'serving' line:\n" + read(stdout) + read(stderr), () -> SERVING.matcher(read(stdout)).find() || !p.isAlive());
      Matcher serving = SERVING.matcher(read(stdout));
      assertTrue(serving.find(), () -> "the server ended early:\n" + read(stdout) + read(stderr));
      URI uri = URI.create(serving.group(1));
      assertTrue(read(stderr).lines().anyMatch(l -> l.startsWith("warm-up 100% [")), () -> "no warm-up bar:\n" + read(stderr));
      assertEquals(200, HttpFixtures.get(uri, "/healthz").statusCode());
      // three requests of about a second or more each, run one after another (each is larger than a batch)
      List<CompletableFuture<HttpResponse<byte[]>>> taken = new ArrayList<CompletableFuture<HttpResponse<byte[]>>>();
      for (int i = 0; i < 3; i++) taken.add(HttpFixtures.postAsync(uri, "{\"sampler\": \"ancestral\", \"n\": 1024, \"seed\": " + i + "}"));
      await(60, "three requests in flight", () -> inFlight(uri) == 3);
      assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(p.pid())).inheritIO().start().waitFor());
      await(60, "new connections are still taken after SIGTERM", () -> refused(uri));
      assertTrue(taken.stream().anyMatch(f -> !f.isDone()), "the requests ended before the test could see the server drain");
      for (var f : taken) {
        HttpResponse<byte[]> r = f.join();
        assertEquals(200, r.statusCode(), () -> new String(r.body()));
        assertEquals("image/png", r.headers().firstValue("content-type").orElse(""));
      }
      assertTrue(p.waitFor(120, TimeUnit.SECONDS), "still running 120 s after SIGTERM");
      String both = "--- stdout:\n" + read(stdout) + "--- stderr:\n" + read(stderr);
      assertEquals(SIGTERM_EXIT, p.exitValue(), both);
      List<String> lines = read(stdout).lines().toList();
      assertEquals(2, lines.size(), both);
      assertEquals("ddpm4j: stopped serving: every request taken was answered", lines.get(1), both);
    } finally {
      p.destroyForcibly();
    }
  }

  private static double inFlight(URI uri) {
    try {
      return HttpFixtures.metric(uri, "ddpm4j_http_requests_in_flight");
    } catch (IOException | InterruptedException e) {
      throw new AssertionError(e);
    }
  }

  private static boolean refused(URI uri) {
    try {
      HttpFixtures.get(uri, "/healthz");
      return false;
    } catch (ConnectException e) {
      return true;
    } catch (IOException | InterruptedException | CompletionException e) {
      return e.getCause() instanceof ConnectException;
    }
  }

  @Test
  void anAddressInUseFailsNamingIt() throws IOException {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      CliRunner.Result r = CliRunner.run("serve", "--checkpoint", ck.toString(), "--port", Integer.toString(taken.getLocalPort()), "--threads",
          CliRunner.THREADS, "--no-progress");
      assertEquals(1, r.code(), r::toString);
      assertTrue(r.err().startsWith("ddpm4j serve: 127.0.0.1:" + taken.getLocalPort() + ": Address already in use"), r::toString);
      assertEquals("", r.out(), r::toString);
    }
  }
}
