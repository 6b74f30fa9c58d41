"""Densities the lab needs besides the toy targets: uniform boxes, truncated mixtures, and p_g of a flow.

Each has ``sample(n, generator) -> (n, d)`` and an exact ``log_prob(x) -> (n,)`` that is -inf outside its
support, so supports can be disjoint and every quantity stays exact.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..data.mixture import GaussianMixture
from ..models.flows import Flow
from ..priors import Prior

__all__ = ["FlowDensity", "TruncatedMixture", "UniformBox"]


class UniformBox:
    """The uniform density on the box ``[low_i, high_i]`` in d dimensions."""

    def __init__(self, low: Sequence[float], high: Sequence[float]) -> None:
        self.low = torch.tensor(low, dtype=torch.float64)  # (d,)
        self.high = torch.tensor(high, dtype=torch.float64)  # (d,)
        if self.low.shape != self.high.shape or not bool((self.high > self.low).all()):
            raise ValueError(f"a box needs low < high in every dimension, got {low}, {high}")
        self.dim = self.low.numel()
        self.log_volume = float((self.high - self.low).log().sum())

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        u = torch.rand(n, self.dim, generator=generator, dtype=torch.float64)  # (n, d)
        return self.low + (self.high - self.low) * u

    def log_prob(self, x: Tensor) -> Tensor:
        low, high = self.low.to(x), self.high.to(x)
        inside = ((x >= low) & (x <= high)).all(dim=1)  # (n,)
        return torch.where(inside, torch.full_like(x[:, 0], -self.log_volume), torch.full_like(x[:, 0], -math.inf))

    @property
    def breaks(self) -> list[list[float]]:
        """Per dimension, where the density jumps (panel edges for exact quadrature)."""
        return [[float(a), float(b)] for a, b in zip(self.low, self.high, strict=True)]


def _normal_cdf(t: Tensor) -> Tensor:
    return 0.5 * torch.erfc(-t / math.sqrt(2.0))


class TruncatedMixture:
    """A 1-D Gaussian mixture restricted to ``[low, high]`` and renormalised (the mass inside by erf, exactly)."""

    def __init__(self, mixture: GaussianMixture, low: float, high: float) -> None:
        if mixture.dim != 1 or not high > low:
            raise ValueError(f"a truncated mixture is 1-D with low < high, got d={mixture.dim}, [{low}, {high}]")
        self.mixture, self.low, self.high, self.dim = mixture, float(low), float(high), 1
        mu, s = mixture.means[:, 0], mixture.stds
        inside = _normal_cdf((high - mu) / s) - _normal_cdf((low - mu) / s)  # (K,)
        self.log_mass = float((mixture.weights * inside).sum().log())

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, 1)`` float64 draws by rejection from the full mixture."""
        kept: list[Tensor] = []
        total = 0
        while total < n:
            x = self.mixture.sample(2 * (n - total) + 16, generator).double()
            x = x[(x[:, 0] >= self.low) & (x[:, 0] <= self.high)]
            kept.append(x)
            total += len(x)
        return torch.cat(kept)[:n]

    def log_prob(self, x: Tensor) -> Tensor:
        inside = (x[:, 0] >= self.low) & (x[:, 0] <= self.high)
        lp = self.mixture.log_prob(x) - self.log_mass
        return torch.where(inside, lp, torch.full_like(lp, -math.inf))

    @property
    def breaks(self) -> list[list[float]]:
        return [[self.low, self.high]]


class FlowDensity:
    """p_g of an invertible generator, frozen: a float64 copy of the flow with gradients off.

    Args:
        flow: a :class:`~origan.models.flows.Flow`; it is copied, so later training does not change this density.
        prior: p_z (defaults to the prior bound to the flow).
    """

    def __init__(self, flow: nn.Module, prior: Prior | None = None) -> None:
        if not isinstance(flow, Flow):  # a GAN's G is any module; only a flow has a density
            raise TypeError(f"FlowDensity needs an invertible generator (a Flow), got {type(flow).__name__}")
        self.flow = copy.deepcopy(flow).double().cpu().eval().requires_grad_(False)
        if prior is not None:
            self.flow.bind_prior(prior)
        if self.flow.prior is None:
            raise ValueError("FlowDensity needs a prior: pass prior= or bind one to the flow")
        self.prior = self.flow.prior
        self.dim = self.flow.dim

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, d)`` float64 draws G(z), z ~ p_z."""
        z = self.prior.sample(n, generator=generator).double()  # (n, d)
        return self.flow(z).reshape(n, self.dim)

    def log_prob(self, x: Tensor) -> Tensor:
        """``(n,)`` log p_g(x), computed in float64; differentiable in ``x`` (not in the frozen weights)."""
        return self.flow.log_prob(x.double()).to(x.dtype)
