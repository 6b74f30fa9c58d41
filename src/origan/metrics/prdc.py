"""Precision and recall (Kynkäänniemi et al. 2019, k = 3) and density and coverage (Naeem et al. 2020, k = 5).

With real features ``X`` (N rows), fake features ``Y`` (M rows) and ``r_k(a)`` the distance from ``a`` to its
k-th nearest neighbour in its own set (itself excluded):

- precision = share of fakes inside at least one real ball ``B(X_i, r_3(X_i))``;
- recall    = share of reals inside at least one fake ball ``B(Y_j, r_3(Y_j))``;
- density   = ``1/(k M) sum_j #{i : Y_j in B(X_i, r_5(X_i))}`` (about 1 when the sets are alike; above 1
  when fakes crowd dense real regions);
- coverage  = share of reals whose ball ``B(X_i, r_5(X_i))`` holds at least one fake.

Tie convention: balls are open, ``||a - b|| < r`` (as in Naeem et al.'s reference code); a point exactly on
a ball's boundary is outside. Kynkäänniemi et al. write the closed ball ``<=``; the two differ only on exact
ties. Every distance is the canonical one of :mod:`origan.distances`, one float64 number per pair
whether it serves a radius (real-real) or a ball test (real-fake), on every CPU: so two identical sets give
precision = recall = coverage = 1 and density = 1 exactly, and the figures do not depend on the machine.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ..distances import count_in_balls, flat64, kth_neighbour_sq_radii, kth_neighbour_sq_radius, nearest_neighbour
from .registry import MetricContext, register_metric

__all__ = ["K_DENSITY_COVERAGE", "K_PRECISION_RECALL", "kth_neighbour_sq_radius", "prdc"]

K_PRECISION_RECALL = 3  # Kynkäänniemi et al. 2019
K_DENSITY_COVERAGE = 5  # Naeem et al. 2020


def prdc(
    real: Tensor, fake: Tensor, k_pr: int = K_PRECISION_RECALL, k_dc: int = K_DENSITY_COVERAGE
) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (each ``(n, ...)`` features).

    Returns:
        ``precision``, ``recall``, ``coverage`` in [0, 1] and ``density`` >= 0 (about 1 for alike sets).
    """
    x = flat64(real)  # (N, d)
    y = flat64(fake).to(x.device)  # (M, d)
    r_real = kth_neighbour_sq_radii(x, (k_pr, k_dc))  # (2, N): precision and density radii
    r_fake = kth_neighbour_sq_radius(y, k_pr)  # (M,)
    fakes_in_real_balls = count_in_balls(y, x, r_real)  # (2, M)
    reals_in_fake_balls = count_in_balls(x, y, r_fake[None])[0]  # (N,)
    nearest_fake, _ = nearest_neighbour(x, y)  # (N,)
    return {
        "precision": int((fakes_in_real_balls[0] > 0).sum()) / len(y),
        "recall": int((reals_in_fake_balls > 0).sum()) / len(x),
        "density": int(fakes_in_real_balls[1].sum()) / (k_dc * len(y)),
        "coverage": int((nearest_fake < r_real[1]).sum()) / len(x),
    }


@register_metric(
    "prdc",
    kinds=("image", "vector", "table"),
    description="precision/recall (Kynkaanniemi et al. 2019, k=3) and density/coverage (Naeem et al. 2020, k=5) "
    "against the training split; classifier features for digit images, raw values otherwise; open balls",
)
def prdc_metric(samples: Tensor, reference: Any, ctx: MetricContext, *, n_max: int = 10_000) -> dict[str, Any]:
    """PRDC of up to ``n_max`` samples against as many training examples, in the ``ctx.embed`` feature space."""
    n = min(n_max, len(samples), len(reference.train))
    real, fake = reference.train[:n], samples[:n]
    if ctx.embed is not None:
        real, fake = ctx.embed(real), ctx.embed(fake)
    out: dict[str, Any] = dict(prdc(real, fake))
    out.update(
        {
            "n": n,
            "features": ctx.feature_space,
            "k_precision_recall": K_PRECISION_RECALL,
            "k_density_coverage": K_DENSITY_COVERAGE,
            "ties": "open balls: a point on a boundary is outside",
        }
    )
    return out
