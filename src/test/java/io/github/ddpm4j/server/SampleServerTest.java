package io.github.ddpm4j.server;

import static io.github.ddpm4j.server.HttpFixtures.await;
import static io.github.ddpm4j.server.HttpFixtures.get;
import static io.github.ddpm4j.server.HttpFixtures.json;
import static io.github.ddpm4j.server.HttpFixtures.metric;
import static io.github.ddpm4j.server.HttpFixtures.post;
import static io.github.ddpm4j.server.HttpFixtures.postAsync;
import static io.github.ddpm4j.server.HttpFixtures.send;
import static io.github.ddpm4j.server.HttpFixtures.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.github.ddpm4j.pipeline.BatchingSampler;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.pipeline.GeneratedImages;
import io.github.ddpm4j.pipeline.SampleRequest;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sampling server over real HTTP (the JDK's HttpClient, and raw sockets where a client must misbehave), on the
 * tiny model of {@link TrainFixtures} (T = 50, 8x8 images): the PNG answers, every error status with its JSON,
 * 503 with Retry-After when the queue is full, cancellation when a client disconnects, answers in order on a
 * pipelined connection, the metrics, and a shutdown that answers the requests it has taken.
 */
class SampleServerTest extends TorchTestBase {
  @TempDir static Path dir;
  static DDPMPipeline pipeline;
  private final List<SampleServer> servers = new ArrayList<>();

  @BeforeAll
  static void load() throws IOException {
    pipeline = TrainFixtures.pipeline(dir);
  }

  @AfterAll
  static void close() {
    pipeline.close();
  }

  @AfterEach
  void stopServers() {
    for (SampleServer s : servers) s.shutdown(Duration.ofSeconds(60));
  }

  private SampleServer start(BatchingSampler.Options batching, int maxImages) throws IOException {
    SampleServer s = SampleServer.start(pipeline, batching, new SampleServer.Options("127.0.0.1", 0, maxImages, 0));
    servers.add(s);
    return s;
  }

  private SampleServer start() throws IOException {
    return start(BatchingSampler.Options.defaults(), SampleServer.DEFAULT_MAX_IMAGES);
  }

  /** @return the size of the grid of {@code n} 8x8 images: ceil(sqrt(n)) a row, 2 pixels of padding */
  private static int[] gridSize(int n) {
    int perRow = (int) Math.ceil(Math.sqrt(n));
    int rows = (n + perRow - 1) / perRow;
    return new int[] {perRow * 10 + 2, rows * 10 + 2};
  }

  private static void assertError(HttpResponse<byte[]> r, int status, String field, String message) {
    assertEquals(status, r.statusCode(), () -> text(r));
    assertEquals("application/json", r.headers().firstValue("content-type").orElse(""));
    JsonObject json = json(r);
    assertTrue(json.get("error").getAsString().contains(message), () -> "'" + message + "' not in " + json);
    if (field == null) {
      assertFalse(json.has("field"), json::toString);
    } else {
      assertEquals(field, json.get("field").getAsString(), json::toString);
    }
  }

  @Test
  void aRequestGetsItsImagesAsAPngGridOrOnePng() throws Exception {
    SampleServer s = start();
    HttpResponse<byte[]> grid = post(s.uri(), "{\"n\": 5, \"seed\": 42, \"steps\": 10}");
    assertEquals(200, grid.statusCode(), () -> text(grid));
    assertEquals("image/png", grid.headers().firstValue("content-type").orElse(""));
    assertEquals("42", grid.headers().firstValue("x-seed").orElse(""));
    assertArrayEquals(gridSize(5), HttpFixtures.pngSize(grid.body()));
    // the same request gives the same images
    assertArrayEquals(grid.body(), post(s.uri(), "{\"seed\": 42, \"n\": 5, \"steps\": 10, \"output\": \"grid\"}").body());
    // "png" is the one image itself, as the pipeline makes it
    HttpResponse<byte[]> one = post(s.uri(), "{\"seed\": 7, \"steps\": 10, \"output\": \"png\"}");
    assertEquals(200, one.statusCode(), () -> text(one));
    assertArrayEquals(new int[] {8, 8}, HttpFixtures.pngSize(one.body()));
    try (GeneratedImages alone = pipeline.sample(SampleRequest.ddim(1, 7, 10))) {
      assertArrayEquals(alone.png(0), one.body());
    }
    HttpResponse<byte[]> ancestral = post(s.uri(), "{\"sampler\": \"ancestral\", \"n\": 2, \"seed\": 1}");
    assertEquals(200, ancestral.statusCode(), () -> text(ancestral));
    assertArrayEquals(gridSize(2), HttpFixtures.pngSize(ancestral.body()));
  }

  @Test
  void aRequestWithoutASeedGetsOneAndIsToldWhich() throws Exception {
    SampleServer s = start();
    HttpResponse<byte[]> a = post(s.uri(), "{\"steps\": 5}");
    HttpResponse<byte[]> b = post(s.uri(), "");
    assertEquals(200, a.statusCode(), () -> text(a));
    assertEquals(200, b.statusCode(), () -> text(b));
    String seed = a.headers().firstValue("x-seed").orElseThrow();
    assertNotEquals(seed, b.headers().firstValue("x-seed").orElseThrow());
    assertArrayEquals(gridSize(1), HttpFixtures.pngSize(b.body()));
    // the seed it was told reproduces the images
    assertArrayEquals(a.body(), post(s.uri(), "{\"steps\": 5, \"seed\": " + seed + "}").body());
    // a server of the same --seed gives the same sequence of seeds
    SampleServer again = start();
    assertEquals(seed, post(again.uri(), "{\"steps\": 5}").headers().firstValue("x-seed").orElseThrow());
  }

  @Test
  void badRequestsGet400NamingTheField() throws Exception {
    SampleServer s = start();
    assertError(post(s.uri(), "{\"steps\": 0}"), 400, "steps", "steps must be an integer in 1..50, got 0");
    assertError(post(s.uri(), "{\"n\": 65}"), 400, "n", "n must be an integer in 1..64");
    assertError(post(s.uri(), "{\"sampler\": \"ancestral\", \"eta\": 1}"), 400, "eta", "eta applies to sampler ddim only");
    assertError(post(s.uri(), "{\"n\": 2, \"output\": \"png\"}"), 400, "output", "n must be 1");
    assertError(post(s.uri(), "{\"colour\": true}"), 400, "colour", "unknown field");
    assertError(post(s.uri(), "{\"n\": 2"), 400, null, "malformed JSON: ");
    assertError(post(s.uri(), "[1, 2]"), 400, null, "the body must be a JSON object");
    // a server that bounds requests lower says so
    SampleServer small = start(BatchingSampler.Options.defaults(), 4);
    assertError(post(small.uri(), "{\"n\": 5}"), 400, "n", "n must be an integer in 1..4, got 5");
    assertEquals(200, post(s.uri(), "{\"steps\": 2}").statusCode(), "the server still answers");
  }

  @Test
  void unknownPathsGet404AndWrongMethods405WithAllow() throws Exception {
    SampleServer s = start();
    assertError(get(s.uri(), "/v2/samples"), 404, null, "no such path: /v2/samples");
    assertError(get(s.uri(), "/index.html"), 404, null, "no such path");
    for (String[] call : new String[][] {{"GET", "/v1/samples", "POST"}, {"PUT", "/v1/samples", "POST"}, {"POST", "/", "GET"},
        {"POST", "/healthz", "GET"}, {"DELETE", "/metrics", "GET"}}) {
      HttpResponse<byte[]> r = send(s.uri(), call[0], call[1], call[0].equals("GET") ? "" : "{}");
      assertError(r, 405, null, call[0] + " is not allowed here; use " + call[2]);
      assertEquals(call[2], r.headers().firstValue("allow").orElse(""), String.join(" ", call));
    }
  }

  @Test
  void aBodyOverTheLimitGets413AndMalformedHttpGets400() throws Exception {
    SampleServer s = start();
    HttpResponse<byte[]> big = post(s.uri(), "{\"n\": 1, \"pad\": \"" + "x".repeat(SampleServer.MAX_BODY_BYTES) + "\"}");
    assertEquals(413, big.statusCode());
    try (Socket socket = new Socket(s.uri().getHost(), s.uri().getPort())) {
      socket.getOutputStream().write("NOT HTTP AT ALL\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
      HttpFixtures.RawResponse r = HttpFixtures.read(socket.getInputStream());
      assertEquals(400, r.status(), r::text);
      assertTrue(r.text().contains("malformed HTTP request"), r::text);
      assertEquals("close", r.headers().get("connection"));
    }
    assertEquals(200, get(s.uri(), "/healthz").statusCode());
  }

  @Test
  void healthzAndThePage() throws Exception {
    SampleServer s = start();
    HttpResponse<byte[]> health = get(s.uri(), "/healthz");
    assertEquals(200, health.statusCode());
    assertEquals("ok", json(health).get("status").getAsString());
    HttpResponse<byte[]> page = get(s.uri(), "/?n=4&steps=20");
    assertEquals(200, page.statusCode());
    assertEquals("text/html; charset=utf-8", page.headers().firstValue("content-type").orElse(""));
    assertTrue(text(page).contains("<title>ddpm4j</title>") && text(page).contains("fetch(\"v1/samples\""), () -> text(page));
  }

  /** The queue holds one request; a long request runs; the next waits; the one after gets 503 at once. */
  @Test
  void aFullQueueGets503WithRetryAfter() throws Exception {
    SampleServer s = start(new BatchingSampler.Options(Duration.ZERO, 1, 1, 1), SampleServer.DEFAULT_MAX_IMAGES);
    long handles = Torch.liveHandles();
    CompletableFuture<GeneratedImages> blocker = s.sampler().submit(SampleRequest.ancestral(SampleRequest.MAX_IMAGES, 1));
    await(30, "the long request never left the queue", () -> s.sampler().queueDepth() == 0);
    CompletableFuture<HttpResponse<byte[]>> waiting = postAsync(s.uri(), "{\"steps\": 2}");
    await(30, "the second request was never queued", () -> s.sampler().queueDepth() == 1);
    long start = System.nanoTime();
    HttpResponse<byte[]> refused = post(s.uri(), "{\"steps\": 2}");
    double seconds = (System.nanoTime() - start) / 1e9;
    assertFalse(blocker.isDone(), "the long request ended before the test could fill the queue");
    assertError(refused, 503, null, "the server is busy: the queue is full (1 requests wait)");
    assertEquals("1", refused.headers().firstValue("retry-after").orElse(""));
    assertTrue(seconds < 5, "503 came after " + seconds + " s, not at once");
    blocker.cancel(true);
    assertEquals(200, waiting.join().statusCode(), () -> text(waiting.join()));
    assertEquals(1, metric(s.uri(), "ddpm4j_http_requests_total{code=\"503\",endpoint=\"samples\"}"));
    await(30, "native handles back to " + handles, () -> Torch.liveHandles() == handles);
  }

  /** A client closes its connection while its request runs, and another while its request waits: both are cancelled. */
  @Test
  void aClientThatDisconnectsCancelsItsWork() throws Exception {
    SampleServer s = start(new BatchingSampler.Options(Duration.ZERO, 1, 16, 1), SampleRequest.MAX_IMAGES);
    long handles = Torch.liveHandles();
    // a request that runs for seconds, then one queued behind it, each on a connection of its own
    Socket running = new Socket(s.uri().getHost(), s.uri().getPort());
    running.getOutputStream().write(HttpFixtures.rawPost("{\"sampler\": \"ancestral\", \"n\": 4096, \"seed\": 1}"));
    await(30, "the long request never started", () -> metric(s.metricsText(), "ddpm4j_http_requests_in_flight") == 1
        && s.sampler().queueDepth() == 0);
    Socket queued = new Socket(s.uri().getHost(), s.uri().getPort());
    queued.getOutputStream().write(HttpFixtures.rawPost("{\"steps\": 2}"));
    await(30, "the second request was never queued", () -> s.sampler().queueDepth() == 1);
    long closed = System.nanoTime();
    queued.close();
    running.close();
    await(30, "the two requests were not cancelled", () -> s.metrics().cancelledCount() == 2);
    await(30, "requests still in flight", () -> metric(s.metricsText(), "ddpm4j_http_requests_in_flight") == 0);
    await(30, "the queue still holds the request", () -> s.sampler().queueDepth() == 0);
    double stopped = (System.nanoTime() - closed) / 1e9;
    // the running batch stopped after its current step: it took a small part of the whole loop's time, which is
    // T = 50 forward passes of 4096 images (two DDIM steps measure two of them)
    String metrics = text(get(s.uri(), "/metrics"));
    assertEquals(1, metric(metrics, "ddpm4j_batch_duration_seconds_count"), metrics);
    double batch = metric(metrics, "ddpm4j_batch_duration_seconds_sum");
    long start = System.nanoTime();
    pipeline.sample(SampleRequest.ddim(SampleRequest.MAX_IMAGES, 1, 2)).close();
    double wholeLoop = (System.nanoTime() - start) / 1e9 / 2 * pipeline.config().timesteps();
    System.out.printf("the cancelled batch ran %.2f s and stopped %.2f s after its client disconnected; the whole loop takes about %.1f s%n",
        batch, stopped, wholeLoop);
    assertTrue(batch < wholeLoop / 2, "the cancelled batch ran " + batch + " s of a loop of about " + wholeLoop + " s");
    assertEquals(2, metric(metrics, "ddpm4j_http_requests_cancelled_total"), metrics);
    HttpResponse<byte[]> after = post(s.uri(), "{\"steps\": 2}");
    assertEquals(200, after.statusCode(), () -> text(after));
    assertEquals("ok", json(get(s.uri(), "/healthz")).get("status").getAsString());
    await(30, "native handles back to " + handles, () -> Torch.liveHandles() == handles);
  }

  /** Two requests in one write: the slow one is answered first, as HTTP/1.1 requires. */
  @Test
  void pipelinedRequestsAreAnsweredInOrder() throws Exception {
    SampleServer s = start();
    try (Socket socket = new Socket(s.uri().getHost(), s.uri().getPort())) {
      OutputStream out = socket.getOutputStream();
      byte[] first = HttpFixtures.rawPost("{\"sampler\": \"ancestral\", \"n\": 16, \"seed\": 3}");
      byte[] second = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
      byte[] both = new byte[first.length + second.length];
      System.arraycopy(first, 0, both, 0, first.length);
      System.arraycopy(second, 0, both, first.length, second.length);
      out.write(both);
      InputStream in = socket.getInputStream();
      HttpFixtures.RawResponse a = HttpFixtures.read(in);
      HttpFixtures.RawResponse b = HttpFixtures.read(in);
      assertEquals(200, a.status());
      assertEquals("image/png", a.headers().get("content-type"));
      assertEquals(200, b.status());
      assertTrue(b.text().contains("\"status\":\"ok\""), b::text);
    }
  }

  @Test
  void metricsCountRequestsBatchesAndResourcesInPrometheusTextFormat() throws Exception {
    SampleServer s = start(new BatchingSampler.Options(Duration.ofMillis(1000), 64, 16, 1), SampleServer.DEFAULT_MAX_IMAGES);
    List<CompletableFuture<HttpResponse<byte[]>>> four = new ArrayList<CompletableFuture<HttpResponse<byte[]>>>();
    for (int i = 0; i < 4; i++) four.add(postAsync(s.uri(), "{\"n\": " + (i + 1) + ", \"steps\": 5, \"seed\": " + i + "}"));
    for (var f : four) assertEquals(200, f.join().statusCode(), () -> text(f.join()));
    post(s.uri(), "{\"steps\": 0}");
    get(s.uri(), "/nowhere");
    HttpResponse<byte[]> r = get(s.uri(), "/metrics");
    assertEquals(200, r.statusCode());
    assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("content-type").orElse(""));
    String m = text(r);
    System.out.println(m.lines().filter(l -> !l.startsWith("#") && !l.contains("_bucket")).reduce("", (a, b) -> a + b + "\n"));
    assertEquals(4, metric(m, "ddpm4j_http_requests_total{code=\"200\",endpoint=\"samples\"}"), m);
    assertEquals(1, metric(m, "ddpm4j_http_requests_total{code=\"400\",endpoint=\"samples\"}"), m);
    assertEquals(1, metric(m, "ddpm4j_http_requests_total{code=\"404\",endpoint=\"other\"}"), m);
    assertEquals(5, metric(m, "ddpm4j_http_request_duration_seconds_count{endpoint=\"samples\"}"), m);
    // the four compatible requests arrived within the window: one batch of four requests and ten images
    assertEquals(1, metric(m, "ddpm4j_batch_requests_count"), m);
    assertEquals(4, metric(m, "ddpm4j_batch_requests_sum"), m);
    assertEquals(10, metric(m, "ddpm4j_batch_images_sum"), m);
    assertEquals(1, metric(m, "ddpm4j_batch_images_bucket{le=\"16.0\"}"), m);
    assertEquals(0, metric(m, "ddpm4j_queue_depth"), m);
    assertEquals(0, metric(m, "ddpm4j_http_requests_in_flight"), m);
    assertTrue(m.contains("\nddpm4j_native_handles "), m);
    assertTrue(metric(m, "ddpm4j_native_handles") > 0, m);
    assertTrue(m.contains("\nddpm4j_cpu_cache_bytes{state=\"cached\"} "), m);
    assertTrue(m.contains("\nddpm4j_cpu_cache_bytes{state=\"allocated\"} "), m);
    assertTrue(m.contains("# TYPE ddpm4j_http_request_duration_seconds histogram"), m);
  }

  /** Shutdown stops taking connections, answers the requests it took, then stops. */
  @Test
  void shutdownAnswersTheRequestsItTookThenStops() throws Exception {
    SampleServer s = start(new BatchingSampler.Options(Duration.ZERO, 64, 16, 1), SampleServer.DEFAULT_MAX_IMAGES);
    List<CompletableFuture<HttpResponse<byte[]>>> taken = new ArrayList<CompletableFuture<HttpResponse<byte[]>>>();
    for (int i = 0; i < 3; i++) taken.add(postAsync(s.uri(), "{\"sampler\": \"ancestral\", \"n\": 64, \"seed\": " + i + "}"));
    await(30, "three requests in flight", () -> metric(s.metricsText(), "ddpm4j_http_requests_in_flight") == 3);
    assertTrue(s.shutdown(Duration.ofSeconds(120)), "not every request was answered");
    for (var f : taken) {
      HttpResponse<byte[]> r = f.join();
      assertEquals(200, r.statusCode(), () -> text(r));
      assertArrayEquals(gridSize(64), HttpFixtures.pngSize(r.body()));
    }
    CompletionException refused = assertThrows(CompletionException.class, () -> postAsync(s.uri(), "{}").join());
    assertTrue(refused.getCause() instanceof ConnectException, refused::toString);
    s.awaitTermination();
  }

  @Test
  void anAddressInUseIsAnIOExceptionNamingIt() throws Exception {
    SampleServer s = start();
    IOException e = assertThrows(IOException.class,
        () -> SampleServer.start(pipeline, BatchingSampler.Options.defaults(), new SampleServer.Options("127.0.0.1", s.uri().getPort(), 64, 0)));
    assertTrue(e.getMessage().startsWith("127.0.0.1:" + s.uri().getPort() + ": "), e.getMessage());
    assertTrue(e.getMessage().contains("in use"), e.getMessage());
  }

  @Test
  void optionsOutOfRangeAreRefusedNamingTheField() {
    IllegalArgumentException port = assertThrows(IllegalArgumentException.class, () -> new SampleServer.Options("127.0.0.1", 65536, 64, 0));
    assertEquals("port = 65536 must be in 0..65535", port.getMessage());
    IllegalArgumentException max = assertThrows(IllegalArgumentException.class, () -> new SampleServer.Options("127.0.0.1", 0, 0, 0));
    assertEquals("maxImages = 0 must be in 1..4096", max.getMessage());
    assertThrows(NullPointerException.class, () -> new SampleServer.Options(null, 0, 1, 0));
    URI unused = URI.create("http://127.0.0.1:1/");
    assertTrue(unused.getPort() == 1);
  }
}
