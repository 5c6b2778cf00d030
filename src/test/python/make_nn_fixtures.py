#!/usr/bin/env python3
"""Writes the golden values of the io.github.ddpm4j.nn tests.

PyTorch's Python front end computes every value here, on the same LibTorch
that the Java shim links (Debian's python3-torch 1.13 and libtorch), so the
Java tests compare ddpm4j with PyTorch itself, never with ddpm4j's own output.

Run from the repository root with the system Python that has torch:

    /usr/bin/python3 src/test/python/make_nn_fixtures.py

It rewrites src/test/resources/fixtures/nn/*.json (a few hundred kB in all).
The output is deterministic: every random draw follows a fixed seed.

Format: each tensor is {"shape": [...], "data": [...]}, row-major, with float32
values written as the decimal of their exact double value, so Java reads back
the very same float32 bits.
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "nn")

# The Java tests run LibTorch with two intra-op threads; use the same here.
torch.set_num_threads(2)


def T(t):
    t = t.detach()
    return {"shape": list(t.shape), "data": [float(v) for v in t.double().flatten().tolist()]}


def state(module):
    return {k: T(v) for k, v in module.state_dict().items()}


def write(name, obj):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name + ".json")
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes", file=sys.stderr)


# ----------------------------------------------------------------- layers

def build(kind, args, bias=True):
    """The PyTorch layer for a (kind, args) pair; the Java tests build the same from the JSON."""
    if kind == "Linear":
        return nn.Linear(*args, bias=bias)
    if kind == "Conv2d":
        return nn.Conv2d(*args, bias=bias)
    if kind == "ConvTranspose2d":
        return nn.ConvTranspose2d(*args, bias=bias)
    if kind == "GroupNorm":
        return nn.GroupNorm(*args)
    if kind == "Dropout":
        return nn.Dropout(*args)
    if kind == "Identity":
        return nn.Identity()
    if kind == "SiLU":
        return nn.SiLU()
    if kind == "Upsample":
        return nn.Upsample(scale_factor=args[0], mode=args[1])
    raise ValueError(kind)


def layer_case(seed, kind, args, input_shape, bias=True, train=True, forward_seed=None, randomize_affine=False):
    torch.manual_seed(seed)
    m = build(kind, args, bias)
    if randomize_affine:
        with torch.no_grad():
            m.weight.uniform_(0.5, 1.5)
            m.bias.uniform_(-0.5, 0.5)
    m.train(train)
    x = torch.randn(*input_shape, requires_grad=True)
    if forward_seed is not None:
        torch.manual_seed(forward_seed)
    y = m(x)
    r = torch.randn(y.shape)
    (y * r).sum().backward()
    case = {
        "kind": kind, "args": args, "bias": bias, "train": train, "repr": repr(m),
        "state": state(m), "input": T(x), "r": T(r), "output": T(y), "grad_input": T(x.grad),
        "grads": {k: T(p.grad) for k, p in m.named_parameters()},
    }
    if forward_seed is not None:
        case["forward_seed"] = forward_seed
    return case


def layers():
    return {
        "linear": layer_case(101, "Linear", [5, 4], [3, 5]),
        "linear_nobias_3d": layer_case(102, "Linear", [5, 4], [2, 3, 5], bias=False),
        "conv2d_s2_p1": layer_case(103, "Conv2d", [3, 4, 3, 2, 1], [2, 3, 7, 7]),
        "conv2d_nobias_s1_p0": layer_case(104, "Conv2d", [2, 3, 3, 1, 0], [1, 2, 5, 6], bias=False),
        "conv2d_unbatched": layer_case(105, "Conv2d", [2, 3, 3, 1, 1], [2, 5, 5]),
        "convtranspose2d_k4_s2_p1": layer_case(106, "ConvTranspose2d", [4, 3, 4, 2, 1], [2, 4, 5, 5]),
        "convtranspose2d_nobias_k3_s2_p1": layer_case(107, "ConvTranspose2d", [3, 2, 3, 2, 1], [1, 3, 4, 4], bias=False),
        "groupnorm": layer_case(108, "GroupNorm", [2, 6], [2, 6, 4, 4], randomize_affine=True),
        "groupnorm_eps_3d": layer_case(109, "GroupNorm", [3, 6, 1e-3], [3, 6, 5], randomize_affine=True),
        "dropout_eval": layer_case(110, "Dropout", [0.5], [4, 5], train=False),
        "dropout_p0_train": layer_case(111, "Dropout", [0.0], [4, 5], train=True),
        "dropout_train_seeded": layer_case(112, "Dropout", [0.3], [6, 7], train=True, forward_seed=7),
        "identity": layer_case(113, "Identity", [], [3, 4]),
        "silu": layer_case(114, "SiLU", [], [3, 4]),
        "upsample_nearest_x2": layer_case(115, "Upsample", [2.0, "nearest"], [1, 2, 3, 4]),
        "upsample_bilinear_x2": layer_case(116, "Upsample", [2.0, "bilinear"], [1, 2, 3, 4]),
    }


# ------------------------------------------------------------ initialisation

def init():
    seeded = {}
    specs = [
        ("linear", "Linear", [5, 3], True),
        ("linear_nobias", "Linear", [5, 3], False),
        ("linear_1_2", "Linear", [1, 2], True),
        ("conv2d", "Conv2d", [3, 4, 3, 2, 1], True),
        ("conv2d_nobias", "Conv2d", [3, 4, 3, 1, 0], False),
        ("convtranspose2d", "ConvTranspose2d", [4, 3, 4, 2, 1], True),
        ("convtranspose2d_5x3", "ConvTranspose2d", [2, 5, 3, 1, 1], True),
        ("groupnorm", "GroupNorm", [2, 6], True),
    ]
    for i, (name, kind, args, bias) in enumerate(specs):
        seed = 1000 + i
        torch.manual_seed(seed)
        m = build(kind, args, bias)
        seeded[name] = {"kind": kind, "args": args, "bias": bias, "seed": seed, "state": state(m)}

    # Several layers after one seed: each must consume the generator exactly as PyTorch's does.
    torch.manual_seed(2024)
    chain = [("Linear", [4, 8], True), ("Conv2d", [2, 3, 3, 1, 1], True), ("ConvTranspose2d", [3, 2, 2, 2, 0], False),
             ("Linear", [8, 2], True)]
    chain_states = []
    for kind, args, bias in chain:
        chain_states.append({"kind": kind, "args": args, "bias": bias, "state": state(build(kind, args, bias))})

    fns = {}

    def fn(name, seed, shape, f, **params):
        torch.manual_seed(seed)
        t = torch.empty(*shape)
        f(t)
        fns[name] = dict(seed=seed, shape=list(shape), value=T(t), **params)

    fn("kaiming_uniform_default", 11, [6, 4, 3, 3], lambda t: nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
       fn_name="kaiming_uniform_", a=math.sqrt(5), mode="fan_in", nonlinearity="leaky_relu")
    fn("kaiming_uniform_relu_fan_out", 12, [6, 4, 3, 3],
       lambda t: nn.init.kaiming_uniform_(t, a=0, mode="fan_out", nonlinearity="relu"),
       fn_name="kaiming_uniform_", a=0.0, mode="fan_out", nonlinearity="relu")
    fn("kaiming_normal_relu", 13, [8, 5], lambda t: nn.init.kaiming_normal_(t, a=0, mode="fan_in", nonlinearity="relu"),
       fn_name="kaiming_normal_", a=0.0, mode="fan_in", nonlinearity="relu")
    fn("kaiming_normal_leaky_fan_out", 14, [3, 4, 2, 2],
       lambda t: nn.init.kaiming_normal_(t, a=0.2, mode="fan_out", nonlinearity="leaky_relu"),
       fn_name="kaiming_normal_", a=0.2, mode="fan_out", nonlinearity="leaky_relu")
    fn("xavier_uniform", 15, [7, 5], lambda t: nn.init.xavier_uniform_(t), fn_name="xavier_uniform_", gain=1.0)
    tanh_gain = nn.init.calculate_gain("tanh")
    fn("xavier_uniform_tanh", 16, [4, 6, 3], lambda t: nn.init.xavier_uniform_(t, gain=tanh_gain),
       fn_name="xavier_uniform_", gain=tanh_gain)
    fn("xavier_normal", 17, [7, 5], lambda t: nn.init.xavier_normal_(t, gain=2.0), fn_name="xavier_normal_", gain=2.0)
    fn("uniform", 18, [10], lambda t: nn.init.uniform_(t, -2.0, 3.0), fn_name="uniform_", a=-2.0, b=3.0)
    fn("normal", 19, [20], lambda t: nn.init.normal_(t, 1.0, 0.5), fn_name="normal_", mean=1.0, std=0.5)
    fn("normal_small", 20, [5], lambda t: nn.init.normal_(t, -1.0, 2.0), fn_name="normal_", mean=-1.0, std=2.0)

    fans = []
    for shape in ([4, 3], [8, 4, 3, 3], [2, 3, 4, 5, 6], [3, 5, 1]):
        fi, fo = nn.init._calculate_fan_in_and_fan_out(torch.empty(*shape))
        fans.append({"shape": shape, "fan_in": fi, "fan_out": fo})

    gains = {name: nn.init.calculate_gain(name) for name in ("linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")}
    gains["leaky_relu_0.2"] = nn.init.calculate_gain("leaky_relu", 0.2)

    return {"layers": seeded, "chain_seed": 2024, "chain": chain_states, "functions": fns, "fans": fans, "gains": gains}


# ---------------------------------------------------------------- module tree

class Block(nn.Module):
    def __init__(self, ch, temb):
        super().__init__()
        self.norm = nn.GroupNorm(2, ch)
        self.conv = nn.Conv2d(ch, ch, 3, 1, 1)
        self.register_buffer("scale", torch.ones(ch))
        self.proj = nn.Linear(temb, ch)
        self.drop = nn.Dropout(0.1)
        # Registered after the children, yet listed before them, as PyTorch does.
        self.gamma = nn.Parameter(torch.zeros(ch))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Conv2d(3, 4, 3, 1, 1)
        self.blocks = nn.ModuleList([Block(4, 8), Block(4, 8)])
        self.up = nn.ConvTranspose2d(4, 4, 4, 2, 1, bias=False)
        self.head = nn.Sequential(nn.Identity(), nn.SiLU(), nn.Linear(4, 2, bias=False))
        self.embed = nn.Parameter(torch.zeros(8))


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        lin = nn.Linear(2, 2)
        self.a = lin
        self.b = nn.Sequential(nn.SiLU(), lin)
        self.c = lin


def module_tree():
    net = Net()
    shared = Shared()
    return {
        "shared_named_parameters": [k for k, _ in shared.named_parameters()],
        "shared_state_dict_keys": list(shared.state_dict().keys()),
        "shared_named_modules": [k for k, _ in shared.named_modules()],
        "named_parameters": [[k, list(p.shape)] for k, p in net.named_parameters()],
        "named_buffers": [[k, list(b.shape)] for k, b in net.named_buffers()],
        "state_dict_keys": list(net.state_dict().keys()),
        "named_modules": [k for k, _ in net.named_modules()],
        "parameter_count": sum(p.numel() for p in net.parameters()),
        "repr": repr(net),
        "repr_eps": repr(nn.GroupNorm(4, 8, eps=1e-6)),
        "repr_dropout": repr(nn.Dropout(0.25)),
        "repr_upsample": repr(nn.Upsample(scale_factor=2, mode="bilinear")),
    }


# ----------------------------------------------------------------- optimizers

def optim():
    torch.manual_seed(31)
    init = [torch.randn(3, 4), torch.randn(5)]
    steps = 6
    grads = [[torch.randn(3, 4), torch.randn(5)] for _ in range(steps)]
    cases = {}

    def run(name, make, lrs=None):
        params = [p.clone().requires_grad_(True) for p in init]
        opt = make(params)
        after = []
        for k in range(steps):
            if lrs is not None:
                for g in opt.param_groups:
                    g["lr"] = lrs[k]
            opt.zero_grad()
            for p, g in zip(params, grads[k]):
                p.grad = g.clone()
            opt.step()
            after.append([T(p) for p in params])
        cases[name] = {"after": after}
        if lrs is not None:
            cases[name]["lrs"] = lrs

    def opts(kind, lr, betas, eps, wd, amsgrad):
        return {"kind": kind, "lr": lr, "beta1": betas[0], "beta2": betas[1], "eps": eps, "weight_decay": wd, "amsgrad": amsgrad}

    specs = {
        "adam_default": opts("Adam", 1e-2, (0.9, 0.999), 1e-8, 0.0, False),
        "adam_wd_amsgrad": opts("Adam", 5e-3, (0.8, 0.99), 1e-6, 0.1, True),
        "adamw_default": opts("AdamW", 1e-2, (0.9, 0.999), 1e-8, 1e-2, False),
        "adamw_amsgrad": opts("AdamW", 2e-2, (0.85, 0.95), 1e-8, 0.05, True),
        "adam_lr_schedule": opts("Adam", 1e-2, (0.9, 0.999), 1e-8, 0.0, False),
    }
    for name, o in specs.items():
        cls = torch.optim.Adam if o["kind"] == "Adam" else torch.optim.AdamW
        make = lambda ps, o=o, cls=cls: cls(ps, lr=o["lr"], betas=(o["beta1"], o["beta2"]), eps=o["eps"],
                                             weight_decay=o["weight_decay"], amsgrad=o["amsgrad"])
        run(name, make, [1e-2, 1e-2, 3e-3, 3e-3, 5e-2, 1e-3] if name == "adam_lr_schedule" else None)
        cases[name]["options"] = o

    return {"init": [T(p) for p in init], "grads": [[T(g) for g in gs] for gs in grads], "cases": cases}


def clip():
    torch.manual_seed(41)
    values = [torch.randn(3, 4), torch.randn(5), torch.randn(2, 2)]
    grads = [torch.randn(3, 4) * 0.3, torch.randn(5) * 0.3, None]
    cases = {}
    for name, max_norm, norm_type in [("l2_clipped", 0.5, 2.0), ("l2_unclipped", 100.0, 2.0), ("inf", 0.3, math.inf),
                                      ("l1", 1.0, 1.0), ("l3", 0.4, 3.0)]:
        params = [v.clone().requires_grad_(True) for v in values]
        for p, g in zip(params, grads):
            if g is not None:
                p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        cases[name] = {"max_norm": max_norm, "norm_type": "inf" if math.isinf(norm_type) else norm_type,
                       "total_norm": float(total), "grads": [T(p.grad) if p.grad is not None else None for p in params]}
    return {"values": [T(v) for v in values], "grads": [T(g) if g is not None else None for g in grads], "cases": cases}


# ---------------------------------------------------------------- training

def train():
    torch.manual_seed(51)
    x = torch.rand(64, 2) * 4 - 2
    y = (torch.sin(x[:, :1]) * torch.cos(x[:, 1:]) + 0.1 * x[:, :1])
    torch.manual_seed(52)
    model = nn.Sequential(nn.Linear(2, 16), nn.SiLU(), nn.Linear(16, 1))
    init_state = state(model)
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    losses, norms = [], []
    for _ in range(60):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)))
        opt.step()
        losses.append(float(loss))
    return {"x": T(x), "y": T(y), "init": init_state, "lr": 2e-2, "max_norm": 1.0, "losses": losses, "grad_norms": norms,
            "final": state(model)}


# ------------------------------------------------------------------ functional

def functional():
    torch.manual_seed(61)
    cases = {}

    def case(name, f, inputs, **params):
        ins = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
        y = f(**ins)
        r = torch.randn(y.shape)
        (y * r).sum().backward()
        cases[name] = dict(inputs={k: T(v) for k, v in inputs.items()}, r=T(r), output=T(y),
                           grads={k: T(v.grad) for k, v in ins.items()}, **params)

    x = torch.randn(2, 6, 4, 4)
    case("silu", lambda x: F.silu(x), {"x": x}, fn="silu")
    case("sigmoid", lambda x: torch.sigmoid(x), {"x": x}, fn="sigmoid")
    case("relu", lambda x: F.relu(x), {"x": x}, fn="relu")
    case("gelu", lambda x: F.gelu(x), {"x": x}, fn="gelu")
    case("softmax_dim1", lambda x: F.softmax(x, dim=1), {"x": x}, fn="softmax", dim=1)
    case("softmax_dim_neg1", lambda x: F.softmax(x, dim=-1), {"x": x}, fn="softmax", dim=-1)
    case("log_softmax_dim2", lambda x: F.log_softmax(x, dim=2), {"x": x}, fn="log_softmax", dim=2)
    w, b = torch.rand(6) + 0.5, torch.randn(6) * 0.3
    case("group_norm_affine", lambda x, w, b: F.group_norm(x, 3, w, b, 1e-5), {"x": x, "w": w, "b": b}, fn="group_norm",
         groups=3, eps=1e-5)
    case("group_norm_plain", lambda x: F.group_norm(x, 2, None, None, 1e-4), {"x": x}, fn="group_norm", groups=2, eps=1e-4)
    lw, lb = torch.rand(4, 4) + 0.5, torch.randn(4, 4) * 0.3
    case("layer_norm", lambda x, w, b: F.layer_norm(x, [4, 4], w, b, 1e-5), {"x": x, "w": lw, "b": lb}, fn="layer_norm",
         normalized_shape=[4, 4], eps=1e-5)
    t = torch.randn(2, 6, 4, 4)
    for red in ("mean", "sum", "none"):
        case("mse_" + red, lambda x, t, red=red: F.mse_loss(x, t, reduction=red), {"x": x, "t": t}, fn="mse_loss", reduction=red)
    img = torch.randn(1, 2, 3, 4)
    case("interp_nearest_7x5", lambda x: F.interpolate(x, size=(7, 5), mode="nearest"), {"x": img}, fn="interpolate",
         size=[7, 5], mode="nearest", align_corners=False)
    case("interp_bilinear_6x9", lambda x: F.interpolate(x, size=(6, 9), mode="bilinear", align_corners=False), {"x": img},
         fn="interpolate", size=[6, 9], mode="bilinear", align_corners=False)
    case("interp_bilinear_align_5x7", lambda x: F.interpolate(x, size=(5, 7), mode="bilinear", align_corners=True),
         {"x": img}, fn="interpolate", size=[5, 7], mode="bilinear", align_corners=True)
    case("interp_bicubic_6x8", lambda x: F.interpolate(x, size=(6, 8), mode="bicubic", align_corners=False), {"x": img},
         fn="interpolate", size=[6, 8], mode="bicubic", align_corners=False)
    case("upsample_nearest_x2", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), {"x": img}, fn="upsample",
         scale=2.0, mode="nearest")
    case("upsample_bilinear_x3", lambda x: F.interpolate(x, scale_factor=3, mode="bilinear", align_corners=False),
         {"x": img}, fn="upsample", scale=3.0, mode="bilinear")
    case("upsample_nearest_x1_5", lambda x: F.interpolate(x, scale_factor=1.5, mode="nearest", recompute_scale_factor=True),
         {"x": img}, fn="upsample", scale=1.5, mode="nearest")
    return cases


def main():
    write("layers", layers())
    write("init", init())
    write("module_tree", module_tree())
    write("optim", optim())
    write("clip", clip())
    write("train", train())
    write("functional", functional())


if __name__ == "__main__":
    main()
