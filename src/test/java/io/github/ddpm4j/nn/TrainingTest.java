package io.github.ddpm4j.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.util.Map;
import org.junit.jupiter.api.Test;
import io.github.ddpm4j.optim.Adam;
import io.github.ddpm4j.torch.Functional;

/**
 * A two-layer SiLU MLP trained end to end on a small regression task (Adam,
 * gradient clipping) follows PyTorch's loss curve step by step
 * (fixtures/nn/train.json), and its loss falls.
 */
class TrainingTest extends TorchTestBase {
  static final double TOL = 1e-5;

  @Test
  void lossCurveMatchesPyTorchAndFalls() {
    JsonObject fx = Fixtures.load("train");
    Tensor x = Fixtures.tensor(fx.get("x"));
    Tensor y = Fixtures.tensor(fx.get("y"));
    JsonArray losses = fx.getAsJsonArray("losses");
    JsonArray norms = fx.getAsJsonArray("grad_norms");
    double maxNorm = fx.get("max_norm").getAsDouble();
    long handles = Torch.liveHandles();
    double worst = 0;
    double first = Double.NaN;
    double last = Double.NaN;
    try (Sequential model = new Sequential(new Linear(2, 16), new SiLU(), new Linear(16, 1));
        Adam opt = new Adam(model.parameters(), fx.get("lr").getAsDouble())) {
      try (Scope s = Scope.open()) {
        model.loadStateDict(Fixtures.tensors(fx.getAsJsonObject("init")));
      }
      for (int step = 0; step < losses.size(); step++) {
        try (Scope s = Scope.open()) {
          opt.zeroGrad();
          Tensor loss = Functional.mseLoss(model.forward(x), y);
          loss.backward();
          double norm = Utils.clipGradNorm(model.parameters(), maxNorm);
          opt.step();
          double l = loss.item();
          double expected = losses.get(step).getAsDouble();
          double err = Math.abs(l - expected) / Math.abs(expected);
          double normErr = Math.abs(norm - norms.get(step).getAsDouble()) / norms.get(step).getAsDouble();
          worst = Math.max(worst, Math.max(err, normErr));
          assertTrue(err <= TOL, "step " + step + ": loss " + l + " vs PyTorch's " + expected);
          assertTrue(normErr <= TOL, "step " + step + ": gradient norm " + norm + " vs PyTorch's " + norms.get(step));
          if (step == 0) first = l;
          last = l;
        }
      }
      Map<String, Tensor> sd = model.stateDict();
      JsonObject fin = fx.getAsJsonObject("final");
      assertEquals(fin.keySet(), sd.keySet());
      for (String k : fin.keySet()) Fixtures.assertClose("train", "final " + k, sd.get(k), fin.get(k), TOL);
    }
    Fixtures.WORST.merge("train", worst, Math::max);
    assertTrue(last < 0.4 * first, "loss should fall: first " + first + ", last " + last);
    assertEquals(handles, Torch.liveHandles(), "training leaves no native handles behind");
    System.out.println("[nn parity] training: loss " + first + " -> " + last + ", max relative error of losses/norms " + worst
        + ", final state " + Fixtures.WORST.get("train"));
  }
}
