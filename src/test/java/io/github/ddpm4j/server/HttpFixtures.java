package io.github.ddpm4j.server;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Talks to a sampling server as its clients do: the JDK's HttpClient, and raw HTTP/1.1 on a socket. */
public final class HttpFixtures {
  private static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  private HttpFixtures() {}

  /** @return {@code POST base/v1/samples} with {@code json} as its body, sent */
  public static CompletableFuture<HttpResponse<byte[]>> postAsync(URI base, String json) {
    HttpRequest r = HttpRequest.newBuilder(base.resolve("/v1/samples")).timeout(Duration.ofSeconds(120))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build();
    return CLIENT.sendAsync(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  /** @return the answer to {@code POST base/v1/samples} with {@code json} as its body */
  public static HttpResponse<byte[]> post(URI base, String json) throws IOException, InterruptedException {
    return postAsync(base, json).join();
  }

  /** @return the answer to {@code method base+path} with {@code body} (may be empty) */
  public static HttpResponse<byte[]> send(URI base, String method, String path, String body) throws IOException, InterruptedException {
    HttpRequest r = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(120))
        .method(method, body.isEmpty() ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build();
    return CLIENT.send(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  /** @return the answer to {@code GET base+path} */
  public static HttpResponse<byte[]> get(URI base, String path) throws IOException, InterruptedException {
    return send(base, "GET", path, "");
  }

  /** @return a response's body as UTF-8 text */
  public static String text(HttpResponse<byte[]> r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  /** @return a response's body as a JSON object */
  public static JsonObject json(HttpResponse<byte[]> r) {
    return JsonParser.parseString(text(r)).getAsJsonObject();
  }

  /**
   * @param metrics {@code GET /metrics}' text
   * @param sample a sample's name with its labels as the text writes them, e.g.
   *     {@code ddpm4j_http_requests_total{code="200",endpoint="samples"}}
   * @return its value, or 0 when the text has no such sample (a counter not yet counted)
   */
  public static double metric(String metrics, String sample) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(sample) + " (\\S+)$").matcher(metrics);
    return m.find() ? Double.parseDouble(m.group(1)) : 0;
  }

  /** @return {@code GET base/metrics}' value of {@code sample} ({@link #metric}) */
  public static double metric(URI base, String sample) throws IOException, InterruptedException {
    return metric(text(get(base, "/metrics")), sample);
  }

  /** Waits up to {@code seconds} for {@code condition}, checking every 10 ms; fails with {@code what} if it never holds. */
  public static void await(double seconds, String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "after " + seconds + " s: " + what);
      Thread.sleep(10);
    }
  }

  /** One HTTP/1.1 response read off a socket: status, headers (lower-case names) and body. */
  public record RawResponse(int status, Map<String, String> headers, byte[] body) {
    /** @return the body as UTF-8 text */
    public String text() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /**
   * Reads one response with a Content-Length body (as the server always sends).
   *
   * @return the response, or null if the connection closed before its status line
   */
  public static RawResponse read(InputStream in) throws IOException {
    String status = line(in);
    if (status == null) return null;
    Map<String, String> headers = new LinkedHashMap<>();
    for (String h = line(in); h != null && !h.isEmpty(); h = line(in)) {
      int colon = h.indexOf(':');
      headers.put(h.substring(0, colon).strip().toLowerCase(Locale.ROOT), h.substring(colon + 1).strip());
    }
    byte[] body = in.readNBytes(Integer.parseInt(headers.getOrDefault("content-length", "0")));
    return new RawResponse(Integer.parseInt(status.split(" ")[1]), headers, body);
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != -1 && c != '\n') if (c != '\r') b.write(c);
    if (c == -1 && b.size() == 0) return null;
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  /** @return the raw bytes of {@code POST /v1/samples} with {@code json} */
  public static byte[] rawPost(String json) {
    byte[] body = json.getBytes(StandardCharsets.UTF_8);
    String head = "POST /v1/samples HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n";
    byte[] out = new byte[head.length() + body.length];
    System.arraycopy(head.getBytes(StandardCharsets.ISO_8859_1), 0, out, 0, head.length());
    System.arraycopy(body, 0, out, head.length(), body.length);
    return out;
  }

  /** @return a PNG's width and height */
  public static int[] pngSize(byte[] png) throws IOException {
    java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(new ByteArrayInputStream(png));
    assertTrue(image != null, "not a PNG");
    return new int[] {image.getWidth(), image.getHeight()};
  }
}
