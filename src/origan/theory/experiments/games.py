"""The small games the lab plays: train D against a fixed G, train G against the exact D*, and measure them.

These loops reuse :class:`~origan.gan.GAN`'s objectives (so the losses are the library's own); what is
specific to the lab is that p_g is exact (a flow) and p_data is exact (a toy target), so D* and every
divergence can be evaluated without sampling error.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor, nn

from ...gan import GAN
from ...models.flows import Flow, SplineFlow
from ..densities import FlowDensity
from ..divergences import Distribution
from ..optimal import LogDensity, d_star_logit
from ..quadrature import Domain, integrate

__all__ = [
    "cosine_schedule",
    "d_star_gap",
    "flow_domain",
    "hdr_threshold",
    "max_d_star_deviation",
    "seeded",
    "train_against_d_star",
    "train_discriminator",
]


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch's global RNG for what cannot take a generator (module initialisation), restoring it after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def cosine_schedule(opt: torch.optim.Optimizer, steps: int, floor: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """Learning rate from its initial value down to ``floor`` times it along a half cosine over ``steps``."""

    def factor(s: int) -> float:
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps))

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def train_discriminator(
    gan: GAN, p_data: Distribution, steps: int, batch: int, lr: float, generator: torch.Generator
) -> list[float]:
    """Train ``gan.D`` against the fixed ``gan.G`` on fresh draws of p_data and p_z (Adam, cosine decay to 1%).

    Returns the D loss (-V on the minibatch) every 50 steps.
    """
    opt = torch.optim.Adam(gan.D.parameters(), lr=lr, betas=(0.9, 0.999))
    sched = cosine_schedule(opt, steps, floor=0.01)
    losses = []
    for step in range(steps):
        x_real = p_data.sample(batch, generator).float()  # (m, d)
        z = gan.noise(batch, generator)  # (m, noise_dim)
        out = gan.d_objective(x_real, z)
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            losses.append(float(out.loss.detach()))
    return losses


class SnapshotDStar(nn.Module):
    """D* of the current G, held fixed during a G step: log p_data - log p_g with a frozen copy of G.

    The G step must not differentiate through D*'s own dependence on G (D is fixed while G moves, as in
    Algorithm 1), so p_g is evaluated with a snapshot of G's weights that is refreshed before each step.
    """

    def __init__(self, log_p_data: LogDensity, flow: Flow) -> None:
        super().__init__()
        self.frozen = copy.deepcopy(flow).requires_grad_(False)
        self.log_p_data = log_p_data

    def refresh(self, flow: nn.Module) -> None:
        self.frozen.load_state_dict(flow.state_dict())

    def forward(self, x: Tensor) -> Tensor:
        flat = x.reshape(x.shape[0], -1)
        return d_star_logit(self.log_p_data(flat), self.frozen.log_prob(flat))  # (n,) logits


def alternating_step(
    gan: GAN,
    p_data: Distribution,
    opt_d: torch.optim.Optimizer,
    opt_g: torch.optim.Optimizer,
    generator: torch.Generator,
    k: int = 1,
    batch: int = 256,
) -> None:
    """One iteration of Algorithm 1 on fresh draws from ``p_data``: k D steps, then one G step."""
    for _ in range(k):
        out = gan.d_objective(p_data.sample(batch, generator), gan.noise(batch, generator))
        opt_d.zero_grad(set_to_none=True)
        out.loss.backward()
        opt_d.step()
    out = gan.g_objective(gan.noise(batch, generator))
    opt_g.zero_grad(set_to_none=True)
    out.loss.backward()
    opt_g.step()


def train_against_d_star(
    flow: Flow,
    prior: Any,
    p_data: Distribution,
    *,
    steps: int,
    batch: int,
    lr: float,
    loss: str,
    generator: torch.Generator,
    every: int = 0,
    on_eval: Callable[[int, nn.Module], None] | None = None,
    optimizer: str = "adam",
) -> GAN:
    """The idealised inner loop of Proposition 2: before every G step, D is set to D*_G exactly.

    Args:
        flow: the generator (trained in place).
        prior: p_z.
        p_data: the target; its exact ``log_prob`` gives D*.
        steps, batch, lr: G steps, noise batch size, initial learning rate (cosine decay to 0).
        loss: the generator cost (``minimax``, ``nonsaturating``, ``ml``).
        every, on_eval: call ``on_eval(step, flow)`` every ``every`` steps and at the end.
        optimizer: ``adam`` or ``sgd`` (plain SGD keeps gradient magnitudes meaningful).

    Returns:
        The GAN whose D is the snapshot D*.
    """
    d_star = SnapshotDStar(p_data.log_prob, flow)
    gan = GAN(flow, d_star, prior, loss)
    d_star.frozen.bind_prior(prior)
    params = list(flow.parameters())
    opt = torch.optim.Adam(params, lr=lr) if optimizer == "adam" else torch.optim.SGD(params, lr=lr)
    sched = cosine_schedule(opt, steps)
    for step in range(steps):
        if on_eval is not None and every and step % every == 0:
            on_eval(step, flow)
        d_star.refresh(flow)  # D <- D*_G for the current G (gan.D)
        out = gan.g_objective(gan.noise(batch, generator))
        opt.zero_grad(set_to_none=True)
        out.loss.backward()
        opt.step()
        sched.step()
    if on_eval is not None:
        on_eval(steps, flow)
    return gan


def flow_domain(
    p_data: Any,
    p_g: FlowDensity,
    generator: torch.Generator,
    panels: int,
    pad: float = 0.25,
    n: int = 200_000,
    tail_mass: float = 1e-12,
) -> Domain:
    """A box for quadrature: for a mixture p_data, the box leaving out at most ``tail_mass`` of it; for a flow
    p_data, and always for p_g, the range of ``n`` draws widened by ``pad`` of its width on each side.

    What the flows put outside is not stated but measured: read ``mass_data`` and ``mass_g`` from the
    quadrature. Spline knots become panel edges.
    """
    bounds: list[tuple[float, float]] = []
    sampled = [p_g] if hasattr(p_data, "means") else [p_data, p_g]
    for dist in sampled:
        x = dist.sample(n, generator)  # (n, d)
        lo, hi = x.min(0).values, x.max(0).values
        bounds = _union(
            bounds, [(float(l - pad * (h - l)), float(h + pad * (h - l))) for l, h in zip(lo, hi, strict=True)]
        )
    if hasattr(p_data, "means"):
        bounds = _union(bounds, Domain.for_mixtures(p_data, tail_mass=tail_mass).bounds)
    breaks: list[list[float]] = [[] for _ in bounds]
    for dist in (p_data, p_g):
        flow = getattr(dist, "flow", None)
        if isinstance(flow, SplineFlow):  # the only flow with knots
            breaks = [b + k for b, k in zip(breaks, flow.knots().tolist(), strict=True)]
    return Domain.box(bounds, panels, breaks=breaks, tail_mass=tail_mass if hasattr(p_data, "means") else 0.0)


def _union(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if not a:
        return list(b)
    return [(min(x0, y0), max(x1, y1)) for (x0, x1), (y0, y1) in zip(a, b, strict=True)]


def d_star_gap(
    log_p_data: LogDensity, log_p_g: LogDensity, discriminator: nn.Module, domain: Domain, order: int = 8
) -> tuple[float, float]:
    """Mean |D - D*| under m = (p_data + p_g) / 2, by quadrature: ``(value, error estimate)``."""
    d64 = copy.deepcopy(discriminator).double().eval()

    def integrand(x: Tensor) -> Tensor:
        lp, lq = log_p_data(x), log_p_g(x)
        d_star = torch.sigmoid(d_star_logit(lp, lq))
        d = torch.sigmoid(d64(x))
        m = 0.5 * torch.logaddexp(lp, lq).exp()
        return (m * (d - d_star).abs())[:, None]

    value, error = integrate(integrand, domain, order)
    return float(value[0]), float(error[0])


@torch.no_grad()
def hdr_threshold(p_data: Distribution, mass: float, generator: torch.Generator, n: int = 400_000) -> float:
    """log-density level c whose region {log p_data >= c} holds ``mass`` of p_data (its highest-density region).

    Estimated as the (1 - mass) quantile of log p_data at ``n`` draws; this region is the lab's "support of
    the data" for densities such as Gaussians whose support is all of R^d.
    """
    lp = p_data.log_prob(p_data.sample(n, generator).double())
    return float(torch.quantile(lp, 1 - mass))


@torch.no_grad()
def max_d_star_deviation(
    log_p_data: LogDensity, log_p_g: LogDensity, domain: Domain, level: float, points: int = 2001
) -> float:
    """max |D*(x) - 1/2| over a grid of the box restricted to {log p_data(x) >= level}."""
    axes = [torch.linspace(lo, hi, points if domain.dim == 1 else 401, dtype=torch.float64) for lo, hi in domain.bounds]
    grid = torch.stack([g.reshape(-1) for g in torch.meshgrid(*axes, indexing="ij")], dim=1)  # (N, d)
    lp = log_p_data(grid)
    keep = lp >= level
    dev = (torch.sigmoid(d_star_logit(lp[keep], log_p_g(grid[keep]))) - 0.5).abs()
    return float(dev.max())
