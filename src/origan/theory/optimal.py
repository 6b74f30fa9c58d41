"""Proposition 1: for a fixed G the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)).

:class:`OptimalDiscriminator` is that D as a discriminator module: like every D in origan it returns a
logit, here ``log p_data(x) - log p_g(x)``, so it drops into :class:`~origan.gan.GAN` and the losses.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

__all__ = ["LogDensity", "OptimalDiscriminator", "d_star_logit", "optimal_discriminator"]

LogDensity = Callable[[Tensor], Tensor]  # x (n, d) -> (n,) log density; -inf outside the support


def d_star_logit(log_p_data: Tensor, log_p_g: Tensor) -> Tensor:
    """``(n,)`` logit of D* = log p_data - log p_g from the two log densities at the same points.

    +inf where only p_data is positive, -inf where only p_g is, and 0 (D* = 1/2) where both vanish: such
    points carry no mass under either density, so any value there leaves V unchanged.
    """
    both_zero = torch.isneginf(log_p_data) & torch.isneginf(log_p_g)
    logit = torch.where(both_zero, torch.zeros_like(log_p_data), log_p_data)
    return logit - torch.where(both_zero, torch.zeros_like(log_p_g), log_p_g)


class OptimalDiscriminator(nn.Module):
    """D* for fixed densities: ``forward(x) -> logits (n,)``, ``prob(x) -> D*(x) (n,)``.

    Args:
        log_p_data: the data's exact log density, ``(n, d) -> (n,)``.
        log_p_g: the generator's exact log density (e.g. a flow's ``log_prob``), ``(n, d) -> (n,)``.
    """

    def __init__(self, log_p_data: LogDensity, log_p_g: LogDensity) -> None:
        super().__init__()
        self.log_p_data = log_p_data
        self.log_p_g = log_p_g

    def forward(self, x: Tensor) -> Tensor:
        flat = x.reshape(x.shape[0], -1)  # (n, d)
        return d_star_logit(self.log_p_data(flat), self.log_p_g(flat))  # (n,)

    def prob(self, x: Tensor) -> Tensor:
        """``(n,)`` D*(x) in [0, 1]."""
        return torch.sigmoid(self(x))


def optimal_discriminator(log_p_data: LogDensity, log_p_g: LogDensity) -> OptimalDiscriminator:
    """D*_G = p_data / (p_data + p_g) (Proposition 1) as a discriminator module returning logits.

    Example::

        d_star = optimal_discriminator(target.log_prob, gan.G.log_prob)
        d_star.prob(x)          # (n,) D*(x)
    """
    return OptimalDiscriminator(log_p_data, log_p_g)
