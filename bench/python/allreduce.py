#!/usr/bin/python3
"""PyTorch baseline of bench/allreduce: one rank of the gradient all-reduce on loopback.

  python bench/python/allreduce.py RANK WORLD_SIZE PORT REPS

Builds the default CPU model (unet.py), gives every parameter a gradient, and times, each after
a barrier and ten warm-ups, the same three workloads as AllReduceBenchmark in Java, in its order:
  flat        one all_reduce of a single tensor as large as all gradients together;
  per-tensor  one all_reduce per gradient;
  ddp         every parameter's gradient looked up and averaged in buckets of at most 25 MiB
              (flattened, all_reduce SUM, divided by the world size, copied back), as
              ddpm4j's DistributedDataParallel.averageGradients does.
Prints name=median min max in milliseconds, one line each.
"""
import datetime
import os
import sys
import time

import torch
import torch.distributed as dist
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unet  # noqa: E402

BUCKET_BYTES = 25 << 20
WARMUP = 10


def average_gradients(grads, world_size):
    bucket, size = [], 0
    buckets = [bucket]
    for g in grads:
        if bucket and size + g.numel() * g.element_size() > BUCKET_BYTES:
            bucket, size = [], 0
            buckets.append(bucket)
        bucket.append(g)
        size += g.numel() * g.element_size()
    for b in buckets:
        flat = _flatten_dense_tensors(b)
        dist.all_reduce(flat)
        flat.div_(world_size)
        for g, v in zip(b, _unflatten_dense_tensors(flat, b)):
            g.copy_(v)


def gradients(model):
    """Every parameter's gradient, a missing one made zeros, as DistributedDataParallel.averageGradients takes them."""
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    return [p.grad for p in model.parameters()]


def timed(name, reps, work):
    for _ in range(WARMUP):
        work()
    ms = []
    for _ in range(reps):
        dist.barrier()
        t0 = time.perf_counter_ns()
        work()
        ms.append((time.perf_counter_ns() - t0) / 1e6)
    ms.sort()
    print(f"{name}={ms[reps // 2]:.3f} {ms[0]:.3f} {ms[-1]:.3f}", flush=True)


def main():
    rank, world_size, port, reps = (int(a) for a in sys.argv[1:5])
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = unet.build("cpu-default")
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size,
                            timeout=datetime.timedelta(minutes=2))
    grads = [p.grad for p in model.parameters()]
    elements = sum(g.numel() for g in grads)
    print(f"parameters={elements}\ntensors={len(grads)}\nbytes={elements * 4}", flush=True)
    flat = torch.randn(elements)
    timed("flat", reps, lambda: dist.all_reduce(flat))
    timed("per-tensor", reps, lambda: [dist.all_reduce(g) for g in grads])
    timed("ddp", reps, lambda: average_gradients(gradients(model), world_size))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
