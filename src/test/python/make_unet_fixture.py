#!/usr/bin/env python3
"""Writes the golden values of io.github.ddpm4j.diffusion.UNetTest.

The network below is the seed's DDPM U-Net (labml_nn/diffusion/ddpm/unet.py),
rebuilt here with the same module names, so that its state-dict keys are the
ones the Java UNet must produce, and with the seed's defect fixed: the
attention block applies its GroupNorm before projecting to queries, keys and
values (the residual still adds the un-normalised input).

Run from the repository root with the system Python that has torch
(Debian's python3-torch, on the LibTorch the Java shim links):

    /usr/bin/python3 src/test/python/make_unet_fixture.py

It rewrites src/test/resources/fixtures/diffusion/unet.json (the index) and
unet.bin (every tensor as little-endian float32, row-major, one after another).
Each index entry gives a tensor's shape and its offset in the .bin, in floats.
The output is deterministic: every random draw follows a fixed seed.
"""

import json
import math
import os
import sys

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "diffusion")

torch.set_num_threads(2)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class TimeEmbedding(nn.Module):
    def __init__(self, n_channels):
        super().__init__()
        self.n_channels = n_channels
        self.lin1 = nn.Linear(n_channels // 4, n_channels)
        self.act = Swish()
        self.lin2 = nn.Linear(n_channels, n_channels)

    def forward(self, t):
        half = self.n_channels // 8
        freqs = torch.exp(torch.arange(half, device=t.device) * -(math.log(10_000) / (half - 1)))
        angles = t[:, None] * freqs[None, :]
        return self.lin2(self.act(self.lin1(torch.cat((angles.sin(), angles.cos()), dim=1))))


class ResidualBlock(nn.Module):
    def __init__(self, in_ch, out_ch, time_ch, n_groups, dropout):
        super().__init__()
        self.norm1 = nn.GroupNorm(n_groups, in_ch)
        self.act1 = Swish()
        self.conv1 = nn.Conv2d(in_ch, out_ch, kernel_size=(3, 3), padding=(1, 1))
        self.norm2 = nn.GroupNorm(n_groups, out_ch)
        self.act2 = Swish()
        self.conv2 = nn.Conv2d(out_ch, out_ch, kernel_size=(3, 3), padding=(1, 1))
        self.shortcut = nn.Conv2d(in_ch, out_ch, kernel_size=(1, 1)) if in_ch != out_ch else nn.Identity()
        self.time_emb = nn.Linear(time_ch, out_ch)
        self.time_act = Swish()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, t):
        h = self.conv1(self.act1(self.norm1(x)))
        h = h + self.time_emb(self.time_act(t))[:, :, None, None]
        h = self.conv2(self.dropout(self.act2(self.norm2(h))))
        return h + self.shortcut(x)


class AttentionBlock(nn.Module):
    def __init__(self, n_channels, n_groups):
        super().__init__()
        self.norm = nn.GroupNorm(n_groups, n_channels)
        self.projection = nn.Linear(n_channels, n_channels * 3)
        self.output = nn.Linear(n_channels, n_channels)
        self.scale = n_channels ** -0.5
        self.d_k = n_channels

    def forward(self, x, t=None):
        b, c, h, w = x.shape
        skip = x.view(b, c, -1).permute(0, 2, 1)
        normed = self.norm(x).view(b, c, -1).permute(0, 2, 1)
        qkv = self.projection(normed).view(b, -1, 1, 3 * self.d_k)
        q, k, v = torch.chunk(qkv, 3, dim=-1)
        attn = (torch.einsum("bihd,bjhd->bijh", q, k) * self.scale).softmax(dim=2)
        res = torch.einsum("bijh,bjhd->bihd", attn, v).reshape(b, -1, self.d_k)
        res = self.output(res) + skip
        return res.permute(0, 2, 1).reshape(b, c, h, w)


class DownBlock(nn.Module):
    def __init__(self, in_ch, out_ch, time_ch, has_attn, n_groups, dropout):
        super().__init__()
        self.res = ResidualBlock(in_ch, out_ch, time_ch, n_groups, dropout)
        self.attn = AttentionBlock(out_ch, n_groups) if has_attn else nn.Identity()

    def forward(self, x, t):
        return self.attn(self.res(x, t))


class UpBlock(nn.Module):
    def __init__(self, in_ch, out_ch, time_ch, has_attn, n_groups, dropout):
        super().__init__()
        self.res = ResidualBlock(in_ch + out_ch, out_ch, time_ch, n_groups, dropout)
        self.attn = AttentionBlock(out_ch, n_groups) if has_attn else nn.Identity()

    def forward(self, x, t):
        return self.attn(self.res(x, t))


class MiddleBlock(nn.Module):
    def __init__(self, n_channels, time_ch, n_groups, dropout):
        super().__init__()
        self.res1 = ResidualBlock(n_channels, n_channels, time_ch, n_groups, dropout)
        self.attn = AttentionBlock(n_channels, n_groups)
        self.res2 = ResidualBlock(n_channels, n_channels, time_ch, n_groups, dropout)

    def forward(self, x, t):
        return self.res2(self.attn(self.res1(x, t)), t)


class Upsample(nn.Module):
    def __init__(self, n_channels):
        super().__init__()
        self.conv = nn.ConvTranspose2d(n_channels, n_channels, (4, 4), (2, 2), (1, 1))

    def forward(self, x, t):
        return self.conv(x)


class Downsample(nn.Module):
    def __init__(self, n_channels):
        super().__init__()
        self.conv = nn.Conv2d(n_channels, n_channels, (3, 3), (2, 2), (1, 1))

    def forward(self, x, t):
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, image_channels, n_channels, ch_mults, is_attn, n_blocks, dropout, n_groups, final_groups):
        super().__init__()
        levels = len(ch_mults)
        time_ch = n_channels * 4
        self.image_proj = nn.Conv2d(image_channels, n_channels, kernel_size=(3, 3), padding=(1, 1))
        self.time_emb = TimeEmbedding(time_ch)
        down = []
        in_ch = out_ch = n_channels
        for i in range(levels):
            out_ch = in_ch * ch_mults[i]
            for _ in range(n_blocks):
                down.append(DownBlock(in_ch, out_ch, time_ch, is_attn[i], n_groups, dropout))
                in_ch = out_ch
            if i < levels - 1:
                down.append(Downsample(in_ch))
        self.down = nn.ModuleList(down)
        self.middle = MiddleBlock(out_ch, time_ch, n_groups, dropout)
        up = []
        in_ch = out_ch
        for i in reversed(range(levels)):
            out_ch = in_ch
            for _ in range(n_blocks):
                up.append(UpBlock(in_ch, out_ch, time_ch, is_attn[i], n_groups, dropout))
            out_ch = in_ch // ch_mults[i]
            up.append(UpBlock(in_ch, out_ch, time_ch, is_attn[i], n_groups, dropout))
            in_ch = out_ch
            if i > 0:
                up.append(Upsample(in_ch))
        self.up = nn.ModuleList(up)
        self.norm = nn.GroupNorm(final_groups, n_channels)
        self.act = Swish()
        self.final = nn.Conv2d(in_ch, image_channels, kernel_size=(3, 3), padding=(1, 1))

    def forward(self, x, t):
        t = self.time_emb(t)
        x = self.image_proj(x)
        skips = [x]
        for m in self.down:
            x = m(x, t)
            skips.append(x)
        x = self.middle(x, t)
        for m in self.up:
            if isinstance(m, Upsample):
                x = m(x, t)
            else:
                x = m(torch.cat((x, skips.pop()), dim=1), t)
        return self.final(self.act(self.norm(x)))


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
