"""The losses of the game, as pure functions of the discriminator's logits.

D outputs a logit ``l``; ``D(x) = sigmoid(l)``. Every log-probability is written with softplus so it is
finite for every finite logit: ``log D = -softplus(-l)`` and ``log(1 - D) = -softplus(l)``.
Nothing here calls ``backward``; the trainer owns the updates.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn.functional import softplus

from .registry import Registry

__all__ = [
    "GENERATOR_LOSSES",
    "LOG4",
    "d_loss",
    "d_loss_halved",
    "g_loss",
    "g_loss_minimax",
    "g_loss_ml",
    "g_loss_nonsaturating",
    "value",
]

LOG4 = math.log(4.0)  # -V at D = 1/2 everywhere; -C(G) at the global optimum p_g = p_data (Theorem 1)

GeneratorLoss = Callable[[Tensor], Tensor]  # logits_fake (m,) -> scalar cost G minimises
GENERATOR_LOSSES: Registry[GeneratorLoss] = Registry("generator loss")


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


@GENERATOR_LOSSES.register("minimax")
def g_loss_minimax(logits_fake: Tensor) -> Tensor:
    """The saturating minimax cost G minimises: mean log(1 - D(G(z))). d/dl = -sigmoid(l)."""
    return -softplus(logits_fake).mean()  # mean log(1 - sigmoid(l))


@GENERATOR_LOSSES.register("nonsaturating")
def g_loss_nonsaturating(logits_fake: Tensor) -> Tensor:
    """The non-saturating cost (Section 3): -mean log D(G(z)). d/dl = -(1 - sigmoid(l))."""
    return softplus(-logits_fake).mean()  # -mean log sigmoid(l)


@GENERATOR_LOSSES.register("ml")
def g_loss_ml(logits_fake: Tensor) -> Tensor:
    """The maximum-likelihood cost (NIPS 2016 tutorial): -mean exp(sigmoid^-1(D(G(z)))) / 2. d/dl = -exp(l)/2.

    With an optimal D its expected gradient is that of KL(p_data || p_g).
    """
    return -0.5 * torch.exp(logits_fake).mean()  # -mean exp(l) / 2


def g_loss(name: str) -> GeneratorLoss:
    """The generator cost registered under ``name``; an unknown name is a ConfigError naming loss.generator."""
    return GENERATOR_LOSSES.get(name, "loss.generator")
