"""Writes src/test/resources/fixtures/diffusion/dpm_solver.json: DPM-Solver++(2M) runs with a toy model.

An implementation of DPM-Solver++(2M) independent of the Java one, written in the form of diffusers'
DPMSolverMultistepScheduler (algorithm_type="dpmsolver++", solver_order=2, solver_type="midpoint",
final_sigmas_type="zero", timestep_spacing="linspace"): it works with sigma = sqrt((1 - alphaBar) / alphaBar),
alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma alpha_t, and the D0 / D1 form of the second-order update.
All in float64, on the default linear schedule (betas linspace(1e-4, 0.02, 1000)).

The toy network returns out = 0.5 * x * (t / T), read as eps, v or x0 by the case's prediction type.

"logsnr" holds the timesteps of log-SNR spacing on linear schedules (betas linspace(1e-4, 0.02, T)) where the
nearest timesteps collide.

Run: /usr/bin/python3 src/test/python/make_dpm_solver_fixture.py
"""
import json
import math
import os

import numpy as np
import torch

T = 1000
betas = torch.linspace(1e-4, 0.02, T, dtype=torch.float64)
alphas_cumprod = torch.cumprod(1.0 - betas, dim=0)


def model(x, t):
    return 0.5 * x * (t / T)


def to_x0(out, x, t, prediction):
    ab = alphas_cumprod[t]
    a, s = ab.sqrt(), (1 - ab).sqrt()
    if prediction == "epsilon":
        return (x - s * out) / a
    if prediction == "v_prediction":
        return a * x - s * out
    return out


def linspace_timesteps(steps):
    # diffusers: np.linspace(0, T - 1, steps + 1).round()[::-1][:-1]
    return np.linspace(0, T - 1, steps + 1).round()[::-1][:-1].astype(np.int64).tolist()


def logsnr_timesteps(steps, ac=alphas_cumprod):
    """steps + 1 values of lambda evenly spaced from lambda_{T-1} to lambda_0, each at its nearest timestep, less the
    last; where two coincide, from t = 0 up, each at least one above the one before and at most as high as leaves a
    timestep for each later point."""
    n = len(ac)
    lam = 0.5 * torch.log(ac / (1 - ac))
    targets = torch.linspace(float(lam[n - 1]), float(lam[0]), steps + 1, dtype=torch.float64)
    nearest = [int(torch.argmin((lam - v).abs())) for v in targets][:-1]  # from T - 1 down
    up = nearest[::-1]  # from the smallest up
    out = []
    for j, t in enumerate(up):
        low = out[-1] + 1 if out else 0
        high = n - 1 - (steps - 1 - j)
        out.append(min(max(t, low), high))
    return out[::-1]


def run(x, timesteps, prediction):
    sig = ((1 - alphas_cumprod) / alphas_cumprod).sqrt()
    sigmas = [float(sig[t]) for t in timesteps] + [0.0]

    def alpha_sigma(sigma):
        alpha_t = 1.0 / math.sqrt(sigma ** 2 + 1)
        return alpha_t, sigma * alpha_t

    outputs = []
    for i, t in enumerate(timesteps):
        x0 = to_x0(model(x, t), x, t, prediction)
        outputs.append(x0)
        last = i == len(timesteps) - 1
        if last:  # sigma_next = 0: lambda = inf, the first-order update is x0 itself
            x = x0
            continue
        alpha_t, sigma_t = alpha_sigma(sigmas[i + 1])
        alpha_s0, sigma_s0 = alpha_sigma(sigmas[i])
        lambda_t = math.log(alpha_t) - math.log(sigma_t)
        lambda_s0 = math.log(alpha_s0) - math.log(sigma_s0)
        h = lambda_t - lambda_s0
        if i == 0:
            x = (sigma_t / sigma_s0) * x - (alpha_t * (math.exp(-h) - 1.0)) * x0
        else:
            alpha_s1, sigma_s1 = alpha_sigma(sigmas[i - 1])
            lambda_s1 = math.log(alpha_s1) - math.log(sigma_s1)
            r0 = (lambda_s0 - lambda_s1) / h
            m0, m1 = outputs[-1], outputs[-2]
            D0, D1 = m0, (1.0 / r0) * (m0 - m1)
            x = (sigma_t / sigma_s0) * x - (alpha_t * (math.exp(-h) - 1.0)) * D0 - 0.5 * (alpha_t * (math.exp(-h) - 1.0)) * D1
    return x


def main():
    g = torch.Generator().manual_seed(0)
    x_T = torch.randn(2, 1, 3, 3, generator=g, dtype=torch.float64)
    cases = []
    for prediction, spacing, steps in [("epsilon", "linspace", 10), ("v_prediction", "linspace", 10),
                                       ("sample", "linspace", 20), ("epsilon", "logsnr", 10)]:
        ts = linspace_timesteps(steps) if spacing == "linspace" else logsnr_timesteps(steps)
        out = run(x_T.clone(), ts, prediction)
        cases.append({"prediction": prediction, "spacing": spacing, "steps": steps, "timesteps": ts,
                      "x0": out.flatten().tolist()})
    spacings = []
    for t_len, steps in [(50, 8), (50, 49), (1000, 900)]:
        ac = torch.cumprod(1.0 - torch.linspace(1e-4, 0.02, t_len, dtype=torch.float64), dim=0)
        spacings.append({"T": t_len, "steps": steps, "timesteps": logsnr_timesteps(steps, ac)})
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "..", "resources", "fixtures", "diffusion", "dpm_solver.json")
    with open(path, "w") as f:
        json.dump({"generator": "src/test/python/make_dpm_solver_fixture.py", "torch": torch.__version__,
                   "shape": list(x_T.shape), "xT": x_T.flatten().tolist(), "cases": cases,
                   "logsnr": spacings}, f, indent=1)
    print("wrote", os.path.normpath(path))


if __name__ == "__main__":
    main()
