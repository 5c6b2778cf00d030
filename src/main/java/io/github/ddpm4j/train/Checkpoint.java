package io.github.ddpm4j.train;

import io.github.ddpm4j.data.DataLoader;
import io.github.ddpm4j.optim.GradScaler;
import io.github.ddpm4j.nn.Module;
import io.github.ddpm4j.serialize.StateDict;
import io.github.ddpm4j.torch.DType;
import io.github.ddpm4j.torch.Device;
import io.github.ddpm4j.torch.Scope;
import io.github.ddpm4j.torch.Tensor;
import io.github.ddpm4j.torch.Torch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint: one file in PyTorch's own format ({@code torch.save}'s
 * zip), written atomically (a temporary file, then a rename), so that a kill at
 * any moment leaves the previous checkpoint intact.
 *
 * <p>It is a flat dict, so Python reads it with {@code torch.load(path)}:
 * <ul>
 *   <li>{@code model.<name>}: the trained weights, with the seed UNet's state-dict keys;</li>
 *   <li>{@code ema.<name>}: the averaged weights that sampling uses;</li>
 *   <li>{@code optimizer}: Adam's state in LibTorch's archive format, as uint8;</li>
 *   <li>{@code rng.torch}, {@code rng.diffusion}, {@code rng.loader_epoch_start}, {@code rng.loader}:
 *       generator states (uint8);</li>
 *   <li>{@code rng.torch.rank1}, {@code rng.torch.rank2}, ...: the default generator states of the other
 *       processes of a data-parallel run (uint8), rank 0's being {@code rng.torch};</li>
 *   <li>{@code meta.step}, {@code meta.loader_epoch}, {@code meta.loader_position}: int64 scalars;</li>
 *   <li>{@code meta.world_size}: the number of processes that trained the run, int64 scalar (a checkpoint
 *       without it was written by one);</li>
 *   <li>{@code meta.grad_scale} (float64) and {@code meta.grad_scale_growth_tracker} (int64): the loss
 *       scaler of a float16 run, only there;</li>
 *   <li>{@code meta.config}: the {@link TrainConfig} as UTF-8 JSON bytes (uint8).</li>
 * </ul>
 * In Python: {@code {k[4:]: v for k, v in torch.load(p).items() if k.startswith("ema.")}} is a
 * state dict for the seed's UNet.
 */
public final class Checkpoint {
  /** Prefix of the trained weights' keys ({@code model.<state-dict key>}). */
  public static final String MODEL = "model.";
  /** Prefix of the averaged (EMA) weights' keys ({@code ema.<state-dict key>}). */
  public static final String EMA = "ema.";
  /** The optimizer's state in LibTorch's archive format, uint8. */
  public static final String OPTIMIZER = "optimizer";
  /** The default CPU generator's state (dropout draws), uint8. */
  public static final String RNG_TORCH = "rng.torch";
  /** The state of the generator that draws timesteps and noise, uint8. */
  public static final String RNG_DIFFUSION = "rng.diffusion";
  /** The data loader's generator state at the start of its epoch, uint8. */
  public static final String RNG_LOADER_EPOCH_START = "rng.loader_epoch_start";
  /** The data loader's generator state now, uint8. */
  public static final String RNG_LOADER = "rng.loader";
  /** What follows {@link #RNG_TORCH} in the key of another rank's default generator state: {@code rng.torch.rank1}. */
  public static final String RANK = ".rank";
  /** The number of processes that trained the run, int64 scalar (absent: one). */
  public static final String WORLD_SIZE = "meta.world_size";
  /** Optimizer steps completed, int64 scalar. */
  public static final String STEP = "meta.step";
  /** The data loader's epoch, int64 scalar. */
  public static final String LOADER_EPOCH = "meta.loader_epoch";
  /** The data loader's position in its epoch, int64 scalar. */
  public static final String LOADER_POSITION = "meta.loader_position";
  /** The loss scale of a float16 run, float64 scalar (only there). */
  public static final String GRAD_SCALE = "meta.grad_scale";
  /** The loss scaler's growth tracker of a float16 run, int64 scalar (only there). */
  public static final String GRAD_SCALE_GROWTH = "meta.grad_scale_growth_tracker";
  /** The {@link TrainConfig} as UTF-8 JSON, uint8. */
  public static final String CONFIG = "meta.config";

  private Checkpoint() {}

  /**
   * Everything a run needs to continue bit for bit.
   *
   * @param config the run's configuration
   * @param step optimizer steps completed
   * @param model the trained model
   * @param ema the averaged model
   * @param optimizerState the optimizer archive ({@code Optimizer.saveState()})
   * @param torchRng the default CPU generator's state (dropout draws)
   * @param diffusionRng the state of the generator that draws timesteps and noise
   * @param loader the data loader's position and generator states
   * @param scaler the loss scaler's state of a float16 run, or {@code null} when the run has no scaler
   * @param worldSize the number of processes that train the run, &gt;= 1
   * @param rankTorchRng the default generator states of ranks 1..worldSize-1, in order (empty for one process)
   * @throws IllegalArgumentException if {@code rankTorchRng} does not hold worldSize - 1 states
   */
  public record State(TrainConfig config, long step, Module model, Module ema, byte[] optimizerState, Tensor torchRng,
      Tensor diffusionRng, DataLoader.State loader, GradScaler.State scaler, int worldSize, List<Tensor> rankTorchRng) {
    /** Checks the world size against the ranks' generator states. */
    public State {
      rankTorchRng = List.copyOf(rankTorchRng);
      if (worldSize < 1 || rankTorchRng.size() != worldSize - 1) {
        throw new IllegalArgumentException("a checkpoint of " + worldSize + " processes needs the generator states of its ranks 1.."
            + (worldSize - 1) + ", got " + rankTorchRng.size());
      }
    }

    /**
     * The state of a single process.
     *
     * @param config the run's configuration
     * @param step optimizer steps completed
     * @param model the trained model
     * @param ema the averaged model
     * @param optimizerState the optimizer archive ({@code Optimizer.saveState()})
     * @param torchRng the default CPU generator's state (dropout draws)
     * @param diffusionRng the state of the generator that draws timesteps and noise
     * @param loader the data loader's position and generator states
     * @param scaler the loss scaler's state of a float16 run, or {@code null} when the run has no scaler
     */
    public State(TrainConfig config, long step, Module model, Module ema, byte[] optimizerState, Tensor torchRng, Tensor diffusionRng,
        DataLoader.State loader, GradScaler.State scaler) {
      this(config, step, model, ema, optimizerState, torchRng, diffusionRng, loader, scaler, 1, List.of());
    }
  }

  /**
   * A checkpoint as read by {@link #read}: every part of it, typed. The tensors are views of the
   * memory-mapped file, valid until this is closed.
   *
   * @param file the file it was read from
   * @param config the run's configuration
   * @param step optimizer steps completed
   * @param model the trained weights: a state dict with the UNet's keys
   * @param ema the averaged weights that sampling uses: a state dict with the UNet's keys
   * @param optimizerState the optimizer's archive, or null when absent
   * @param torchRng the default CPU generator's state (uint8), or null when absent
   * @param diffusionRng the state of the generator that draws timesteps and noise (uint8), or null when absent
   * @param loader the data loader's position and generator states, or null when absent
   * @param scaler the loss scaler's state of a float16 run, or null
   * @param worldSize the number of processes that trained the run (1 where the file does not say)
   * @param entries every entry of the file, by its key
   */
  public record Contents(Path file, TrainConfig config, long step, Map<String, Tensor> model, Map<String, Tensor> ema,
      byte[] optimizerState, Tensor torchRng, Tensor diffusionRng, DataLoader.State loader, GradScaler.State scaler,
      int worldSize, StateDict entries) implements AutoCloseable {
    /**
     * @param rank a rank of the run that wrote the checkpoint, 0..worldSize-1
     * @return that rank's default generator state (uint8), or null when absent
     */
    public Tensor rankTorchRng(int rank) {
      return rank == 0 ? torchRng : entries.get(RNG_TORCH + RANK + rank);
    }

    /** Unmaps the file: every tensor of this record is invalid afterwards. */
    @Override
    public void close() {
      entries.close();
    }
  }

  /**
   * Writes a checkpoint atomically.
   *
   * @param state what to save
   * @param file the destination
   * @throws IOException if writing fails (the previous file is then untouched)
   */
  public static void save(State state, Path file) throws IOException {
    try (Scope scope = Scope.open()) {
      Map<String, Tensor> out = new LinkedHashMap<>();
      state.model().stateDict().forEach((k, v) -> out.put(MODEL + k, v));
      state.ema().stateDict().forEach((k, v) -> out.put(EMA + k, v));
      out.put(OPTIMIZER, Torch.tensor(state.optimizerState(), state.optimizerState().length));
      out.put(RNG_TORCH, state.torchRng());
      for (int r = 1; r < state.worldSize(); r++) out.put(RNG_TORCH + RANK + r, state.rankTorchRng().get(r - 1));
      out.put(RNG_DIFFUSION, state.diffusionRng());
      out.put(RNG_LOADER_EPOCH_START, state.loader().epochStart());
      out.put(RNG_LOADER, state.loader().current());
      out.put(STEP, scalar(state.step()));
      out.put(LOADER_EPOCH, scalar(state.loader().epoch()));
      out.put(LOADER_POSITION, scalar(state.loader().position()));
      out.put(WORLD_SIZE, scalar(state.worldSize()));
      if (state.scaler() != null) {
        out.put(GRAD_SCALE, Torch.full(new long[0], state.scaler().scale(), DType.FLOAT64, Device.CPU));
        out.put(GRAD_SCALE_GROWTH, scalar(state.scaler().growthTracker()));
      }
      byte[] json = state.config().toJson().getBytes(StandardCharsets.UTF_8);
      out.put(CONFIG, Torch.tensor(json, json.length));
      StateDict.savePyTorch(out, file);
    }
  }

  private static Tensor scalar(long v) {
    return Torch.full(new long[0], v, DType.INT64, Device.CPU);
  }

  /**
   * Opens a checkpoint written by {@link #save}, checking that it is one: a PyTorch
   * zip archive holding the step counter and a training configuration that passes
   * every check of {@link TrainConfig} (the checks the command line's options pass), so that
   * nothing is built from absurd sizes in a tampered or corrupt file.
   *
   * @param file the checkpoint
   * @return its tensors (memory-mapped; close when done)
   * @throws java.nio.file.NoSuchFileException if the file does not exist (the message names it)
   * @throws IOException if the file is corrupt, or not a ddpm4j checkpoint, or its configuration is
   *     invalid ({@code "FILE: invalid configuration: imageSize = 100000 must be in 4..1024"}); the
   *     message names the file
   */
  public static StateDict open(Path file) throws IOException {
    if (!Files.exists(file)) throw new NoSuchFileException(file.toString(), null, "no such checkpoint file");
    StateDict sd;
    try {
      sd = StateDict.loadPyTorch(file);
    } catch (NoSuchFileException e) {
      throw e;
    } catch (IOException e) {
      String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      throw new IOException(file + ": not a readable ddpm4j checkpoint (" + m.replace(file + ": ", "") + ")", e);
    }
    try {
      for (String key : new String[] {CONFIG, STEP}) {
        if (!sd.containsKey(key)) throw new IOException(file + ": not a ddpm4j checkpoint (no '" + key + "' entry)");
      }
      try {
        config(sd);
      } catch (IllegalArgumentException e) {
        throw new IOException(file + ": " + e.getMessage(), e);
      }
      try {
        if (meta(sd, STEP) < 0) throw new IllegalArgumentException("negative step count");
      } catch (RuntimeException e) {
        throw new IOException(file + ": corrupt ddpm4j checkpoint: " + e.getMessage(), e);
      }
      return sd;
    } catch (IOException e) {
      sd.close();
      throw e;
    }
  }

  /**
   * Reads a checkpoint into its typed parts, with the checks of {@link #open}. The training state
   * (optimizer, generators, data loader) is read where present and left null where absent, so that a
   * checkpoint stripped down to its weights and configuration still reads.
   *
   * @param file the checkpoint
   * @return its parts; close it to unmap the file
   * @throws java.nio.file.NoSuchFileException if the file does not exist
   * @throws IOException if the file is corrupt, not a ddpm4j checkpoint, or holds a malformed entry
   *     (the message names the file and the entry)
   */
  public static Contents read(Path file) throws IOException {
    StateDict sd = open(file);
    try {
      boolean hasLoader = sd.containsKey(LOADER_EPOCH);
      DataLoader.State loader = hasLoader ? new DataLoader.State(meta(sd, LOADER_EPOCH), meta(sd, LOADER_POSITION),
          required(sd, RNG_LOADER_EPOCH_START), required(sd, RNG_LOADER)) : null;
      Tensor optimizer = sd.get(OPTIMIZER);
      long worldSize = sd.containsKey(WORLD_SIZE) ? meta(sd, WORLD_SIZE) : 1;
      if (worldSize < 1 || worldSize > Integer.MAX_VALUE) throw new IllegalArgumentException("'" + WORLD_SIZE + "' is " + worldSize);
      return new Contents(file, config(sd), meta(sd, STEP), weights(sd, MODEL), weights(sd, EMA),
          optimizer == null ? null : optimizer.toByteArray(), sd.get(RNG_TORCH), sd.get(RNG_DIFFUSION), loader,
          sd.containsKey(GRAD_SCALE) ? scaler(sd) : null, (int) worldSize, sd);
    } catch (RuntimeException e) {
      sd.close();
      throw new IOException(file + ": corrupt ddpm4j checkpoint: " + e.getMessage(), e);
    }
  }

  /**
   * @param checkpoint an opened checkpoint
   * @param key an entry that must be there
   * @return the entry
   * @throws IllegalArgumentException naming the key if it is absent
   */
  public static Tensor required(Map<String, Tensor> checkpoint, String key) {
    Tensor t = checkpoint.get(key);
    if (t == null) throw new IllegalArgumentException("no '" + key + "' entry");
    return t;
  }

  /**
   * @param checkpoint an opened checkpoint
   * @return its training configuration
   * @throws IllegalArgumentException if the stored configuration is missing, malformed or invalid
   *     (see {@link TrainConfig#fromJson})
   */
  public static TrainConfig config(Map<String, Tensor> checkpoint) {
    Tensor json = checkpoint.get(CONFIG);
    if (json == null) throw new IllegalArgumentException("checkpoint has no '" + CONFIG + "' entry");
    if (json.dtype() != DType.UINT8 || json.dim() != 1) {
      throw new IllegalArgumentException("malformed configuration: 'meta.config' must be a 1-d uint8 tensor, got " + json.dtype() + java.util.Arrays.toString(json.shape()));
    }
    return TrainConfig.fromJson(new String(json.toByteArray(), StandardCharsets.UTF_8));
  }

  /**
   * @param checkpoint an opened checkpoint
   * @param prefix {@code "model."} or {@code "ema."}
   * @return the entries under {@code prefix}, with the prefix removed (a state dict)
   */
  public static Map<String, Tensor> weights(Map<String, Tensor> checkpoint, String prefix) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    checkpoint.forEach((k, v) -> {
      if (k.startsWith(prefix)) out.put(k.substring(prefix.length()), v);
    });
    return out;
  }

  /**
   * The numeric health of a group of weights, as {@link #weightStats} measures it.
   *
   * @param values floating-point values examined
   * @param nonFinite how many of them are NaN or infinite
   * @param firstNonFinite the first entry, in file order, that holds a non-finite value (its full key), or null
   * @param maxAbs the largest |w| among the finite values, or NaN when none is finite
   */
  public record WeightStats(long values, long nonFinite, String firstNonFinite, double maxAbs) {
    /** Above this |w| a weight counts as extreme: trained DDPM weights stay within a few units. */
    public static final double EXTREME = 1e4;

    /** @return whether every value is finite */
    public boolean allFinite() {
      return nonFinite == 0;
    }

    /** @return whether some finite value exceeds {@link #EXTREME} in magnitude */
    public boolean extreme() {
      return maxAbs > EXTREME;
    }
  }

  /**
   * Counts the non-finite values of the floating-point entries under {@code prefix} and finds the
   * largest finite magnitude, with a few LibTorch reductions per entry (no copy to Java).
   *
   * @param checkpoint an opened checkpoint (or any state dict)
   * @param prefix {@code "model."} or {@code "ema."}
   * @return the counts; zero values when no entry matches
   */
  public static WeightStats weightStats(Map<String, Tensor> checkpoint, String prefix) {
    long values = 0, nonFinite = 0, finite = 0;
    String first = null;
    double maxAbs = 0;
    for (Map.Entry<String, Tensor> e : checkpoint.entrySet()) {
      Tensor t = e.getValue();
      if (!e.getKey().startsWith(prefix) || !t.dtype().isFloatingPoint() || t.numel() == 0) continue;
      try (Scope scope = Scope.open()) {
        Tensor ok = t.isfinite();
        long good = ok.sum().itemLong();
        values += t.numel();
        finite += good;
        if (good < t.numel()) {
          nonFinite += t.numel() - good;
          if (first == null) first = e.getKey();
        }
        if (good > 0) maxAbs = Math.max(maxAbs, t.abs().maskedFill(ok.logicalNot(), 0).amax().item());
      }
    }
    return new WeightStats(values, nonFinite, first, finite == 0 && values > 0 ? Double.NaN : maxAbs);
  }

  /**
   * @param checkpoint an opened checkpoint of a float16 run
   * @return its loss scaler's state
   * @throws IllegalArgumentException if the entries are missing or malformed
   */
  public static GradScaler.State scaler(Map<String, Tensor> checkpoint) {
    Tensor scale = checkpoint.get(GRAD_SCALE);
    if (scale == null) throw new IllegalArgumentException("checkpoint has no '" + GRAD_SCALE + "' entry (a float16 run saves its loss scale)");
    if (scale.dtype() != DType.FLOAT64 || scale.numel() != 1) {
      throw new IllegalArgumentException("'" + GRAD_SCALE + "' must be a float64 scalar, got " + scale.dtype() + java.util.Arrays.toString(scale.shape()));
    }
    return new GradScaler.State(scale.item(), meta(checkpoint, GRAD_SCALE_GROWTH));
  }

  /**
   * @param checkpoint an opened checkpoint
   * @param key a {@code meta.*} int64 entry
   * @return its value
   * @throws IllegalArgumentException if the entry is missing or not an int64 scalar
   */
  public static long meta(Map<String, Tensor> checkpoint, String key) {
    Tensor t = checkpoint.get(key);
    if (t == null) throw new IllegalArgumentException("checkpoint has no '" + key + "' entry");
    if (t.dtype() != DType.INT64 || t.numel() != 1) {
      throw new IllegalArgumentException("'" + key + "' must be an int64 scalar, got " + t.dtype() + java.util.Arrays.toString(t.shape()));
    }
    return t.itemLong();
  }
}
