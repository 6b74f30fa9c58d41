"""Noise priors p_z: sample with an explicit generator, and an exact log-density for flows."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
from torch import Tensor

from .registry import Registry

__all__ = ["PRIORS", "NormalPrior", "Prior", "UniformPrior", "build_prior"]


class Prior(Protocol):
    dim: int

    def sample(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        """``(n, dim)`` noise vectors."""
        ...

    def log_prob(self, z: Tensor) -> Tensor:
        """``(n,)`` log p_z(z) for ``z`` of shape ``(n, dim)``."""
        ...


PRIORS: Registry[Callable[[int], Prior]] = Registry("prior")  # name -> class taking the dimension


@PRIORS.register("uniform")
class UniformPrior:
    """U(-a, a)^dim with ``a = sqrt(3)`` by default: zero mean, unit variance (the paper's MNIST noise)."""

    def __init__(self, dim: int, half_width: float = math.sqrt(3.0)) -> None:
        self.dim = dim
        self.half_width = half_width

    def sample(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        u = torch.rand(n, self.dim, generator=generator, device=device)  # (n, dim) in [0, 1)
        return (2.0 * u - 1.0) * self.half_width

    def log_prob(self, z: Tensor) -> Tensor:
        inside = (z.abs() <= self.half_width).all(dim=1)
        lp = torch.full(inside.shape, -self.dim * math.log(2.0 * self.half_width), dtype=z.dtype, device=z.device)
        return torch.where(inside, lp, torch.full_like(lp, -math.inf))


@PRIORS.register("normal")
class NormalPrior:
    """N(0, I_dim)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def sample(
        self, n: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> Tensor:
        return torch.randn(n, self.dim, generator=generator, device=device)

    def log_prob(self, z: Tensor) -> Tensor:
        return -0.5 * (z * z).sum(dim=1) - 0.5 * self.dim * math.log(2.0 * math.pi)


def build_prior(name: str, dim: int) -> Prior:
    """The prior registered under ``name`` (``uniform`` or ``normal``) in ``dim`` dimensions."""
    return PRIORS.get(name, "noise.prior")(dim)
