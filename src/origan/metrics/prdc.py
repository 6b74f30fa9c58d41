"""Precision and recall (Kynkäänniemi et al. 2019, k = 3) and density and coverage (Naeem et al. 2020, k = 5).

With real features ``X`` (N rows), fake features ``Y`` (M rows) and ``r_k(a)`` the distance from ``a`` to its
k-th nearest neighbour in its own set (itself excluded):

- precision = share of fakes inside at least one real ball ``B(X_i, r_3(X_i))``;
- recall    = share of reals inside at least one fake ball ``B(Y_j, r_3(Y_j))``;
- density   = ``1/(k M) sum_j #{i : Y_j in B(X_i, r_5(X_i))}`` (about 1 when the sets are alike; above 1
  when fakes crowd dense real regions);
- coverage  = share of reals whose ball ``B(X_i, r_5(X_i))`` holds at least one fake.

Tie convention: balls are open, ``||a - b|| < r`` (as in Naeem et al.'s reference code); a point exactly on
a ball's boundary is outside. So two identical sets give precision = recall = coverage = 1 and density = 1
exactly. Kynkäänniemi et al. write the closed ball ``<=``; the two differ only on exact ties.
All distances are Euclidean, in float64, computed in blocks.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import register_metric

__all__ = ["K_DENSITY_COVERAGE", "K_PRECISION_RECALL", "kth_neighbour_sq_radius", "prdc"]

K_PRECISION_RECALL = 3  # Kynkäänniemi et al. 2019
K_DENSITY_COVERAGE = 5  # Naeem et al. 2020
BLOCK_ELEMENTS = 1 << 22


def _sq_dist(a: Tensor, b: Tensor, b_sq: Tensor) -> Tensor:
    """``(len(a), len(b))`` squared Euclidean distances, float64, clamped at 0."""
    return ((a * a).sum(1, keepdim=True) + b_sq[None, :] - 2.0 * a @ b.T).clamp_min_(0.0)


def _blocks(n: int, width: int) -> range:
    return range(0, n, max(1, BLOCK_ELEMENTS // max(width, 1)))


def kth_neighbour_sq_radius(x: Tensor, k: int) -> Tensor:
    """``(n,)`` squared distance from each row of ``x`` (``(n, d)``) to its k-th nearest other row.

    The row itself is the nearest (distance 0), so this is the (k+1)-th smallest distance of its row.
    """
    if len(x) <= k:
        raise ValueError(f"need more than k={k} points for k-th neighbour radii, got {len(x)}")
    x_sq = (x * x).sum(1)
    out = torch.empty(len(x), dtype=torch.float64, device=x.device)
    step = _blocks(len(x), len(x)).step
    for i in range(0, len(x), step):
        d = _sq_dist(x[i : i + step], x, x_sq)  # (b, n)
        out[i : i + step] = d.topk(k + 1, dim=1, largest=False).values[:, k]
    return out


def prdc(real: Tensor, fake: Tensor, k_pr: int = K_PRECISION_RECALL, k_dc: int = K_DENSITY_COVERAGE) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (each ``(n, ...)`` features).

    Returns:
        ``precision``, ``recall``, ``coverage`` in [0, 1] and ``density`` >= 0 (about 1 for alike sets).
    """
    x = real.detach().reshape(len(real), -1).to(torch.float64)  # (N, d)
    y = fake.detach().reshape(len(fake), -1).to(torch.float64).to(x.device)  # (M, d)
    r_pr_real, r_dc_real = kth_neighbour_sq_radius(x, k_pr), kth_neighbour_sq_radius(x, k_dc)  # (N,), (N,)
    r_pr_fake = kth_neighbour_sq_radius(y, k_pr)  # (M,)
    x_sq, y_sq = (x * x).sum(1), (y * y).sum(1)
    in_real_ball = 0  # fakes inside some real k_pr-ball
    density_hits = 0  # (fake, real k_dc-ball) pairs with the fake inside
    step = _blocks(len(y), len(x)).step
    for j in range(0, len(y), step):
        d = _sq_dist(y[j : j + step], x, x_sq)  # (b, N)
        in_real_ball += int((d < r_pr_real[None, :]).any(1).sum())
        density_hits += int((d < r_dc_real[None, :]).sum())
    covered = 0  # reals whose k_dc-ball holds a fake
    in_fake_ball = 0  # reals inside some fake k_pr-ball
    step = _blocks(len(x), len(y)).step
    for i in range(0, len(x), step):
        d = _sq_dist(x[i : i + step], y, y_sq)  # (b, M)
        in_fake_ball += int((d < r_pr_fake[None, :]).any(1).sum())
        covered += int((d.min(1).values < r_dc_real[i : i + step]).sum())
    return {"precision": in_real_ball / len(y), "recall": in_fake_ball / len(x),
            "density": density_hits / (k_dc * len(y)), "coverage": covered / len(x)}


@register_metric(
    "prdc", kinds=("image", "vector", "table"),
    description="precision/recall (Kynkaanniemi et al. 2019, k=3) and density/coverage (Naeem et al. 2020, k=5) "
                "against the training split; classifier features for digit images, raw values otherwise; open balls",
)
def prdc_metric(samples: Tensor, reference: Any, *, embed: Any = None, feature_space: str = "raw",
                n_max: int = 10_000, **_: Any) -> dict[str, Any]:
    """PRDC of up to ``n_max`` samples against as many training examples, in the ``embed`` feature space."""
    n = min(n_max, len(samples), len(reference.train))
    real, fake = reference.train[:n], samples[:n]
    if embed is not None:
        real, fake = embed(real), embed(fake)
    out: dict[str, Any] = dict(prdc(real, fake))
    out.update({"n": n, "features": feature_space, "k_precision_recall": K_PRECISION_RECALL,
                "k_density_coverage": K_DENSITY_COVERAGE, "ties": "open balls: a point on a boundary is outside"})
    return out
