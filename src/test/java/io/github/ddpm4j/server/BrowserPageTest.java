package io.github.ddpm4j.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.github.ddpm4j.pipeline.BatchingSampler;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.torch.TorchTestBase;
import io.github.ddpm4j.train.TrainFixtures;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The page at {@code GET /} in a real browser: headless Chromium (Debian's {@code chromium} package) opens it with
 * settings in the query, which makes it sample at once, and the test reads the DOM Chromium dumps: the grid it
 * shows is the PNG the API gives for the same JSON, byte for byte; a refused setting shows the server's message and
 * marks the field. Skipped where Chromium is not installed.
 */
class BrowserPageTest extends TorchTestBase {
  private static final Pattern STATUS = Pattern.compile("<p id=\"status\"([^>]*)>([^<]*)</p>");
  private static final Pattern IMAGE = Pattern.compile("<img id=\"result\"[^>]*src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\"");

  @TempDir static Path dir;
  static DDPMPipeline pipeline;
  static SampleServer server;

  @BeforeAll
  static void start() throws IOException {
    pipeline = TrainFixtures.pipeline(dir);
    server = SampleServer.start(pipeline, BatchingSampler.Options.defaults(), SampleServer.Options.defaults());
  }

  @AfterAll
  static void stop() {
    if (server != null) server.shutdown(Duration.ofSeconds(30));
    pipeline.close();
  }

  private static boolean chromiumInstalled() {
    try {
      return new ProcessBuilder("chromium", "--version").redirectErrorStream(true).start().waitFor() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  /** @return the DOM of the page at {@code query} once its scripts are done, as headless Chromium dumps it */
  private static String dom(String query) throws IOException, InterruptedException {
    assumeTrue(chromiumInstalled(), "chromium is not installed (Debian's chromium package; bin/test and .ci/run install it)");
    Path profile = Files.createTempDirectory(dir, "chromium");
    // --virtual-time-budget: the dump waits for the page's fetch and image decoding, in virtual time
    Process p = new ProcessBuilder(List.of("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--user-data-dir=" + profile, "--virtual-time-budget=120000", "--dump-dom", server.uri() + query))
        .redirectError(dir.resolve("chromium.log").toFile()).start();
    String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(180, TimeUnit.SECONDS), "chromium did not finish in 180 s");
    assertEquals(0, p.exitValue(), () -> "chromium failed: " + read(dir.resolve("chromium.log")));
    return dom;
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      return e.toString();
    }
  }

  private static Matcher status(String dom) {
    Matcher m = STATUS.matcher(dom);
    assertTrue(m.find(), () -> "no status line in:\n" + dom);
    return m;
  }

  @Test
  void thePageSamplesFromItsQueryAndShowsTheGrid() throws Exception {
    String dom = dom("?n=4&sampler=ddim&steps=5&seed=7");
    Matcher status = status(dom);
    assertTrue(status.group(1).contains("data-state=\"done\""), () -> status.group() + "\n" + dom);
    assertTrue(status.group(2).startsWith("4 images, seed 7, "), status.group(2));
    Matcher image = IMAGE.matcher(dom);
    assertTrue(image.find(), () -> "no image in:\n" + dom);
    byte[] shown = Base64.getDecoder().decode(image.group(1));
    HttpResponse<byte[]> api = HttpFixtures.post(server.uri(), "{\"n\": 4, \"sampler\": \"ddim\", \"steps\": 5, \"seed\": 7, \"output\": \"grid\"}");
    assertEquals(200, api.statusCode());
    assertArrayEquals(api.body(), shown, "the page shows what the API gives for the same settings");
  }

  @Test
  void aRefusedSettingShowsTheServersMessageAndMarksTheField() throws Exception {
    String dom = dom("?n=100&steps=5");
    Matcher status = status(dom);
    assertTrue(status.group(1).contains("data-state=\"error\""), () -> status.group() + "\n" + dom);
    assertTrue(status.group(1).contains("data-field=\"n\""), status::group);
    assertEquals("400: n must be an integer in 1..64, got 100", status.group(2));
    assertTrue(Pattern.compile("<input id=\"n\"[^>]*class=\"bad\"").matcher(dom).find(), () -> "the field is not marked:\n" + dom);
  }
}
