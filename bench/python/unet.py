"""DDPM noise-prediction UNet for the ddpm4j benchmark baselines.

A re-implementation of the UNet in labmlai/annotated_deep_learning_paper_implementations
(labml_nn/diffusion/ddpm/unet.py) with the same module tree, parameter names and
construction order (so that torch.manual_seed(0) yields the same weights here, in
bench/cpp/unet.cpp and in ddpm4j), and one deliberate change: AttentionBlock applies its
GroupNorm to the input before the q/k/v projection (the original builds `norm` but never
calls it). The residual connection of the attention block still adds the un-normalised
input.

Three knobs the original hard-codes are parameters here: `n_groups` (GroupNorm groups of
the residual and attention blocks; the original uses 32), `dropout` (0.1) and
`final_groups` (the final GroupNorm's groups; 8, as in the original).

This is the one Python definition of the network: the benchmark baselines use it, and so
does src/test/python/make_unet_fixture.py, which writes the UNet's golden values.
"""

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn import functional as F


class Swish(nn.Module):
    """x * sigmoid(x), the original's activation, computed by the fused op F.silu as ddpm4j does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(x)


class TimeEmbedding(nn.Module):
    """Sinusoidal features of t (n_channels // 8 sines and as many cosines), then an MLP."""

    def __init__(self, n_channels: int):
        super().__init__()
        self.n_channels = n_channels
        self.lin1 = nn.Linear(n_channels // 4, n_channels)
        self.act = Swish()
        self.lin2 = nn.Linear(n_channels, n_channels)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        half = self.n_channels // 8
        step = math.log(10000.0) / (half - 1)
        freqs = torch.exp(torch.arange(half, device=t.device) * -step)
        angles = t[:, None] * freqs[None, :]
        feats = torch.cat((angles.sin(), angles.cos()), dim=1)
        return self.lin2(self.act(self.lin1(feats)))


class ResidualBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, time_channels: int,
                 n_groups: int, dropout: float):
        super().__init__()
        # Construction order matters for seeded init: norm1, conv1, norm2, conv2, shortcut, time_emb.
        self.norm1 = nn.GroupNorm(n_groups, in_channels)
        self.act1 = Swish()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.norm2 = nn.GroupNorm(n_groups, out_channels)
        self.act2 = Swish()
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        if in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, kernel_size=1)
        else:
            self.shortcut = nn.Identity()
        self.time_emb = nn.Linear(time_channels, out_channels)
        self.time_act = Swish()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act1(self.norm1(x)))
        h += self.time_emb(self.time_act(t))[:, :, None, None]
        h = self.conv2(self.dropout(self.act2(self.norm2(h))))
        return h + self.shortcut(x)


class AttentionBlock(nn.Module):
    def __init__(self, n_channels: int, n_groups: int, n_heads: int = 1, d_k: int = None):
        super().__init__()
        if d_k is None:
            d_k = n_channels
        self.norm = nn.GroupNorm(n_groups, n_channels)
        self.projection = nn.Linear(n_channels, n_heads * d_k * 3)
        self.output = nn.Linear(n_heads * d_k, n_channels)
        self.scale = d_k ** -0.5
        self.n_heads = n_heads
        self.d_k = d_k

    def forward(self, x: torch.Tensor, t: torch.Tensor = None) -> torch.Tensor:
        b, c, height, width = x.shape
        skip = x.view(b, c, -1).permute(0, 2, 1)                      # [b, seq, c]
        normed = self.norm(x).view(b, c, -1).permute(0, 2, 1)         # the fix: normalise first
        qkv = self.projection(normed).view(b, -1, self.n_heads, 3 * self.d_k)
        q, k, v = torch.chunk(qkv.transpose(1, 2), 3, dim=-1)       # each [b, heads, seq, d_k]
        attn = torch.matmul(q, k.transpose(-1, -2)) * self.scale     # [b, heads, query, key]
        attn = attn.softmax(dim=-1)
        res = torch.matmul(attn, v)                                  # [b, heads, seq, d_k]
        res = res.transpose(1, 2).reshape(b, -1, self.n_heads * self.d_k)
        res = self.output(res)
        res += skip
        return res.permute(0, 2, 1).view(b, c, height, width)


class DownBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, time_channels: int, has_attn: bool,
                 n_groups: int, dropout: float):
        super().__init__()
        self.res = ResidualBlock(in_channels, out_channels, time_channels, n_groups, dropout)
        self.attn = AttentionBlock(out_channels, n_groups) if has_attn else nn.Identity()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.attn(self.res(x, t))


class UpBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, time_channels: int, has_attn: bool,
                 n_groups: int, dropout: float):
        super().__init__()
        # Input is the concatenation with the skip connection: in_channels + out_channels.
        self.res = ResidualBlock(in_channels + out_channels, out_channels, time_channels, n_groups, dropout)
        self.attn = AttentionBlock(out_channels, n_groups) if has_attn else nn.Identity()

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.attn(self.res(x, t))


class MiddleBlock(nn.Module):
    def __init__(self, n_channels: int, time_channels: int, n_groups: int, dropout: float):
        super().__init__()
        self.res1 = ResidualBlock(n_channels, n_channels, time_channels, n_groups, dropout)
        self.attn = AttentionBlock(n_channels, n_groups)
        self.res2 = ResidualBlock(n_channels, n_channels, time_channels, n_groups, dropout)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.res2(self.attn(self.res1(x, t)), t)


class Upsample(nn.Module):
    def __init__(self, n_channels: int):
        super().__init__()
        self.conv = nn.ConvTranspose2d(n_channels, n_channels, 4, 2, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Downsample(nn.Module):
    def __init__(self, n_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(n_channels, n_channels, 3, 2, 1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    def __init__(self, image_channels: int = 3, n_channels: int = 64,
                 ch_mults: Sequence[int] = (1, 2, 2, 4),
                 is_attn: Sequence[bool] = (False, False, True, True),
                 n_blocks: int = 2, n_groups: int = 32, dropout: float = 0.1, final_groups: int = 8):
        super().__init__()
        n_res = len(ch_mults)
        time_ch = n_channels * 4
        self.image_proj = nn.Conv2d(image_channels, n_channels, kernel_size=3, padding=1)
        self.time_emb = TimeEmbedding(time_ch)

        down = []
        in_ch = out_ch = n_channels
        for i in range(n_res):
            out_ch = in_ch * ch_mults[i]
            for _ in range(n_blocks):
                down.append(DownBlock(in_ch, out_ch, time_ch, is_attn[i], n_groups, dropout))
                in_ch = out_ch
            if i < n_res - 1:
                down.append(Downsample(in_ch))
        self.down = nn.ModuleList(down)

        self.middle = MiddleBlock(out_ch, time_ch, n_groups, dropout)

        up = []
        in_ch = out_ch
        for i in reversed(range(n_res)):
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
        self.final = nn.Conv2d(in_ch, image_channels, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
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


# The two benchmark configurations (32x32 images).
CONFIGS = {
    "cpu-default": dict(image_channels=1, n_channels=32, ch_mults=(1, 2, 2),
                        is_attn=(False, False, True), n_blocks=1, n_groups=8, dropout=0.1),
    "seed": dict(image_channels=3, n_channels=64, ch_mults=(1, 2, 2, 4),
                 is_attn=(False, False, True, True), n_blocks=2, n_groups=32, dropout=0.1),
}
IMAGE_SIZE = 32


def build(config: str) -> UNet:
    return UNet(**CONFIGS[config])
