"""The distribution of every toy target: a mixture of isotropic Gaussians with an exact density.

A module of its own (not in :mod:`origan.data.toy`, which registers the targets as datasets) so that a
:class:`~origan.data.Dataset` can name the type of its ``target`` without an import circle.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["GaussianMixture"]


class GaussianMixture:
    """p(x) = sum_k w_k N(x; mu_k, s_k^2 I).

    Args:
        means: ``(K, d)`` component means.
        stds: ``(K,)`` component standard deviations.
        weights: ``(K,)`` mixture weights (normalised here); uniform when omitted.
    """

    def __init__(
        self, means: Sequence[Sequence[float]], stds: Sequence[float], weights: Sequence[float] | None = None
    ) -> None:
        self.means = torch.tensor(means, dtype=torch.float64)  # (K, d)
        self.stds = torch.tensor(stds, dtype=torch.float64)  # (K,)
        k = self.means.shape[0]
        w = torch.ones(k, dtype=torch.float64) if weights is None else torch.tensor(weights, dtype=torch.float64)
        self.weights = w / w.sum()
        if self.stds.shape != (k,) or self.weights.shape != (k,):
            raise ValueError("means (K, d), stds (K,) and weights (K,) must agree on K")
        self.dim = int(self.means.shape[1])

    @property
    def modes(self) -> Tensor:
        """``(K, d)`` the component means (the modes counted by mode-coverage metrics)."""
        return self.means

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, d)`` float32 samples, drawn on the CPU with ``generator``."""
        idx = torch.multinomial(self.weights, n, replacement=True, generator=generator)  # (n,)
        eps = torch.randn(n, self.dim, generator=generator, dtype=torch.float64)  # (n, d)
        x = self.means[idx] + self.stds[idx, None] * eps
        return x.float()

    def log_prob(self, x: Tensor) -> Tensor:
        """``(n,)`` exact log p(x) for ``x`` of shape ``(n, d)``, in ``x``'s dtype and device."""
        means = self.means.to(x.device, x.dtype)
        stds = self.stds.to(x.device, x.dtype)
        logw = self.weights.to(x.device, x.dtype).log()
        sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)  # (n, K)
        comp = -0.5 * sq / stds**2 - self.dim * (stds.log() + 0.5 * math.log(2 * math.pi))  # (n, K)
        return torch.logsumexp(comp + logw, dim=1)

    def bounds(self, tail_sds: float = 10.0) -> list[tuple[float, float]]:
        """Per-dimension interval holding all but a negligible tail mass (``tail_sds`` stds past every mean)."""
        lo = (self.means - tail_sds * self.stds[:, None]).min(0).values
        hi = (self.means + tail_sds * self.stds[:, None]).max(0).values
        return [(float(a), float(b)) for a, b in zip(lo, hi, strict=True)]
