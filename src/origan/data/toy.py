"""Toy targets with an exact density: the paper's 1-D Gaussian, a 1-D mixture, the ring and the grid.

Every target is a mixture of isotropic Gaussians, so one class gives ``sample`` and an exact
``log_prob`` (log-sum-exp over components) in any dimension and any float dtype.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

__all__ = ["GaussianMixture", "TOY_TARGETS", "build_target", "gauss1d", "grid25", "mixture1d", "ring8"]


class GaussianMixture:
    """p(x) = sum_k w_k N(x; mu_k, s_k^2 I).

    Args:
        means: ``(K, d)`` component means.
        stds: ``(K,)`` component standard deviations.
        weights: ``(K,)`` mixture weights (normalised here); uniform when omitted.
    """

    def __init__(self, means: Sequence[Sequence[float]], stds: Sequence[float], weights: Sequence[float] | None = None) -> None:
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


def gauss1d(mean: float = 4.0, std: float = 0.5) -> GaussianMixture:
    """The 1-D Gaussian of the paper's Figure 1 illustration."""
    return GaussianMixture([[mean]], [std])


def mixture1d(separation: float = 4.0, std: float = 0.5) -> GaussianMixture:
    """Two equal 1-D Gaussians at +-separation/2."""
    return GaussianMixture([[-separation / 2], [separation / 2]], [std, std])


def ring8(radius: float = 1.0, std: float = 0.01, modes: int = 8) -> GaussianMixture:
    """``modes`` Gaussians evenly on a circle (the mode-collapse benchmark of VEEGAN / Unrolled GAN)."""
    angles = [2 * math.pi * i / modes for i in range(modes)]
    return GaussianMixture([[radius * math.cos(a), radius * math.sin(a)] for a in angles], [std] * modes)


def grid25(spacing: float = 2.0, std: float = 0.05, side: int = 5) -> GaussianMixture:
    """A side x side grid of Gaussians; the default 5 x 5 grid has means {-4, -2, 0, 2, 4}^2 (PacGAN)."""
    offset = spacing * (side - 1) / 2
    coords = [spacing * i - offset for i in range(side)]
    return GaussianMixture([[a, b] for a in coords for b in coords], [std] * (side * side))


TOY_TARGETS = {"gauss1d": gauss1d, "mixture1d": mixture1d, "ring8": ring8, "grid25": grid25}


def build_target(name: str, **options: float) -> GaussianMixture:
    """The toy target registered under ``name`` with keyword ``options`` (e.g. ``radius``, ``std``)."""
    return TOY_TARGETS[name](**options)


def toy_dataset(name: str, cfg: Any) -> Any:
    """Sample fixed train / val / test sets of ``cfg.n_*`` points from the target, seeded by ``cfg.split_seed``."""
    import inspect

    from ..errors import ConfigError
    from . import Dataset

    builder = TOY_TARGETS[name]
    allowed = set(inspect.signature(builder).parameters)
    for key in cfg.params:
        if key not in allowed:
            raise ConfigError(f"data.params.{key}: unknown option for {name}; expected one of {', '.join(sorted(allowed))}")
    target = builder(**cfg.params)
    if (target.stds <= 0).any():
        raise ConfigError(f"data.params.std: expected a positive standard deviation, got {cfg.params.get('std')}")
    gen = torch.Generator().manual_seed(cfg.split_seed)
    train, val, test = (target.sample(n, gen) for n in (cfg.n_train, cfg.n_val, cfg.n_test))
    info = {"source": f"sampled from the exact {name} target", "params": dict(cfg.params),
            "sizes": [cfg.n_train, cfg.n_val, cfg.n_test], "split_seed": cfg.split_seed}
    return Dataset(name, train, val, test, (target.dim,), "vector", False, target=target, info=info)
