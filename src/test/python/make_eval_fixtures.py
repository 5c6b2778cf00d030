#!/usr/bin/env python3
"""Writes the golden values of the io.github.ddpm4j.eval tests (FID and KID's MMD^2).

PyTorch computes every value here in float64, by a route other than ddpm4j's: the trace term of FID,
tr((S1 S2)^(1/2)), is the sum of the square roots of the eigenvalues of the non-symmetric product S1 S2
(torch.linalg.eigvals), where ddpm4j takes the symmetric sqrt(S1) S2 sqrt(S1) with Commons Math; the
MMD^2 is summed with explicit loops over pairs of rows, where ddpm4j uses matrix products.

Run from the repository root with the system Python that has torch:

    /usr/bin/python3 src/test/python/make_eval_fixtures.py

It rewrites src/test/resources/fixtures/eval/metrics.json (a few kB). Feature values are float32
numbers, written as the decimal of their exact double value, so Java reads back the very same bits.
"""

import json
import os
import sys

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "resources", "fixtures", "eval")


def T(t):
    return {"shape": list(t.shape), "data": [float(v) for v in t.double().flatten().tolist()]}


def fid(a, b):
    a, b = a.double(), b.double()
    mu1, mu2 = a.mean(0), b.mean(0)
    s1 = torch.cov(a.T, correction=1)
    s2 = torch.cov(b.T, correction=1)
    ev = torch.linalg.eigvals(s1 @ s2)
    tr_sqrt = ev.real.clamp(min=0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_sqrt)


def mmd2(x, y):
    x, y = x.double(), y.double()
    d = x.shape[1]
    k = lambda u, v: (float(u @ v) / d + 1.0) ** 3
    m, n = x.shape[0], y.shape[0]
    kxx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    kyy = sum(k(y[i], y[j]) for i in range(n) for j in range(n) if i != j)
    kxy = sum(k(x[i], y[j]) for i in range(m) for j in range(n))
    return kxx / (m * (m - 1)) + kyy / (n * (n - 1)) - 2 * kxy / (m * n)


def case(name, g, n1, n2, d, shift, scale):
    x = torch.randn(n1, d, generator=g)
    y = (torch.randn(n2, d, generator=g) * scale + shift).float()
    return name, {"x": T(x), "y": T(y), "fid": fid(x, y), "mmd2": mmd2(x, y)}


def main():
    g = torch.Generator().manual_seed(1234)
    cases = dict([
        case("full_rank", g, 40, 30, 6, 0.5, 1.5),   # n > d: both covariances invertible
        case("rank_deficient", g, 9, 12, 16, 0.2, 0.8),  # n < d: singular covariances, eigenvalues clamped
        case("same_distribution", g, 50, 50, 4, 0.0, 1.0),
    ])
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "metrics.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases}, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
