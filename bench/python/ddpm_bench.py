#!/usr/bin/python3
"""PyTorch baseline for the ddpm4j benchmarks; protocol in bench/README.md.

  /usr/bin/python3 bench/python/ddpm_bench.py --workload forward --config seed --batch 16 \
      --threads 2 --warmup 2 --reps 5

prints one JSON line to stdout. `--check` prints the parity line instead.
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet  # noqa: E402

ADD16_OPS_PER_REP = 10_000
SEED = 0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", choices=["add16", "forward", "train", "sample"])
    p.add_argument("--sampler", choices=["ancestral", "ddim"], default="ddim",
                   help="sample: the ancestral sampler over all 1000 steps, or DDIM (eta 0) with --steps steps")
    p.add_argument("--steps", type=int, default=50, help="sample: DDIM steps")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="forward passes in float32 or under bfloat16 autocast (forward, train, sample)")
    p.add_argument("--config", choices=sorted(unet.CONFIGS), default="cpu-default")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="intra-op threads (torch.set_num_threads)")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--blas-threads", type=int, default=0,
                   help="if > 0 and the process uses OpenBLAS, call openblas_set_num_threads(N); "
                        "0 leaves OpenBLAS's own setting alone (it is not governed by --threads)")
    p.add_argument("--check", action="store_true",
                   help="parity self-check: build cpu-default with seed 0, forward a seeded batch of 2")
    p.add_argument("--list-params", action="store_true",
                   help="print 'name shape' for every parameter of --config (seed 0) and exit")
    args = p.parse_args(argv)
    if not (args.check or args.list_params) and args.workload is None:
        p.error("--workload is required (or --check)")
    if args.threads < 1 or args.batch < 1 or args.reps < 1 or args.warmup < 0:
        p.error("--threads, --batch, --reps must be >= 1 and --warmup >= 0")
    return args


# ---------------------------------------------------------------- BLAS reporting

def blas_info() -> str:
    """The BLAS/LAPACK entries of torch.__config__.show() (same text as at::show_config())."""
    text = torch.__config__.show()
    parts = []
    for line in text.splitlines():
        line = line.strip().lstrip("- ").strip()
        if "Build settings:" in line:
            for item in line.split("Build settings:", 1)[1].split(","):
                item = item.strip()
                if item.startswith(("BLAS_INFO=", "LAPACK_INFO=")):
                    parts.append(item)
        elif "BLAS" in line or "LAPACK" in line:
            parts.append(line)
    return "; ".join(parts)


def loaded_blas_libs():
    """Real paths of the BLAS/LAPACK libraries mapped into this process (Debian's 'generic'
    BLAS is whatever the libblas.so.3 alternative points at)."""
    libs = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 6:
                    continue
                path = fields[5]
                base = os.path.basename(path).lower()
                if any(k in base for k in ("blas", "lapack", "mkl")):
                    real = os.path.realpath(path)
                    if real not in libs:
                        libs.append(real)
    except OSError:
        pass
    return libs


def openblas_lib(libs):
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_num_threads
            return lib
        except (OSError, AttributeError):
            continue
    return None


# ---------------------------------------------------------------- workloads

def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_add16(device, warmup, reps):
    a = torch.randn(16, device=device)
    b = torch.randn(16, device=device)
    clock = time.perf_counter_ns
    rng = range(ADD16_OPS_PER_REP)

    def one_rep():
        sync(device)
        start = clock()
        for _ in rng:
            c = a + b
            del c
        sync(device)
        return clock() - start

    for _ in range(warmup):
        one_rep()
    return [one_rep() / ADD16_OPS_PER_REP for _ in range(reps)]


def model_inputs(config, batch, device):
    channels = unet.CONFIGS[config]["image_channels"]
    x = torch.randn(batch, channels, unet.IMAGE_SIZE, unet.IMAGE_SIZE, device=device)
    t = torch.randint(0, 1000, (batch,), device=device)
    return x, t


def timed(device, warmup, reps, one):
    """Runs one() warmup + reps times, each between device syncs; returns the reps' times in ns."""
    clock = time.perf_counter_ns
    times = []
    for i in range(warmup + reps):
        sync(device)
        start = clock()
        out = one()
        sync(device)
        elapsed = clock() - start
        del out
        if i >= warmup:
            times.append(elapsed)
    return times


def autocast_for(device, precision):
    """torch.autocast to bfloat16 for --precision bf16, a context that does nothing for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def bench_forward(config, batch, device, warmup, reps, precision="fp32"):
    torch.manual_seed(SEED)
    model = unet.build(config).to(device)
    model.eval()
    x, t = model_inputs(config, batch, device)
    with torch.inference_mode(), autocast_for(device, precision):
        return timed(device, warmup, reps, lambda: model(x, t))


def bench_train(config, batch, device, warmup, reps, precision="fp32"):
    torch.manual_seed(SEED)
    model = unet.build(config).to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=2e-5)
    x, t = model_inputs(config, batch, device)
    noise = torch.randn_like(x)

    def step():
        with autocast_for(device, precision):
            loss = F.mse_loss(model(x, t), noise)
        loss.backward()
        opt.step()
        opt.zero_grad()  # set_to_none: False on 1.13 and True on 2.x (the defaults); ddpm4j's Module.zeroGrad() drops
        return loss

    return timed(device, warmup, reps, step)


def linear_schedule(device, steps=1000):
    """The linear schedule ddpm4j trains with: betas from 1e-4 to 0.02 over 1000 steps, and their products."""
    beta = torch.linspace(1e-4, 0.02, steps, dtype=torch.float64, device=device)
    alpha = 1 - beta
    return beta.float(), alpha.float(), torch.cumprod(alpha, 0).float()


def bench_sample(config, batch, device, warmup, reps, sampler, steps, precision):
    """One whole reverse loop per repetition, as ddpm4j's SamplingBenchmark: eager PyTorch, eps prediction."""
    torch.manual_seed(SEED)
    model = unet.build(config).to(device)
    model.eval()
    channels = unet.CONFIGS[config]["image_channels"]
    beta, alpha, alpha_bar = linear_schedule(device)
    T = beta.shape[0]
    ddim_t = torch.linspace(0, T - 1, steps).round().long().tolist()[::-1]
    autocast = autocast_for(device, precision)

    def reverse_loop():
        x = torch.randn(batch, channels, unet.IMAGE_SIZE, unet.IMAGE_SIZE, device=device)
        if sampler == "ancestral":
            for t in range(T - 1, -1, -1):
                eps = model(x, torch.full((batch,), t, dtype=torch.long, device=device)).float()
                mean = (x - beta[t] / (1 - alpha_bar[t]).sqrt() * eps) / alpha[t].sqrt()
                x = mean + beta[t].sqrt() * torch.randn_like(x) if t > 0 else mean
        else:
            for i, t in enumerate(ddim_t):
                eps = model(x, torch.full((batch,), t, dtype=torch.long, device=device)).float()
                x0 = (x - (1 - alpha_bar[t]).sqrt() * eps) / alpha_bar[t].sqrt()
                prev = alpha_bar[ddim_t[i + 1]] if i + 1 < len(ddim_t) else torch.tensor(1.0, device=device)
                x = prev.sqrt() * x0 + (1 - prev).sqrt() * eps
        return x

    with torch.inference_mode(), autocast:
        return timed(device, warmup, reps, reverse_loop)


def run_check(args, device):
    """Parity line: the same numbers must come out of bench/cpp's `ddpm_bench --check`."""
    torch.manual_seed(SEED)
    model = unet.build("cpu-default").to(device)
    model.eval()
    params = [p.detach().double() for p in model.parameters()]
    torch.manual_seed(1)
    x = torch.randn(2, 1, unet.IMAGE_SIZE, unet.IMAGE_SIZE).to(device)
    t = torch.tensor([10, 500], dtype=torch.long, device=device)
    with torch.inference_mode():
        out = model(x, t).double().cpu()
    return {
        "runtime": "python",
        "check": "cpu-default",
        "threads": args.threads,
        "device": device.type,
        "n_params": sum(p.numel() for p in params),
        "n_tensors": len(params),
        "param_sum": sum(p.sum().item() for p in params),
        "param_abs_sum": sum(p.abs().sum().item() for p in params),
        "input_sum": x.double().sum().item(),
        "out_shape": list(out.shape),
        "out_sum": out.sum().item(),
        "out_abs_sum": out.abs().sum().item(),
    }


def main(argv=None):
    args = parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("ddpm_bench: --device cuda but this torch has no usable CUDA")
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)

    libs = loaded_blas_libs()
    oblas = openblas_lib(libs)
    if oblas is not None and args.blas_threads > 0:
        oblas.openblas_set_num_threads(ctypes.c_int(args.blas_threads))

    if args.check:
        print(json.dumps(run_check(args, device)), flush=True)
        return
    if args.list_params:
        torch.manual_seed(SEED)
        for name, p in unet.build(args.config).named_parameters():
            print(name, "x".join(str(d) for d in p.shape), f"{p.detach().double().sum().item():.9e}")
        return

    if args.workload == "add16":
        times = bench_add16(device, args.warmup, args.reps)
    elif args.workload == "forward":
        times = bench_forward(args.config, args.batch, device, args.warmup, args.reps, args.precision)
    elif args.workload == "sample":
        times = bench_sample(args.config, args.batch, device, args.warmup, args.reps, args.sampler, args.steps, args.precision)
    else:
        times = bench_train(args.config, args.batch, device, args.warmup, args.reps, args.precision)

    add16 = args.workload == "add16"
    result = {
        "runtime": "python",
        "workload": args.workload,
        "config": None if add16 else args.config,
        "batch": None if add16 else args.batch,
        "threads": args.threads,
        "times_ns": times,
        "median_ns": statistics.median(times),
        "blas": blas_info(),
        # extras beyond the required fields
        "device": device.type,
        "warmup": args.warmup,
        "reps": args.reps,
        "ops_per_rep": ADD16_OPS_PER_REP if add16 else 1,
        "torch_version": torch.__version__,
        "num_threads": torch.get_num_threads(),
        "blas_libs": libs,
        "blas_threads": int(oblas.openblas_get_num_threads()) if oblas is not None else None,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
