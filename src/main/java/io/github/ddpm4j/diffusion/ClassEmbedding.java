package io.github.ddpm4j.diffusion;

import io.github.ddpm4j.nn.Init;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;

/**
 * The class embedding of a class-conditional {@link UNet}: a lookup table, as
 * {@code torch.nn.Embedding(numClasses + 1, embeddingDim)}, whose last row is the "no class" token of
 * classifier-free guidance (Ho &amp; Salimans 2022, section 3.2). Its one parameter {@code weight}
 * {@code [numClasses + 1, embeddingDim]} starts N(0, 1) from the default generator, as
 * {@code Embedding.reset_parameters} draws it.
 */
final class ClassEmbedding extends Module {
  /**
   * @param rows the table's rows: the classes plus the "no class" token
   * @param embeddingDim the width of each row
   */
  ClassEmbedding(long rows, long embeddingDim) {
    Init.normal_(registerParameter("weight", Torch.empty(new long[] {rows, embeddingDim}, DType.FLOAT32, Device.CPU)));
  }

  /**
   * {@code F.embedding(labels, weight)}, through {@code index_select} (differentiable in the table).
   *
   * @param labels int64 {@code [batch]}, each a row of the table (checked by the caller)
   * @return float32 {@code [batch, embeddingDim]}; joins the caller's scope
   */
  Tensor forward(Tensor labels) {
    return parameter("weight").indexSelect(0, labels);
  }
}
