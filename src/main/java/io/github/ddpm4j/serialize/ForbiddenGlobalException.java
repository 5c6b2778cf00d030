package io.github.ddpm4j.serialize;

/**
 * A PyTorch checkpoint whose pickle refers to a Python global (a class or
 * function) outside the short list that a state dict needs. Loading such a file
 * would mean running arbitrary code in Python; ddpm4j refuses it, as
 * {@code torch.load(f, weights_only=True)} does.
 *
 * <p>The allowed globals are {@code collections.OrderedDict},
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter}
 * and the typed storage classes {@code torch.FloatStorage},
 * {@code DoubleStorage}, {@code HalfStorage}, {@code BFloat16Storage},
 * {@code LongStorage}, {@code IntStorage}, {@code ShortStorage},
 * {@code CharStorage}, {@code ByteStorage} and {@code BoolStorage}; and
 * {@code torch.jit._pickle.restore_type_tag}, an identity function that
 * LibTorch's C++ {@code torch::pickle_save} writes.
 */
public final class ForbiddenGlobalException extends CorruptFileException {
  private static final long serialVersionUID = 1L;

  private final String global;

  /**
   * @param message the file and the refused global
   * @param global the refused global as {@code module.name}
   */
  public ForbiddenGlobalException(String message, String global) {
    super(message);
    this.global = global;
  }

  /** @return the refused global, as {@code module.name} (for example {@code os.system}) */
  public String global() {
    return global;
  }
}
