"""Mode coverage on toy mixtures, as defined by VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018).

For samples of G and a target mixture with modes ``mu_k`` and standard deviations ``s_k``:

- a sample's *nearest mode* is ``argmin_k ||x - mu_k|| / s_k`` (the standardised distance; with equal
  stds this is the Euclidean nearest mode; of equally near modes, the first);
- a sample is *high-quality* when that standardised distance is below 3 (within three standard deviations);
- a mode is *captured* when it is the nearest mode of at least one high-quality sample;
- the *mode histogram* counts high-quality samples per nearest mode, and its *reverse KL* is
  ``KL(hist || w) = sum_k hist_k log(hist_k / w_k)`` against the mixture weights ``w`` (PacGAN's code
  normalises the histogram over the high-quality samples only).

Distances are the canonical ones of :mod:`origan.distances`, so a sample on a boundary falls on
the same side on every CPU. Each figure is computed on 2,500 samples (the papers' count) and reported as
mean and standard error over several independent draws of noise.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ..distances import min_first, sq_dist_matrix
from .registry import MetricContext, register_metric

__all__ = ["N_SAMPLES_PER_DRAW", "mode_coverage", "modes_metric", "summarise_draws"]

N_SAMPLES_PER_DRAW = 2500  # VEEGAN / PacGAN evaluate 2,500 samples
N_STD = 3.0  # a sample is high-quality within this many standard deviations of its nearest mode


def mode_coverage(
    samples: Tensor, modes: Tensor, stds: Tensor, weights: Tensor | None = None, n_std: float = N_STD
) -> dict[str, Any]:
    """Mode statistics of one set of samples.

    Args:
        samples: ``(n, d)`` samples of G.
        modes: ``(K, d)`` mode centres.
        stds: ``(K,)`` per-mode standard deviations.
        weights: ``(K,)`` mixture weights (uniform when omitted).
        n_std: the high-quality radius in standard deviations.

    Returns:
        ``high_quality`` (share of samples, in [0, 1]), ``modes_captured`` (int), ``reverse_kl`` (nats; None
        when no sample is high-quality), ``histogram`` (K counts of high-quality samples per mode).
    """
    x = samples.detach().reshape(len(samples), -1).to(torch.float64).cpu()  # (n, d)
    mu = modes.to(torch.float64).cpu()  # (K, d)
    s = stds.to(torch.float64).cpu()  # (K,)
    k = mu.shape[0]
    w = (
        torch.full((k,), 1.0 / k, dtype=torch.float64)
        if weights is None
        else weights.to(torch.float64).cpu() / weights.sum()
    )
    dist = sq_dist_matrix(x, mu).sqrt_() / s[None, :]  # (n, K) distance in units of each mode's std
    nearest_dist, nearest = min_first(dist)  # (n,), (n,): of equally near modes, the first
    good = nearest_dist < n_std  # (n,)
    counts = torch.bincount(nearest[good], minlength=k)  # (K,)
    n_good = int(counts.sum())
    reverse_kl = None
    if n_good:
        hist = counts.double() / n_good
        seen = hist > 0
        reverse_kl = float((hist[seen] * (hist[seen] / w[seen]).log()).sum())
    return {
        "high_quality": n_good / max(len(x), 1),
        "modes_captured": int((counts > 0).sum()),
        "reverse_kl": reverse_kl,
        "histogram": counts.tolist(),
    }


def summarise_draws(draws: list[dict[str, Any]], n_modes: int) -> dict[str, Any]:
    """Mean and standard error (``std(ddof=1) / sqrt(runs)``) of each figure over several draws."""
    out: dict[str, Any] = {"modes_total": n_modes, "draws": len(draws), "samples_per_draw": None}
    for key in ("modes_captured", "high_quality", "reverse_kl"):
        values = [d[key] for d in draws if d[key] is not None]
        if not values:
            out[key], out[f"{key}_se"] = None, None
            continue
        t = torch.tensor(values, dtype=torch.float64)
        out[key] = float(t.mean())
        out[f"{key}_se"] = float(t.std(unbiased=True) / math.sqrt(len(t))) if len(t) > 1 else 0.0
    return out


@register_metric(
    "modes",
    kinds=("vector",),
    description="toy mode coverage (VEEGAN/PacGAN): modes captured, share of samples within 3 std of their "
    "nearest mode, reverse KL of the mode histogram; 2,500 samples, mean +- s.e. over draws",
    applies=lambda data: data.target is not None,
)
def modes_metric(samples: Tensor, reference: Any, ctx: MetricContext, *, draws: int = 5) -> dict[str, Any]:
    """Mode coverage of ``draws`` independent sets of 2,500 samples (``ctx.draw(n, seed)``; else slices of
    ``samples``)."""
    target = reference.target
    results = []
    for i in range(draws):
        if ctx.draw is not None:
            x = ctx.draw(N_SAMPLES_PER_DRAW, ctx.seed + 1000 + i)
        else:
            x = samples[i * N_SAMPLES_PER_DRAW : (i + 1) * N_SAMPLES_PER_DRAW]
            if len(x) < N_SAMPLES_PER_DRAW:
                break
        results.append(mode_coverage(x, target.modes, target.stds, target.weights))
    out = summarise_draws(results, int(target.modes.shape[0]))
    out["samples_per_draw"] = N_SAMPLES_PER_DRAW
    out["histogram_first_draw"] = results[0]["histogram"] if results else []
    return out
