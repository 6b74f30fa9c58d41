"""The losses of the game, as pure functions of the discriminator's logits.

D outputs a logit ``l``; ``D(x) = sigmoid(l)``. Every log-probability is written with softplus so it is
finite for every finite logit: ``log D = -softplus(-l)`` and ``log(1 - D) = -softplus(l)``.
Nothing here calls ``backward``; the trainer owns the updates.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn.functional import softplus

__all__ = [
    "GENERATOR_LOSSES",
    "d_loss",
    "d_loss_halved",
    "g_loss",
    "g_loss_minimax",
    "g_loss_ml",
    "g_loss_nonsaturating",
    "value",
]


def value(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """Minibatch estimate of V(D, G) = E_x[log D(x)] + E_z[log(1 - D(G(z)))] (eq. 1).

    Args:
        logits_real: ``(m,)`` D's logits on data.
        logits_fake: ``(m,)`` D's logits on G(z).
    """
    return -softplus(-logits_real).mean() - softplus(logits_fake).mean()  # mean log D(x) + mean log(1 - D(G(z)))


def d_loss(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """What D minimises: -V, i.e. the binary cross-entropy of real = 1 and fake = 0, summed over the two halves."""
    return softplus(-logits_real).mean() + softplus(logits_fake).mean()  # -mean log D(x) - mean log(1 - D(G(z)))


def d_loss_halved(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """The authors' released code: ``0.5 * (BCE(1, D(x)) + BCE(0, D(G(z))))`` = -V / 2."""
    return 0.5 * d_loss(logits_real, logits_fake)


def g_loss_minimax(logits_fake: Tensor) -> Tensor:
    """The saturating minimax cost G minimises: mean log(1 - D(G(z))). d/dl = -sigmoid(l)."""
    return -softplus(logits_fake).mean()  # mean log(1 - sigmoid(l))


def g_loss_nonsaturating(logits_fake: Tensor) -> Tensor:
    """The non-saturating cost (Section 3): -mean log D(G(z)). d/dl = -(1 - sigmoid(l))."""
    return softplus(-logits_fake).mean()  # -mean log sigmoid(l)


def g_loss_ml(logits_fake: Tensor) -> Tensor:
    """The maximum-likelihood cost (NIPS 2016 tutorial): -mean exp(sigmoid^-1(D(G(z)))) / 2. d/dl = -exp(l)/2.

    With an optimal D its expected gradient is that of KL(p_data || p_g).
    """
    return -0.5 * torch.exp(logits_fake).mean()  # -mean exp(l) / 2


GENERATOR_LOSSES: dict[str, Callable[[Tensor], Tensor]] = {
    "minimax": g_loss_minimax,
    "nonsaturating": g_loss_nonsaturating,
    "ml": g_loss_ml,
}


def g_loss(name: str) -> Callable[[Tensor], Tensor]:
    """The generator cost registered under ``name`` (one of ``GENERATOR_LOSSES``)."""
    try:
        return GENERATOR_LOSSES[name]
    except KeyError:
        raise KeyError(f"unknown generator loss {name!r}; expected one of {sorted(GENERATOR_LOSSES)}") from None
