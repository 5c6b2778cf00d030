/**
 * Sampling from a trained DDPM inside a service: {@link io.github.ddpm4j.pipeline.DDPMPipeline} loads a
 * checkpoint (or a state dict and a configuration) onto a device and generates images from a
 * {@link io.github.ddpm4j.pipeline.SampleRequest}, as {@link io.github.ddpm4j.pipeline.GeneratedImages}
 * (a tensor, PNGs, a grid). A pipeline is thread-safe: many threads share one, and the same request gives
 * the same images whatever else runs. {@link io.github.ddpm4j.pipeline.BatchingSampler} runs concurrent
 * compatible requests as one batched reverse loop.
 */
package io.github.ddpm4j.pipeline;
