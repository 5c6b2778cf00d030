/**
 * Denoising Diffusion Probabilistic Models on LibTorch through the Foreign Function and
 * Memory API. The packages from {@code torch} up are exported; the generated bindings
 * ({@code io.github.ddpm4j.ffi}) are not, so that code outside this module reaches
 * LibTorch only through {@code io.github.ddpm4j.torch}.
 *
 * <p>Run on the module path, the module needs native access:
 * {@code --enable-native-access=io.github.ddpm4j}. On the class path (as {@code bin/ddpm4j}
 * runs it) that is {@code --enable-native-access=ALL-UNNAMED}, as before.
 */
module io.github.ddpm4j {
  requires java.desktop;
  requires java.management;
  requires java.xml;
  requires jdk.management;
  requires com.google.gson;
  requires info.picocli;
  requires me.tongfei.progressbar;
  requires org.jfree.jfreechart;
  requires io.netty.buffer;
  requires io.netty.codec;
  requires io.netty.codec.http;
  requires io.netty.common;
  requires io.netty.handler;
  requires io.netty.transport;
  // The Prometheus client's jars declare their names in their manifests (automatic modules).
  requires io.prometheus.metrics.core;
  requires io.prometheus.metrics.model;
  requires io.prometheus.writer.text;
  // Pyrolite's jar declares no module name: "pickle" is derived from its file name, pickle-1.5.jar.
  requires pickle;

  exports io.github.ddpm4j.torch;
  exports io.github.ddpm4j.nn;
  exports io.github.ddpm4j.optim;
  exports io.github.ddpm4j.serialize;
  exports io.github.ddpm4j.io;
  exports io.github.ddpm4j.console;
  exports io.github.ddpm4j.diffusion;
  exports io.github.ddpm4j.data;
  exports io.github.ddpm4j.train;
  exports io.github.ddpm4j.pipeline;
  exports io.github.ddpm4j.server;
  exports io.github.ddpm4j.cli;

  // Gson reads and writes the training configuration (a record holding the UNet's) by reflection.
  opens io.github.ddpm4j.train to com.google.gson;
  opens io.github.ddpm4j.diffusion to com.google.gson;
  // picocli sets the annotated fields of the commands.
  opens io.github.ddpm4j.cli to info.picocli;
}
