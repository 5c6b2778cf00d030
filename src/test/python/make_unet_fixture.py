#!/usr/bin/env python3
"""Writes the golden values of io.github.ddpm4j.diffusion.UNetTest.

The network is the seed's DDPM U-Net (labml_nn/diffusion/ddpm/unet.py) as
bench/python/unet.py rebuilds it, the project's one Python definition: the same
module names, so that its state-dict keys are the ones the Java UNet must produce,
and the seed's defect fixed (the attention block applies its GroupNorm before
projecting to queries, keys and values; the residual still adds the un-normalised
input).

Run from the repository root with the system Python that has torch
(Debian's python3-torch, on the LibTorch the Java shim links):

    /usr/bin/python3 src/test/python/make_unet_fixture.py

It rewrites src/test/resources/fixtures/diffusion/unet.json (the index) and
unet.bin (every tensor as little-endian float32, row-major, one after another).
Each index entry gives a tensor's shape and its offset in the .bin, in floats.
The output is deterministic: every random draw follows a fixed seed.
"""

import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "resources", "fixtures", "diffusion")
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench", "python"))
from unet import UNet  # noqa: E402  the one Python definition of the network

torch.set_num_threads(2)


CONFIG = {
    "image_channels": 1,
    "n_channels": 16,
    "ch_mults": [1, 2],
    "is_attn": [False, True],
    "n_blocks": 1,
    "dropout": 0.1,
    "n_groups": 8,
    "final_groups": 8,
}

# Parameters whose gradient the Java test compares as well.
GRAD_KEYS = ["image_proj.weight", "time_emb.lin1.weight", "down.0.res.conv1.weight", "down.2.attn.projection.weight",
             "down.2.attn.norm.weight", "middle.attn.output.bias", "up.1.res.shortcut.weight", "up.2.conv.weight",
             "final.weight"]


def main():
    torch.manual_seed(20200619)
    model = UNet(**CONFIG).eval()
    # Non-trivial GroupNorm affine parameters, so that applying the attention norm shows in the output.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".norm" in name or name.startswith("norm."):
                p.add_(0.1 * torch.randn_like(p))
    x = torch.randn(2, 1, 8, 8).requires_grad_(True)
    t = torch.tensor([3, 917], dtype=torch.long)
    out = model(x, t)
    weights = torch.randn_like(out)
    (out * weights).sum().backward()

    tensors = {}
    blobs = []
    offset = 0

    def put(name, tensor):
        nonlocal offset
        data = tensor.detach().to(torch.float32).contiguous().flatten()
        tensors[name] = {"shape": list(tensor.shape), "offset": offset}
        blobs.append(data)
        offset += data.numel()

    state = model.state_dict()
    for k, v in state.items():
        put("state/" + k, v)
    put("x", x)
    put("out", out)
    put("weights", weights)
    put("grad/x", x.grad)
    for k in GRAD_KEYS:
        put("grad/" + k, dict(model.named_parameters())[k].grad)

    os.makedirs(OUT, exist_ok=True)
    flat = torch.cat(blobs).numpy().astype("<f4")
    with open(os.path.join(OUT, "unet.bin"), "wb") as f:
        f.write(flat.tobytes())
    index = {
        "torch_version": torch.__version__,
        "config": CONFIG,
        "t": t.tolist(),
        "state_keys": list(state.keys()),
        "grad_keys": GRAD_KEYS,
        "tensors": tensors,
    }
    with open(os.path.join(OUT, "unet.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")
    print("wrote", len(state), "state tensors,", offset, "floats (", 4 * offset, "bytes )", file=sys.stderr)


if __name__ == "__main__":
    main()
