"""V(G, D), C(G), JSD and KL between densities: by quadrature (1-D, 2-D) and by Monte Carlo (any d).

With m = (p_data + p_g) / 2, Theorem 1 reads

    C(G) = max_D V(G, D) = V(G, D*) = -log 4 + KL(p_data || m) + KL(p_g || m) = -log 4 + 2 JSD(p_data || p_g).

Every integrand here is written in log space with the convention 0 * log 0 = 0, so densities with
disjoint or bounded supports (log p = -inf) give exact, finite answers instead of NaN. Quadrature runs in
float64 on a :class:`~origan.theory.quadrature.Domain` and returns an :class:`Estimate` whose error is
``|Q_2n - Q_n|`` plus, for JSD and C(G), the bound ``log 2 * tail_mass`` (resp. ``2 log 2 * tail_mass``)
on what the box leaves out. Monte Carlo returns the standard error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid

from .optimal import LogDensity, d_star_logit
from .quadrature import Domain, Estimate, integrate

__all__ = ["Distribution", "criterion", "criterion_mc", "jsd", "jsd_mc", "kl", "kl_mc", "summary", "value", "value_mc"]

LOG2 = math.log(2.0)
Discriminator = Callable[[Tensor], Tensor]  # x (n, d) -> logits (n,)


class Distribution(Protocol):
    """A density we can sample and evaluate exactly (toy targets, flows): the Monte Carlo estimators need both."""

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor: ...
    def log_prob(self, x: Tensor) -> Tensor: ...


def _weighted(log_w: Tensor, f: Tensor) -> Tensor:
    """``exp(log_w) * f`` with 0 where the weight is 0 (0 * log 0 = 0, 0 * inf = 0)."""
    return torch.where(torch.isneginf(log_w), torch.zeros_like(f), log_w.exp() * f)


def _log_mid(lp: Tensor, lq: Tensor) -> Tensor:
    """log m = log((p + q) / 2)."""
    return torch.logaddexp(lp, lq) - LOG2


def _terms(lp: Tensor, lq: Tensor, logits: Tensor | None = None) -> dict[str, Tensor]:
    """Pointwise integrands of every quantity, from log p_data, log p_g (and D's logits) at the same points."""
    lm = _log_mid(lp, lq)
    # log D = logsigmoid(logit), log(1 - D) = logsigmoid(-logit): exact for every logit, +-inf included
    d_star_logits = d_star_logit(lp, lq)
    out = {
        "mass_data": _weighted(lp, torch.ones_like(lp)),
        "mass_g": _weighted(lq, torch.ones_like(lq)),
        "jsd": 0.5 * (_weighted(lp, lp - lm) + _weighted(lq, lq - lm)),  # (KL(p||m) + KL(q||m)) / 2
        "criterion": _weighted(lp, logsigmoid(d_star_logits)) + _weighted(lq, logsigmoid(-d_star_logits)),  # V(G, D*)
        "kl_data_g": _weighted(lp, lp - lq),  # KL(p_data || p_g)
        "kl_g_data": _weighted(lq, lq - lp),  # KL(p_g || p_data)
    }
    if logits is not None:
        out["value"] = _weighted(lp, logsigmoid(logits)) + _weighted(lq, logsigmoid(-logits))  # p log D + q log(1-D)
    return out


def summary(
    log_p_data: LogDensity,
    log_p_g: LogDensity,
    domain: Domain,
    discriminator: Discriminator | None = None,
    order: int = 12,
) -> dict[str, Estimate]:
    """Every exact quantity in one pass of quadrature (each density evaluated once per node).

    Args:
        log_p_data, log_p_g: ``(n, d) float64 -> (n,)`` log densities.
        domain: the box and its panels; ``domain.tail_mass`` is the stated mass each density may leave outside.
        discriminator: optionally a D (``x -> logits``) for ``value`` = V(G, D).
        order: Gauss-Legendre points per panel of the coarse rule.

    Returns:
        ``mass_data``, ``mass_g`` (integrals of the densities over the box), ``jsd``, ``criterion`` (C(G)),
        ``kl_data_g``, ``kl_g_data`` and, with a D, ``value``; each an :class:`Estimate`.
    """
    names: list[str] = []

    def integrand(x: Tensor) -> Tensor:
        logits = discriminator(x) if discriminator is not None else None
        terms = _terms(log_p_data(x), log_p_g(x), logits)
        names[:] = list(terms)
        return torch.stack(list(terms.values()), dim=1)  # (n, m)

    values, errors = integrate(integrand, domain, order)
    tail = {"jsd": LOG2 * domain.tail_mass, "criterion": 2 * LOG2 * domain.tail_mass}
    return {
        name: Estimate(float(v), float(e) + tail.get(name, 0.0), "quadrature")
        for name, v, e in zip(names, values, errors, strict=True)
    }


def jsd(log_p_data: LogDensity, log_p_g: LogDensity, domain: Domain, order: int = 12) -> Estimate:
    """JSD(p_data || p_g) = (KL(p_data || m) + KL(p_g || m)) / 2 in nats, in [0, log 2], by quadrature."""
    return summary(log_p_data, log_p_g, domain, order=order)["jsd"]


def kl(log_p: LogDensity, log_q: LogDensity, domain: Domain, order: int = 12) -> Estimate:
    """KL(p || q) = E_p[log p - log q] by quadrature (+inf where q = 0 on p's support)."""
    return summary(log_p, log_q, domain, order=order)["kl_data_g"]


def value(
    log_p_data: LogDensity, log_p_g: LogDensity, discriminator: Discriminator, domain: Domain, order: int = 12
) -> Estimate:
    """V(G, D) = E_{p_data}[log D] + E_{p_g}[log(1 - D)] for a D given as ``x (n, d) -> logits (n,)``.

    The error is the quadrature's only: for an arbitrary D the part outside the box has no bound.
    """
    return summary(log_p_data, log_p_g, domain, discriminator, order)["value"]


def criterion(log_p_data: LogDensity, log_p_g: LogDensity, domain: Domain, order: int = 12) -> Estimate:
    """C(G) = max_D V(G, D) = V(G, D*), evaluated with D* = p_data / (p_data + p_g) (Theorem 1)."""
    return summary(log_p_data, log_p_g, domain, order=order)["criterion"]


# ---------------------------------------------------------------------------------------------------------
# Monte Carlo, any dimension


def _mean_se(samples: Tensor) -> tuple[float, float]:
    n = samples.numel()
    return float(samples.mean()), float(samples.std(unbiased=True) / math.sqrt(n)) if n > 1 else math.inf


def _draw(dist: Distribution, n: int, generator: torch.Generator | None) -> Tensor:
    x = dist.sample(n, generator)
    return x.reshape(n, -1).double()  # (n, d)


@torch.no_grad()
def value_mc(
    p_data: Distribution,
    p_g: Distribution,
    discriminator: Discriminator,
    n: int,
    generator: torch.Generator | None = None,
) -> Estimate:
    """V(G, D) from ``n`` draws of each distribution: mean log D(x) + mean log(1 - D(G(z))), with its standard error."""
    x_real, x_fake = _draw(p_data, n, generator), _draw(p_g, n, generator)
    a, se_a = _mean_se(logsigmoid(discriminator(x_real)))
    b, se_b = _mean_se(logsigmoid(-discriminator(x_fake)))
    return Estimate(a + b, math.hypot(se_a, se_b), "monte-carlo")


def criterion_mc(p_data: Distribution, p_g: Distribution, n: int, generator: torch.Generator | None = None) -> Estimate:
    """C(G) = V(G, D*) by Monte Carlo, D* from the exact log densities."""
    return value_mc(p_data, p_g, lambda x: d_star_logit(p_data.log_prob(x), p_g.log_prob(x)), n, generator)


@torch.no_grad()
def jsd_mc(p_data: Distribution, p_g: Distribution, n: int, generator: torch.Generator | None = None) -> Estimate:
    """JSD = (E_{p_data}[log p_data / m] + E_{p_g}[log p_g / m]) / 2 from ``n`` draws of each, with its
    standard error."""
    x_real, x_fake = _draw(p_data, n, generator), _draw(p_g, n, generator)
    lp_r, lq_r = p_data.log_prob(x_real), p_g.log_prob(x_real)
    lp_f, lq_f = p_data.log_prob(x_fake), p_g.log_prob(x_fake)
    a, se_a = _mean_se(lp_r - _log_mid(lp_r, lq_r))
    b, se_b = _mean_se(lq_f - _log_mid(lp_f, lq_f))
    return Estimate(0.5 * (a + b), 0.5 * math.hypot(se_a, se_b), "monte-carlo")


@torch.no_grad()
def kl_mc(p: Distribution, q: Distribution, n: int, generator: torch.Generator | None = None) -> Estimate:
    """KL(p || q) = E_p[log p - log q] from ``n`` draws of p, with its standard error."""
    x = _draw(p, n, generator)
    mean, se = _mean_se(p.log_prob(x) - q.log_prob(x))
    return Estimate(mean, se, "monte-carlo")
