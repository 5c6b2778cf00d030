package io.github.ddpm4j.server;

import io.github.ddpm4j.pipeline.BatchingSampler;
import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerKeepAliveHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An HTTP server that samples images from a {@link DDPMPipeline} on request, as {@code ddpm4j serve} runs it:
 * {@code POST /v1/samples} (a JSON body, {@link SamplesBody}; a PNG answer), {@code GET /healthz},
 * {@code GET /metrics} (Prometheus' text format) and a page to try it at {@code GET /}.
 *
 * <pre>{@code
 * try (DDPMPipeline pipeline = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU);
 *      SampleServer server = SampleServer.start(pipeline, BatchingSampler.Options.defaults(), SampleServer.Options.defaults())) {
 *   System.out.println("serving " + server.uri());
 *   server.awaitTermination();   // until another thread calls server.shutdown(...)
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> Connections are served by Netty's event loops (a few platform threads), which parse
 * requests and write answers and never run the model. The model runs on the {@link BatchingSampler}'s own
 * platform threads, which batch concurrent compatible requests; PNG encoding runs on a small pool of its own.
 *
 * <p><b>Guarantees.</b> A request the server cannot take gets 400 naming the field; a full queue gets 503 with
 * {@code Retry-After}, at once; a client that disconnects before its answer cancels its work (Netty reports the
 * closed connection while auto-read stays on); {@link #shutdown(Duration)} stops accepting connections, answers
 * every request already taken, then stops.
 */
public final class SampleServer implements AutoCloseable {
  /** Most images one request may ask for by default: a server bounds the work of one request. */
  public static final int DEFAULT_MAX_IMAGES = 64;
  /** Largest request body taken, in bytes; a larger one gets 413. */
  static final int MAX_BODY_BYTES = 16 * 1024;

  /**
   * Where the server listens and what one request may ask for.
   *
   * @param host the address to bind, a name or a literal (127.0.0.1: this machine only)
   * @param port the TCP port, in 0..65535; 0 takes a free one ({@link SampleServer#uri()} tells which)
   * @param maxImages the most images one request may ask for, in 1..{@value io.github.ddpm4j.pipeline.SampleRequest#MAX_IMAGES}
   * @param seed the seed of the sequence that gives the seed of each request that names none
   */
  public record Options(String host, int port, int maxImages, long seed) {
    /**
     * @throws IllegalArgumentException naming the field when out of range
     * @throws NullPointerException if {@code host} is null
     */
    public Options {
      Objects.requireNonNull(host, "host");
      if (port < 0 || port > 65535) throw new IllegalArgumentException("port = " + port + " must be in 0..65535");
      if (maxImages < 1 || maxImages > io.github.ddpm4j.pipeline.SampleRequest.MAX_IMAGES) {
        throw new IllegalArgumentException("maxImages = " + maxImages + " must be in 1.." + io.github.ddpm4j.pipeline.SampleRequest.MAX_IMAGES);
      }
    }

    /** @return 127.0.0.1, a free port, {@value SampleServer#DEFAULT_MAX_IMAGES} images a request, seed 0 */
    public static Options defaults() {
      return new Options("127.0.0.1", 0, DEFAULT_MAX_IMAGES, 0);
    }
  }

  private final DDPMPipeline pipeline;
  private final BatchingSampler sampler;
  private final Options options;
  private final ServerMetrics metrics;
  private final EventLoopGroup acceptor;
  private final EventLoopGroup connections;
  private final ExecutorService encoders;
  private final ChannelGroup channels = new DefaultChannelGroup("ddpm4j-http", GlobalEventExecutor.INSTANCE);
  private final SplittableRandom seeds;
  private final AtomicBoolean draining = new AtomicBoolean();
  private final AtomicInteger inFlight = new AtomicInteger();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition idle = lock.newCondition();
  private final CountDownLatch terminated = new CountDownLatch(1);
  private final byte[] page;
  private Channel listener;
  private URI uri;

  private SampleServer(DDPMPipeline pipeline, BatchingSampler.Options batching, Options options) throws IOException {
    this.pipeline = pipeline;
    this.options = options;
    this.seeds = new SplittableRandom(options.seed());
    this.page = Page.load();
    this.sampler = new BatchingSampler(pipeline, batching);
    this.metrics = new ServerMetrics(sampler::queueDepth, inFlight::get);
    sampler.setListener(metrics::batch);
    this.acceptor = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("ddpm4j-http-accept", true), NioIoHandler.newFactory());
    this.connections = new MultiThreadIoEventLoopGroup(2, new DefaultThreadFactory("ddpm4j-http", true), NioIoHandler.newFactory());
    this.encoders = Executors.newFixedThreadPool(2, Thread.ofPlatform().name("ddpm4j-png-", 0).daemon(true).factory());
  }

  /**
   * Starts a server: its sampler's workers, then a socket listening at {@code options}' address.
   *
   * @param pipeline the model to sample from; stays open (the caller closes it after {@link #shutdown})
   * @param batching how the server's {@link BatchingSampler} batches requests and how many may wait
   * @param options where to listen and what one request may ask for
   * @return the running server
   * @throws IOException naming the address if it cannot be bound (in use, not this machine's)
   * @throws NullPointerException if an argument is null
   */
  public static SampleServer start(DDPMPipeline pipeline, BatchingSampler.Options batching, Options options) throws IOException {
    Objects.requireNonNull(pipeline, "pipeline");
    Objects.requireNonNull(batching, "batching");
    Objects.requireNonNull(options, "options");
    SampleServer server = new SampleServer(pipeline, batching, options);
    try {
      server.bind();
      return server;
    } catch (IOException | RuntimeException | Error e) {
      server.stop();
      throw e;
    }
  }

  private void bind() throws IOException {
    ServerBootstrap b = new ServerBootstrap().group(acceptor, connections).channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .option(ChannelOption.SO_REUSEADDR, true)   // a restarted server binds while old connections linger in TIME_WAIT
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            channels.add(ch);
            ch.pipeline().addLast(new HttpServerCodec(), new HttpServerKeepAliveHandler(), new HttpObjectAggregator(MAX_BODY_BYTES),
                new SampleHandler(SampleServer.this));
          }
        });
    InetSocketAddress address = new InetSocketAddress(options.host(), options.port());
    if (address.isUnresolved()) throw new IOException(options.host() + ": no such host");
    try {
      listener = b.bind(address).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(options.host() + ":" + options.port() + ": interrupted while binding", e);
    } catch (Exception e) {
      // Netty rethrows the socket's checked exception (BindException) undeclared
      throw new IOException(options.host() + ":" + options.port() + ": " + e.getMessage(), e);
    }
    InetSocketAddress bound = (InetSocketAddress) listener.localAddress();
    String host = bound.getAddress().isAnyLocalAddress() ? "127.0.0.1" : bound.getAddress().getHostAddress();
    if (host.contains(":")) host = "[" + host + "]";
    uri = URI.create("http://" + host + ":" + bound.getPort() + "/");
  }

  /** @return the server's address, {@code http://HOST:PORT/} (an address of this machine when bound to all) */
  public URI uri() {
    return uri;
  }

  /** @return the model the server samples from */
  public DDPMPipeline pipeline() {
    return pipeline;
  }

  /** @return the sampler that batches the server's requests */
  public BatchingSampler sampler() {
    return sampler;
  }

  /** @return where the server listens and what one request may ask for */
  public Options options() {
    return options;
  }

  /** @return the server's metrics, as {@code GET /metrics} writes them (Prometheus' text format) */
  public String metricsText() {
    return new String(metrics.scrape(), java.nio.charset.StandardCharsets.UTF_8);
  }

  /** @return the server's metrics, for its handlers to count in */
  ServerMetrics metrics() {
    return metrics;
  }

  /** @return the platform threads that encode PNGs, off the event loops and the sampler's workers */
  ExecutorService encoders() {
    return encoders;
  }

  /** @return the page at {@code GET /}, UTF-8 HTML */
  byte[] page() {
    return page;
  }

  /** @return whether {@link #shutdown} has begun: new sample requests get 503 */
  public boolean draining() {
    return draining.get();
  }

  /** @return the seed for a request that names none: the next of the sequence {@link Options#seed()} starts, in [0, 2^53) */
  long nextSeed() {
    synchronized (seeds) {
      return seeds.nextLong(1L << 53);
    }
  }

  /** A sample request was accepted: {@link #shutdown} waits for its answer. */
  void requestStarted() {
    inFlight.incrementAndGet();
  }

  /** A sample request was answered, or abandoned by its client. */
  void requestEnded() {
    if (inFlight.decrementAndGet() == 0) {
      lock.lock();
      try {
        idle.signalAll();
      } finally {
        lock.unlock();
      }
    }
  }

  /**
   * Stops gracefully: closes the listening socket (new connections are refused), answers new requests on open
   * connections with 503, lets the sampler run every request it has taken and waits for their answers to be
   * written, then closes the connections and the server's threads. Idempotent: a second call waits for the first.
   *
   * @param timeout how long to wait for the requests already taken
   * @return whether every request taken was answered within {@code timeout}
   */
  public boolean shutdown(Duration timeout) {
    if (!draining.compareAndSet(false, true)) {
      try {
        if (!terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS)) return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
      return inFlight.get() == 0;
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      if (listener != null) listener.close().awaitUninterruptibly();
      boolean drained = sampler.close(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
      lock.lock();
      try {
        long left;
        while (inFlight.get() > 0 && (left = deadline - System.nanoTime()) > 0) idle.awaitNanos(left);
      } finally {
        lock.unlock();
      }
      return drained && inFlight.get() == 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      stop();
    }
  }

  /** Closes the connections and the server's threads, without waiting for requests. */
  private void stop() {
    draining.set(true);
    try {
      channels.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      acceptor.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      connections.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      encoders.shutdown();
      sampler.close(Duration.ZERO);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      terminated.countDown();
    }
  }

  /**
   * Waits until the server has stopped ({@link #shutdown}); returns at once if it has.
   *
   * @throws InterruptedException if the waiting thread is interrupted
   */
  public void awaitTermination() throws InterruptedException {
    terminated.await();
  }

  /** {@link #shutdown(Duration)} with 30 seconds for the requests already taken. Does not close the pipeline. */
  @Override
  public void close() {
    shutdown(Duration.ofSeconds(30));
  }
}
