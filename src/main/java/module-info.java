/**
 * Denoising Diffusion Probabilistic Models on LibTorch through the Foreign Function and
 * Memory API. The packages from {@code torch} up are exported; the generated bindings
 * ({@code io.github.ddpm4j.ffi}) are not, so that code outside this module reaches
 * LibTorch only through {@code io.github.ddpm4j.torch}.
 *
 * <p>Run on the module path, the module needs native access:
 * {@code --enable-native-access=io.github.ddpm4j}. On the class path (as {@code bin/ddpm4j}
 * runs it) that is {@code --enable-native-access=ALL-UNNAMED}, as before.
 *
 * <p>picocli, progressbar and JFreeChart are static requirements: the library works without them,
 * and a program that depends on ddpm4j does not get them. The command line needs them; on the
 * module path, resolve them with
 * {@code --add-modules info.picocli,me.tongfei.progressbar,org.jfree.jfreechart}.
 */
module io.github.ddpm4j {
  requires java.desktop;
  requires java.management;
  requires java.xml;
  requires jdk.management;
  requires com.google.gson;
  // The command line's dependencies, optional for a program that uses the library: the loss plot
  // (JFreeChart), the progress bar (progressbar), the options (picocli), and the sampling server's HTTP
  // stack (Netty) and metrics (the Prometheus client). The library runs without them; the command line
  // on the module path needs them resolved (--add-modules, see above).
  requires static info.picocli;
  requires static me.tongfei.progressbar;
  requires static org.jfree.jfreechart;
  requires static io.netty.buffer;
  requires static io.netty.codec;
  requires static io.netty.codec.http;
  requires static io.netty.common;
  requires static io.netty.handler;
  requires static io.netty.transport;
  // The Prometheus client's jars declare their names in their manifests (automatic modules).
  requires static io.prometheus.metrics.core;
  requires static io.prometheus.metrics.model;
  requires static io.prometheus.writer.text;
  // Pyrolite's jar declares no module name: "pickle" is derived from its file name, pickle-1.5.jar.
  requires pickle;
  // Apache Commons Math 3.6.1 (FID's eigendecompositions) declares no Automatic-Module-Name in its manifest:
  // "commons.math3" is derived from its file name, commons-math3-3.6.1.jar.
  requires commons.math3;

  exports io.github.ddpm4j.torch;
  exports io.github.ddpm4j.nn;
  exports io.github.ddpm4j.optim;
  exports io.github.ddpm4j.serialize;
  exports io.github.ddpm4j.io;
  exports io.github.ddpm4j.console;
  exports io.github.ddpm4j.diffusion;
  exports io.github.ddpm4j.distributed;
  exports io.github.ddpm4j.data;
  exports io.github.ddpm4j.train;
  exports io.github.ddpm4j.pipeline;
  exports io.github.ddpm4j.eval;
  exports io.github.ddpm4j.server;
  exports io.github.ddpm4j.cli;

  // Gson reads and writes the training configuration (a record holding the UNet's) by reflection.
  opens io.github.ddpm4j.train to com.google.gson;
  opens io.github.ddpm4j.diffusion to com.google.gson;
  // picocli sets the annotated fields of the commands.
  opens io.github.ddpm4j.cli to info.picocli;
}
