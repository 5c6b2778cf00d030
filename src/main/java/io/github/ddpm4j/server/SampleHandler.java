package io.github.ddpm4j.server;

import com.google.gson.JsonObject;
import io.github.ddpm4j.pipeline.GeneratedImages;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;

/**
 * One connection's requests: routes each to its endpoint, answers them in the order they came (HTTP/1.1
 * pipelining), and cancels the connection's sample requests when the client disconnects. Runs on the
 * connection's event loop, which it never blocks: the model runs on the sampler's threads and PNG encoding on
 * the server's encoder pool. Not shared between connections.
 */
final class SampleHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
  private static final String SAMPLES = "/v1/samples";

  private final SampleServer server;
  /** The connection's sample requests whose images are not made yet. */
  private final Set<CompletableFuture<GeneratedImages>> running = ConcurrentHashMap.newKeySet();
  /** Completes once every answer so far is handed to the connection; event loop only. */
  private CompletableFuture<?> answered = CompletableFuture.completedFuture(null);

  /** @param server the server whose sampler, metrics and encoders the connection uses */
  SampleHandler(SampleServer server) {
    this.server = server;
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
    long start = System.nanoTime();
    String path = new QueryStringDecoder(request.uri()).path();
    if (!request.decoderResult().isSuccess()) {
      FullHttpResponse r = error(HttpResponseStatus.BAD_REQUEST, null, "malformed HTTP request: " + request.decoderResult().cause().getMessage());
      r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      answer(ctx, "other", start, CompletableFuture.completedFuture(r), false);
      return;
    }
    switch (path) {
      case "/" -> answer(ctx, "page", start, only(request, HttpMethod.GET, () -> page()), false);
      case "/healthz" -> answer(ctx, "healthz", start, only(request, HttpMethod.GET, this::health), false);
      case "/metrics" -> answer(ctx, "metrics", start, only(request, HttpMethod.GET, this::metrics), false);
      case SAMPLES -> {
        if (!request.method().equals(HttpMethod.POST)) {
          answer(ctx, "samples", start, CompletableFuture.completedFuture(notAllowed(request, HttpMethod.POST)), false);
        } else {
          sample(ctx, request, start);
        }
      }
      default -> answer(ctx, "other", start,
          CompletableFuture.completedFuture(error(HttpResponseStatus.NOT_FOUND, null, "no such path: " + path
              + " (the endpoints are POST " + SAMPLES + ", GET /healthz, GET /metrics and GET /)")), false);
    }
  }

  /** @return the answer of {@code endpoint} to a request of {@code method}, else 405 */
  private static CompletableFuture<FullHttpResponse> only(FullHttpRequest request, HttpMethod method,
      java.util.function.Supplier<FullHttpResponse> endpoint) {
    return CompletableFuture.completedFuture(request.method().equals(method) ? endpoint.get() : notAllowed(request, method));
  }

  private void sample(ChannelHandlerContext ctx, FullHttpRequest request, long start) {
    if (server.draining()) {
      FullHttpResponse r = error(HttpResponseStatus.SERVICE_UNAVAILABLE, null, "the server is shutting down");
      answer(ctx, "samples", start, CompletableFuture.completedFuture(r), false);
      return;
    }
    SamplesBody body;
    CompletableFuture<GeneratedImages> images;
    try {
      body = SamplesBody.parse(request.content().toString(StandardCharsets.UTF_8), server.pipeline().config().timesteps(),
          server.options().maxImages(), server::nextSeed, server.pipeline().unet().numClasses());
      images = server.sampler().submit(body.request());
    } catch (BadRequestException e) {
      answer(ctx, "samples", start, CompletableFuture.completedFuture(error(HttpResponseStatus.BAD_REQUEST, e.field(), e.getMessage())), false);
      return;
    } catch (RejectedExecutionException e) {
      FullHttpResponse r = error(HttpResponseStatus.SERVICE_UNAVAILABLE, null, "the server is busy: " + e.getMessage() + "; retry later");
      r.headers().set(HttpHeaderNames.RETRY_AFTER, "1");
      answer(ctx, "samples", start, CompletableFuture.completedFuture(r), false);
      return;
    }
    server.requestStarted();
    running.add(images);
    CompletableFuture<FullHttpResponse> response = new CompletableFuture<>();
    images.whenComplete((made, failure) -> {
      running.remove(images);
      if (failure != null) {
        response.complete(cancelled(failure) ? null : error(HttpResponseStatus.INTERNAL_SERVER_ERROR, null, "sampling failed: " + message(failure)));
        return;
      }
      try {
        server.encoders().execute(() -> response.complete(encode(made, body)));
      } catch (RejectedExecutionException e) {
        made.close();
        response.complete(error(HttpResponseStatus.SERVICE_UNAVAILABLE, null, "the server is shutting down"));
      }
    });
    answer(ctx, "samples", start, response, true);
  }

  /** @return the PNG answer of a finished request; frees its images */
  private static FullHttpResponse encode(GeneratedImages images, SamplesBody body) {
    byte[] png;
    try (images) {
      png = body.output() == SamplesBody.Output.GRID ? images.gridPng() : images.png(0);
    } catch (RuntimeException | Error e) {
      return error(HttpResponseStatus.INTERNAL_SERVER_ERROR, null, "encoding the PNG failed: " + message(e));
    }
    FullHttpResponse r = response(HttpResponseStatus.OK, "image/png", png);
    r.headers().set("X-Seed", Long.toString(body.request().seed()));
    r.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
    return r;
  }

  private static boolean cancelled(Throwable failure) {
    Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    return t instanceof CancellationException;
  }

  private static String message(Throwable failure) {
    Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    return t.getMessage() != null ? t.getMessage() : t.getClass().getName();
  }

  /**
   * Hands an answer to the connection once it and every earlier answer are ready, so that answers leave in the
   * order their requests came; counts it in the metrics once written.
   *
   * @param response the answer, or null for none (its client is gone)
   * @param sample whether it answers a sample request that {@link SampleServer#requestStarted()} counted
   */
  private void answer(ChannelHandlerContext ctx, String endpoint, long start, CompletableFuture<FullHttpResponse> response, boolean sample) {
    answered = CompletableFuture.allOf(answered, response).handle((ignored, failure) -> {
      FullHttpResponse r = response.getNow(null);
      if (r == null) {
        if (sample) server.requestEnded();
        return null;
      }
      if (server.draining()) r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      HttpUtil.setContentLength(r, r.content().readableBytes());
      int code = r.status().code();
      ctx.writeAndFlush(r).addListener(written -> {
        server.metrics().request(endpoint, code, System.nanoTime() - start);
        if (sample) server.requestEnded();
      });
      return null;
    });
  }

  /** The client disconnected: cancels its requests that wait or run. */
  @Override
  public void channelInactive(ChannelHandlerContext ctx) throws Exception {
    for (CompletableFuture<GeneratedImages> f : new ArrayList<>(running)) {
      if (f.cancel(true)) server.metrics().cancelled();
    }
    running.clear();
    super.channelInactive(ctx);
  }

  /** A failure on the connection (a reset by the client, or a fault here): closes it, which cancels its work. */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (!(cause instanceof IOException)) {
      System.err.println("ddpm4j serve: closing a connection after an error: " + cause);
    }
    ctx.close();
  }

  private FullHttpResponse page() {
    return response(HttpResponseStatus.OK, "text/html; charset=utf-8", server.page());
  }

  private FullHttpResponse health() {
    JsonObject json = new JsonObject();
    json.addProperty("status", server.draining() ? "draining" : "ok");
    json.addProperty("queueDepth", server.sampler().queueDepth());
    return json(server.draining() ? HttpResponseStatus.SERVICE_UNAVAILABLE : HttpResponseStatus.OK, json);
  }

  private FullHttpResponse metrics() {
    return response(HttpResponseStatus.OK, server.metrics().contentType(), server.metrics().scrape());
  }

  private static FullHttpResponse notAllowed(FullHttpRequest request, HttpMethod allowed) {
    FullHttpResponse r = error(HttpResponseStatus.METHOD_NOT_ALLOWED, null,
        request.method() + " is not allowed here; use " + allowed);
    r.headers().set(HttpHeaderNames.ALLOW, allowed.name());
    return r;
  }

  /** @return {@code {"error": message, "field": field}} (no field when it is null) */
  static FullHttpResponse error(HttpResponseStatus status, String field, String message) {
    JsonObject json = new JsonObject();
    json.addProperty("error", message);
    if (field != null) json.addProperty("field", field);
    return json(status, json);
  }

  private static FullHttpResponse json(HttpResponseStatus status, JsonObject json) {
    return response(status, "application/json", (json + "\n").getBytes(StandardCharsets.UTF_8));
  }

  private static FullHttpResponse response(HttpResponseStatus status, String contentType, byte[] body) {
    FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
    r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
    return r;
  }
}
