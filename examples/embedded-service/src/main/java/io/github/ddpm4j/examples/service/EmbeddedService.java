package io.github.ddpm4j.examples.service;

import io.github.ddpm4j.pipeline.DDPMPipeline;
import io.github.ddpm4j.pipeline.GeneratedImages;
import io.github.ddpm4j.pipeline.SampleRequest;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A program that embeds ddpm4j: it loads a checkpoint written by {@code ddpm4j train}, samples a
 * grid of images with DDIM and writes it to a file, then prints one line.
 *
 * <pre>java -jar embedded-service.jar CHECKPOINT [OUT.png [IMAGES [STEPS [SEED]]]]</pre>
 *
 * A long-running service would keep the pipeline open and call {@code sample} for each request;
 * the pipeline is thread-safe.
 */
public final class EmbeddedService {
  private EmbeddedService() {}

  /**
   * @param args the checkpoint; optionally the output file (default {@code samples.png}), the number of
   *     images (16), the DDIM steps (20) and the seed (0)
   * @throws Exception if the checkpoint cannot be read, sampling fails or the file cannot be written
   */
  public static void main(String[] args) throws Exception {
    if (args.length < 1 || args.length > 5) {
      System.err.println("usage: embedded-service CHECKPOINT [OUT.png [IMAGES [STEPS [SEED]]]]");
      System.exit(2);
    }
    Path checkpoint = Path.of(args[0]);
    Path out = Path.of(args.length > 1 ? args[1] : "samples.png");
    int count = args.length > 2 ? Integer.parseInt(args[2]) : 16;
    int steps = args.length > 3 ? Integer.parseInt(args[3]) : 20;
    long seed = args.length > 4 ? Long.parseLong(args[4]) : 0;
    long start = System.nanoTime();
    try (DDPMPipeline pipeline = DDPMPipeline.fromCheckpoint(checkpoint, Device.CPU);
         GeneratedImages images = pipeline.sample(SampleRequest.ddim(count, seed, steps))) {
      byte[] grid = images.gridPng();              // the images as one PNG grid
      List<byte[]> pngs = images.pngs();           // one PNG per image
      Tensor pixels = images.images();             // float32 [n, channels, height, width] in [-1, 1]
      Files.write(out, grid);
      System.out.printf(Locale.ROOT, "embedded-service: wrote %s (images %s, %d PNGs, a %d-byte grid) from %s, DDIM %d steps, seed %d, in %.1f s%n",
          out, Arrays.toString(pixels.shape()), pngs.size(), grid.length, checkpoint, steps, seed, (System.nanoTime() - start) / 1e9);
    }
  }
}
