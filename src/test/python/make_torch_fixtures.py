#!/usr/bin/python3
"""Writes the JSON fixtures that the torch-layer tests compare against.

Run from the project root with Debian's interpreter, which has python3-torch
(PyTorch 1.13, the same LibTorch the native shim links against):

    /usr/bin/python3 src/test/python/make_torch_fixtures.py

A plain `python3` from another environment (pyenv, venv) usually lacks torch,
or has a different torch whose random streams and kernels may differ.

Output: src/test/resources/fixtures/torch/*.json. Each file maps case names to
records {"shape": [...], "dtype": "...", "data": [...]}, data flattened in
row-major order. Floating values are written as the exact doubles of the
computed elements, so float32 results round-trip bit for bit. Inputs that the
Java tests rebuild are stored the same way. Keep every file small (< 50 KB).
"""

import json
import math
import os
import sys

import torch

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "torch"))

DTYPE_NAMES = {
    torch.float32: "float32",
    torch.float64: "float64",
    torch.bfloat16: "bfloat16",
    torch.float16: "float16",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.uint8: "uint8",
    torch.bool: "bool",
}


def rec(t):
    """A tensor as a JSON record."""
    t = t.detach().contiguous()
    if t.dtype.is_floating_point:
        data = [float(v) for v in t.double().flatten().tolist()]
        for v in data:
            if not math.isfinite(v):
                raise ValueError("fixtures hold finite values only")
    elif t.dtype == torch.bool:
        data = [bool(v) for v in t.flatten().tolist()]
    else:
        data = [int(v) for v in t.flatten().tolist()]
    return {"shape": list(t.shape), "dtype": DTYPE_NAMES[t.dtype], "data": data}


def write(name, cases):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".json")
    text = json.dumps({k: rec(v) for k, v in cases.items()}, indent=None, separators=(",", ":"))
    if len(text) > 50_000:
        raise ValueError(f"{path} would be {len(text)} bytes; keep fixtures under 50 KB")
    with open(path, "w") as f:
        f.write(text)
        f.write("\n")
    print(f"wrote {path} ({len(text)} bytes, {len(cases)} cases)")


def random_cases():
    c = {}
    # The Java test repeats exactly this sequence of draws after Torch.manualSeed(1234).
    torch.manual_seed(1234)
    c["randn_2x3"] = torch.randn(2, 3)
    c["randn_20"] = torch.randn(20)  # 16 or more elements take the vectorised path
    c["randn_f64_5"] = torch.randn(5, dtype=torch.float64)
    c["rand_7"] = torch.rand(7)
    c["randint_0_10_6"] = torch.randint(0, 10, (6,))
    c["randperm_8"] = torch.randperm(8)
    # A generator of its own, seeded with 42.
    g = torch.Generator().manual_seed(42)
    c["gen42_randn_4"] = torch.randn(4, generator=g)
    c["gen42_rand_3"] = torch.rand(3, generator=g)
    c["gen42_randint_m5_5_2x2"] = torch.randint(-5, 5, (2, 2), generator=g)
    c["gen42_randperm_5"] = torch.randperm(5, generator=g)
    return c


def creation_cases():
    return {
        "arange_0_5_0p5_f32": torch.arange(0, 5, 0.5, dtype=torch.float32),
        "arange_10_m3_m4_i64": torch.arange(10, -3, -4, dtype=torch.int64),
        "arange_1_2_0p1_f64": torch.arange(1, 2, 0.1, dtype=torch.float64),
        "linspace_m1_1_7_f32": torch.linspace(-1, 1, 7),
        "linspace_0_1_11_f64": torch.linspace(0, 1, 11, dtype=torch.float64),
    }


def elementwise_cases():
    a = torch.tensor([[-1.5, 0.25, 2.0], [3.0, -0.75, 1.25]])
    b = torch.tensor([0.5, -2.0, 4.0])
    p = torch.tensor([[0.5, 1.5, 2.0], [3.0, 0.75, 1.25]])
    col = torch.tensor([[10.0], [-1.0]])
    return {
        "a": a, "b": b, "p": p, "col": col,
        "add": a + b,
        "add_alpha": torch.add(a, b, alpha=-0.5),
        "sub": a - b,
        "mul": a * b,
        "div": a / b,
        "pow": p ** b,
        "maximum": torch.maximum(a, b),
        "minimum": torch.minimum(a, b),
        "remainder": torch.remainder(a, b),
        "floor_divide": torch.div(a, b, rounding_mode="floor"),
        "atan2": torch.atan2(a, b),
        "outer_add": col + b,
        "add_scalar": a + 1.5,
        "rsub_scalar": 2.0 - a,
        "rdiv_scalar": 3.0 / p,
        "rpow_scalar": 2.0 ** a,
        "pow_scalar": p ** 0.5,
        "neg": -a,
        "abs": a.abs(),
        "exp": a.exp(),
        "log": p.log(),
        "sqrt": p.sqrt(),
        "rsqrt": p.rsqrt(),
        "sin": a.sin(),
        "cos": a.cos(),
        "tanh": a.tanh(),
        "sigmoid": a.sigmoid(),
        "relu": a.relu(),
        "silu": torch.nn.functional.silu(a),
        "gelu": torch.nn.functional.gelu(a),
        "erf": a.erf(),
        "log1p": p.log1p(),
        "expm1": a.expm1(),
        "reciprocal": p.reciprocal(),
        "floor": a.floor(),
        "ceil": a.ceil(),
        "round": torch.tensor([0.5, 1.5, 2.5, -0.5, -1.5, 2.4]).round(),
        "clamp": a.clamp(-1.0, 1.5),
        "clamp_min": a.clamp(min=0.0),
        "clamp_max": a.clamp(max=0.5),
    }


def reduction_cases():
    x = torch.tensor([
        [[0.5, -1.0, 2.0, 3.5], [1.5, 0.25, -0.5, 1.0], [2.0, 2.5, -3.0, 0.75]],
        [[-0.25, 1.25, 0.5, -2.0], [3.0, -1.5, 1.75, 0.5], [0.125, 1.0, 2.25, -0.5]],
    ])
    return {
        "x": x,
        "sum_all": x.sum(),
        "sum_1": x.sum(1),
        "sum_02_keep": x.sum((0, 2), keepdim=True),
        "mean_all": x.mean(),
        "mean_m1": x.mean(-1),
        "mean_01_keep": x.mean((0, 1), keepdim=True),
        "var_all": x.var(),
        "var_1_keep": x.var(1, keepdim=True),
        "var_2_c0": torch.var(x, 2, correction=0),
        "std_all": x.std(),
        "std_02": x.std((0, 2)),
        "amax_all": x.amax(),
        "amax_2": x.amax(2),
        "amax_01_keep": x.amax((0, 1), keepdim=True),
        "amin_1": x.amin(1),
        "prod_all": x.prod(),
        "prod_1": x.prod(1),
        "prod_12_keep": x.prod(2, keepdim=True).prod(1, keepdim=True),
        "prod_02": x.prod(2).prod(0),
        "logsumexp_2": torch.logsumexp(x, 2),
        "logsumexp_1_keep": torch.logsumexp(x, 1, keepdim=True),
        "norm2_all": x.norm(2),
        "norm1_all": x.norm(1),
        "norm2_1": x.norm(2, dim=1),
        "norm1_2_keep": x.norm(1, dim=2, keepdim=True),
        "cumsum_1": x.cumsum(1),
        "cumsum_2": x.cumsum(2),
        "cumprod_2": x.cumprod(2),
        "cumprod_0": x.cumprod(0),
        "argmax_all": x.argmax(),
        "argmax_2": x.argmax(2),
        "argmin_1_keep": x.argmin(1, keepdim=True),
        "softmax_2": x.softmax(2),
        "softmax_0": x.softmax(0),
        "log_softmax_1": x.log_softmax(1),
    }


def linalg_cases():
    g = torch.Generator().manual_seed(7)
    m = torch.randn(2, 3, generator=g)
    n = torch.randn(3, 4, generator=g)
    v = torch.randn(3, generator=g)
    ba = torch.randn(2, 3, 4, generator=g)
    bb = torch.randn(2, 4, 2, generator=g)
    bc = torch.randn(4, 5, generator=g)
    return {
        "m": m, "n": n, "v": v, "ba": ba, "bb": bb, "bc": bc,
        "mm": m @ n,
        "mv": m @ v,
        "vv": v @ v,
        "bmm": torch.bmm(ba, bb),
        "broadcast_matmul": ba @ bc,
        "einsum_bij_bjk": torch.einsum("bij,bjk->bik", ba, bb),
        "einsum_ij_ji": torch.einsum("ij->ji", m),
        "einsum_dot": torch.einsum("i,i->", v, v),
        "einsum_outer": torch.einsum("i,j->ij", v, v),
        "einsum_trace_sum": torch.einsum("bij->b", ba),
    }


def indexing_cases():
    x = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    m = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    gi = torch.tensor([[0, 3, 1, 1], [2, 2, 0, 3], [1, 0, 3, 2]])
    gj = torch.tensor([[2, 0], [1, 1], [0, 2]])
    return {
        "gather_1_idx": gi,
        "gather_1": m.gather(1, gi),
        "gather_0_idx": gj[:, :2] % 3,
        "gather_0": m[:, :2].contiguous().gather(0, gj[:, :2] % 3),
        "index_select_0": x.index_select(0, torch.tensor([1, 0, 1])),
        "index_select_2": x.index_select(2, torch.tensor([3, 0])),
        "cat_0": torch.cat([m, m * 10], 0),
        "cat_1": torch.cat([m, m[:, :1]], 1),
        "stack_0": torch.stack([m, -m], 0),
        "stack_2": torch.stack([m, -m], 2),
        "slice_2_1_4_2": x[:, :, 1:4:2],
        "slice_1_neg": x[:, -2:],
        "select_1_2": x[:, 2],
        "select_0_neg1": x[-1],
        "permute_201": x.permute(2, 0, 1),
        "transpose_02": x.transpose(0, 2),
        "expand": torch.tensor([[1.0], [2.0], [3.0]]).expand(3, 4),
        "flip_2": x.flip(2),
        "flip_01": x.flip(0, 1),
        "repeat_2_1": m[:2].repeat(2, 1),
        "repeat_1_2_3": torch.tensor([1.0, 2.0]).repeat(1, 2, 3),
        "masked_fill": m.masked_fill(m.remainder(3) == 0, -1.0),
        "where": torch.where(m > 5, m, -m),
    }


def comparison_cases():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0, float("-0.0"), 5.0])
    b = torch.tensor([1.0, 3.0, 2.0, 4.0, 0.0, 7.0])
    return {
        "a": a, "b": b,
        "eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b,
        "gt_scalar": a > 2.5,
        "logical_and": torch.logical_and(a > 1.5, b > 2.5),
        "logical_or": torch.logical_or(a > 4.5, b < 1.5),
        "logical_not": torch.logical_not(a > 2.5),
    }


def dtype_cases():
    f = torch.tensor([0.1, -1.7, 2.5, 3.999, 255.0, 1e-4, 65504.0, 1.0009765625, 100.6, -0.0])
    small = torch.tensor([0.0, 1.9, 2.5, 7.2, 200.4, 255.0])
    return {
        "f": f,
        "to_f64": f.double(),
        "to_bf16": f.bfloat16(),
        "to_f16": f.half(),
        "to_i64": f.long(),
        "to_i32": f.int(),
        "to_bool": f.bool(),
        "small": small,
        "small_to_u8": small.to(torch.uint8),
        "i64": torch.tensor([-3, 0, 7, 2 ** 40]),
        "i64_to_f32": torch.tensor([-3, 0, 7, 2 ** 40]).float(),
        "i64_to_bool": torch.tensor([-3, 0, 7, 2 ** 40]).bool(),
        "u8_plus_i64": torch.tensor([250, 3], dtype=torch.uint8) + torch.tensor([10, 1]),
        "int_div": torch.tensor([7, -7]) / torch.tensor([2, 2]),
    }


def autograd_cases():
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]], requires_grad=True)
    w = torch.tensor([0.3, -0.2, 1.1], requires_grad=True)
    y = (torch.tanh(x * w) + x.square()).softmax(1)
    loss = (y * torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 4.0]])).sum()
    loss.backward()
    return {
        "x": x, "w": w,
        "loss": loss,
        "x_grad": x.grad,
        "w_grad": w.grad,
    }


def main():
    if not torch.__version__.startswith("1.13"):
        print(f"warning: expected PyTorch 1.13 (Debian's python3-torch), found {torch.__version__}", file=sys.stderr)
    torch.set_num_threads(1)
    write("random", random_cases())
    write("creation", creation_cases())
    write("elementwise", elementwise_cases())
    write("reductions", reduction_cases())
    write("linalg", linalg_cases())
    write("indexing", indexing_cases())
    write("comparison", comparison_cases())
    write("dtypes", dtype_cases())
    write("autograd", autograd_cases())


if __name__ == "__main__":
    main()
