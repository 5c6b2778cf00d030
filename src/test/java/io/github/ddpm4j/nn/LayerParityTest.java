package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.google.gson.JsonObject;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each layer, given PyTorch's weights and input, must produce PyTorch's output
 * and PyTorch's gradients of {@code (out * R).sum()} for the input and every
 * parameter (fixtures/nn/layers.json).
 */
class LayerParityTest extends TorchTestBase {
  static final double TOL = 1e-5;

  static Stream<String> cases() {
    return Fixtures.load("layers").keySet().stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void forwardAndBackwardMatchPyTorch(String name) {
    JsonObject c = Fixtures.load("layers").getAsJsonObject(name);
    try (Module m = Fixtures.build(c)) {
      m.loadStateDict(Fixtures.tensors(c.getAsJsonObject("state")));
      m.train(c.get("train").getAsBoolean());
      assertEquals(c.get("repr").getAsString(), m.toString(), "repr");

      Tensor x = Fixtures.tensor(c.get("input")).requiresGrad_(true);
      if (c.has("forward_seed")) Torch.manualSeed(c.get("forward_seed").getAsLong());
      Tensor y = ((UnaryModule) m).forward(x);
      Fixtures.assertClose("layers", name + " output", y, c.get("output"), TOL);

      y.mul(Fixtures.tensor(c.get("r"))).sum().backward();
      Fixtures.assertClose("layers", name + " input grad", x.grad(), c.get("grad_input"), TOL);
      JsonObject grads = c.getAsJsonObject("grads");
      Map<String, Tensor> params = m.namedParameters();
      assertEquals(grads.keySet(), params.keySet(), "parameter names");
      for (String k : grads.keySet()) {
        Tensor g = params.get(k).grad();
        assertNotNull(g, name + ": no gradient for " + k);
        Fixtures.assertClose("layers", name + " grad of " + k, g, grads.get(k), TOL);
      }
    }
  }

  @AfterAll
  static void report() {
    System.out.println("[nn parity] layers: max relative error " + Fixtures.WORST.get("layers"));
  }
}
