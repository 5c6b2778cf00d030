/**
 * The sampling server behind {@code ddpm4j serve}: {@link io.github.ddpm4j.server.SampleServer} answers
 * {@code POST /v1/samples} (a JSON body in, a PNG out), {@code GET /healthz}, {@code GET /metrics} (Prometheus'
 * text format, from the official Java client) and a page at {@code GET /}, over Netty.
 *
 * <p>Netty's event loops serve the connections and never run the model; a
 * {@link io.github.ddpm4j.pipeline.BatchingSampler} runs it on platform threads of its own, batching concurrent
 * compatible requests. A client that disconnects cancels its request, a full queue is answered with 503 at once,
 * and {@link io.github.ddpm4j.server.SampleServer#shutdown} answers every request taken before it stops.
 */
package io.github.ddpm4j.server;
