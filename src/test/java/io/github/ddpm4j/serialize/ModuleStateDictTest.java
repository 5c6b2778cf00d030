package io.github.ddpm4j.serialize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.nn.StateDictMismatchException;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import io.github.ddpm4j.torch.TorchTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** State dicts from files fit {@link Module#loadStateDict}, whose dotted names match PyTorch's. */
class ModuleStateDictTest extends TorchTestBase {
  @TempDir Path dir;

  /** A module with the same tree of dotted names as a given state dict, filled with zeros. */
  static final class Mirror extends Module {
    Mirror(Map<String, Tensor> shape) {
      for (Map.Entry<String, Tensor> e : shape.entrySet()) add(this, e.getKey(), e.getValue());
    }

    private Mirror() {}

    private static void add(Mirror m, String name, Tensor like) {
      int dot = name.indexOf('.');
      if (dot < 0) {
        // Buffers keep registration order, as the fixture's own module has only buffers at the top.
        if ((name.equals("weight") || name.equals("bias")) && like.dtype().isFloatingPoint()) {
          m.registerParameter(name, Torch.zerosLike(like));
        } else {
          m.registerBuffer(name, Torch.zerosLike(like));
        }
        return;
      }
      String child = name.substring(0, dot);
      Mirror c = (Mirror) m.namedChildren().get(child);
      if (c == null) c = m.registerModule(child, new Mirror());
      add(c, name.substring(dot + 1), like);
    }
  }

  @Test
  void pythonCheckpointLoadsIntoAModuleAndBackOut() throws IOException {
    Path in = dir.resolve("model.pt");
    Files.write(in, fixtureBytes("serialize/model.pt"));
    Path out = dir.resolve("again.safetensors");
    try (StateDict sd = StateDict.loadPyTorch(in); Mirror m = new Mirror(sd)) {
      Module.LoadResult r = m.loadStateDict(sd, true);
      assertTrue(r.missingKeys().isEmpty() && r.unexpectedKeys().isEmpty());
      assertEquals(new ArrayList<>(sd.keySet()), new ArrayList<>(m.stateDict().keySet()));
      for (Map.Entry<String, Tensor> e : sd.entrySet()) assertTrue(m.stateDict().get(e.getKey()).equal(e.getValue()), e.getKey());
      StateDict.saveSafetensors(m.stateDict(), out);
    }
    // The module's copies outlive the file's dict; what it saved reads back equal.
    try (StateDict a = StateDict.loadPyTorch(in); StateDict b = StateDict.loadSafetensors(out)) {
      assertEquals(a.keySet(), b.keySet());
      for (String k : a.keySet()) assertTrue(a.get(k).equal(b.get(k)), k);
    }
  }

  @Test
  void mismatchedCheckpointIsReportedByTheModule() throws IOException {
    Path file = dir.resolve("m.pt");
    StateDict.savePyTorch(Map.of("w", Torch.ones(2, 3)), file);
    try (StateDict sd = StateDict.loadPyTorch(file); Mirror m = new Mirror(Map.of("w", Torch.ones(3, 2), "b", Torch.ones(1)))) {
      StateDictMismatchException e = assertThrows(StateDictMismatchException.class, () -> m.loadStateDict(sd, true));
      assertEquals(1, e.shapeMismatches().size());
    }
  }
}
