"""Gauss-Legendre quadrature on a box, in float64, with an error estimate from two orders.

A :class:`Domain` is a box cut into panels (per dimension, the panel edges). On each panel an ``order``-point
Gauss-Legendre rule is exact for polynomials of degree ``2 * order - 1``; the box's rule is the tensor
product of the per-dimension composite rules. :func:`integrate` evaluates the rule at ``order`` and at
``2 * order`` points per panel and reports the second value with ``|Q_2n - Q_n|`` as its error estimate
(the higher-order rule is much more accurate, so the difference bounds its error in practice).

The box holds all but a stated tail mass of each density (see :meth:`Domain.for_mixtures`); a density
that is zero outside an interval (a uniform, a truncated density, a flow from uniform noise) is
integrated exactly when its support's ends are panel edges (``breaks``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

__all__ = ["Domain", "Estimate", "integrate", "tensor_rule"]

CHUNK = 1 << 16  # quadrature nodes evaluated per call of the integrand (bounds memory for 2-D rules)


@dataclass(frozen=True)
class Estimate:
    """A number with its uncertainty.

    Attributes:
        value: the estimate.
        error: quadrature: ``|Q_2n - Q_n|`` plus any stated tail bound; Monte Carlo: the standard error.
        method: ``"quadrature"`` or ``"monte-carlo"``.
    """

    value: float
    error: float
    method: str

    def as_dict(self) -> dict[str, float | str]:
        return {"value": self.value, "error": self.error, "method": self.method}


@lru_cache(maxsize=32)
def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)  # nodes and weights on [-1, 1]


def _composite(edges: Tensor, order: int) -> tuple[Tensor, Tensor]:
    """``(nodes (P*order,), weights (P*order,))`` of the composite rule on panels between ``edges``."""
    t, w = (torch.from_numpy(a) for a in _gauss_legendre(order))  # (order,)
    lo, hi = edges[:-1, None], edges[1:, None]  # (P, 1)
    half = (hi - lo) / 2
    return (lo + half * (t + 1)).reshape(-1), (half * w).reshape(-1)


@dataclass(frozen=True)
class Domain:
    """A box split into panels: ``edges[i]`` are the sorted panel edges of dimension ``i`` (float64).

    Attributes:
        edges: per dimension, ``(P_i + 1,)`` panel edges.
        tail_mass: the stated bound on the mass each density of interest puts outside the box.
    """

    edges: tuple[Tensor, ...]
    tail_mass: float = 0.0

    @property
    def dim(self) -> int:
        return len(self.edges)

    @property
    def bounds(self) -> list[tuple[float, float]]:
        return [(float(e[0]), float(e[-1])) for e in self.edges]

    @classmethod
    def box(
        cls,
        bounds: Sequence[tuple[float, float]],
        panels: int | Sequence[int] = 64,
        breaks: Sequence[Sequence[float]] = (),
        tail_mass: float = 0.0,
    ) -> Domain:
        """Equal panels on ``bounds`` (one ``(lo, hi)`` per dimension), plus extra edges at ``breaks[i]``.

        Put a break wherever a density jumps (the ends of a support): the rule is then exact up to the
        smoothness of each piece.
        """
        per_dim = [panels] * len(bounds) if isinstance(panels, int) else list(panels)
        edges = []
        for i, (lo, hi) in enumerate(bounds):
            if not hi > lo or per_dim[i] < 1:
                raise ValueError(f"dimension {i}: expected lo < hi and >= 1 panel, got ({lo}, {hi}), {per_dim[i]}")
            e = torch.linspace(lo, hi, per_dim[i] + 1, dtype=torch.float64)
            extra = [b for b in (breaks[i] if i < len(breaks) else ()) if lo < b < hi]
            e = torch.unique(torch.cat([e, torch.tensor(extra, dtype=torch.float64)]))  # sorted
            edges.append(e[torch.cat([torch.tensor([True]), e.diff() > 1e-12 * (hi - lo)])])
        return cls(tuple(edges), tail_mass)

    @classmethod
    def for_mixtures(
        cls,
        *mixtures: object,
        tail_mass: float = 1e-12,
        panels_per_std: float = 0.5,
        min_panels: int = 16,
        max_panels: int = 2048,
    ) -> Domain:
        """The smallest box that leaves at most ``tail_mass`` of every Gaussian mixture outside.

        An isotropic component ``N(mu, s^2 I)`` puts at most ``2 d Phi(-k)`` outside ``mu +- k s`` (a union
        bound over coordinates), so ``k = Phi^-1(1 - tail_mass / (2 d))``. Panels are ``1 / panels_per_std``
        smallest standard deviations wide (2 by default): a 12-point rule then integrates a Gaussian to
        about 1e-13, and the 24-point rule's difference from it shows it.
        """
        dim = int(mixtures[0].means.shape[1])  # type: ignore[attr-defined]
        k = _normal_upper_quantile(tail_mass / (2 * dim))
        lo = torch.stack([(m.means - k * m.stds[:, None]).min(0).values for m in mixtures]).min(0).values  # type: ignore[attr-defined]
        hi = torch.stack([(m.means + k * m.stds[:, None]).max(0).values for m in mixtures]).max(0).values  # type: ignore[attr-defined]
        s_min = min(float(m.stds.min()) for m in mixtures)  # type: ignore[attr-defined]
        panels = [
            min(max_panels, max(min_panels, math.ceil(float(h - l) / s_min * panels_per_std)))
            for l, h in zip(lo, hi, strict=True)
        ]
        return cls.box([(float(a), float(b)) for a, b in zip(lo, hi, strict=True)], panels, tail_mass=tail_mass)


def _normal_upper_quantile(q: float) -> float:
    """k with Phi(-k) = q, by bisection on erfc (no scipy at run time); for 0 < q < 1/2."""
    if not 0 < q < 0.5:
        raise ValueError(f"tail mass per side must be in (0, 1/2), got {q}")
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * math.erfc(mid / math.sqrt(2)) > q:
            lo = mid
        else:
            hi = mid
    return hi


def tensor_rule(domain: Domain, order: int) -> tuple[Tensor, Tensor]:
    """``(nodes (N, d), weights (N,))`` of the tensor-product composite Gauss-Legendre rule, float64."""
    rules = [_composite(e, order) for e in domain.edges]
    grids = torch.meshgrid(*[r[0] for r in rules], indexing="ij")
    nodes = torch.stack([g.reshape(-1) for g in grids], dim=1)  # (N, d)
    weight_grids = torch.meshgrid(*[r[1] for r in rules], indexing="ij")
    weights = math.prod(w.reshape(-1) for w in weight_grids)  # (N,)
    return nodes, weights  # type: ignore[return-value]


Integrand = Callable[[Tensor], Tensor]  # (n, d) float64 nodes -> (n, m) values of m integrands


@torch.no_grad()
def integrate(integrand: Integrand, domain: Domain, order: int = 12) -> tuple[Tensor, Tensor]:
    """Integrate m functions at once over ``domain``.

    Args:
        integrand: ``x (n, d) float64 -> (n, m)`` values (finite; the caller maps 0 * log 0 to 0).
        order: Gauss-Legendre points per panel and dimension of the coarse rule; the fine rule has twice as many.

    Returns:
        ``(values (m,), errors (m,))``: the fine rule's integrals and ``|fine - coarse|``.
    """
    totals = []
    for n in (order, 2 * order):
        nodes, weights = tensor_rule(domain, n)
        acc: Tensor | None = None
        for i in range(0, len(nodes), CHUNK):
            part = weights[i : i + CHUNK] @ integrand(nodes[i : i + CHUNK])  # (m,)
            acc = part if acc is None else acc + part
        if acc is None:
            raise ValueError(f"the quadrature rule of order {n} has no nodes")
        totals.append(acc)
    coarse, fine = totals
    return fine, (fine - coarse).abs()
