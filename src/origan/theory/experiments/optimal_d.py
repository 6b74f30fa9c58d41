"""``optimal-d`` (Proposition 1): a D trained on samples against a fixed G converges to D* = p_data / (p_data + p_g).

G is a flow with fixed random weights, so p_g is exact and non-Gaussian; D is the library's MLP
discriminator trained with the library's D objective on fresh draws. Then, by quadrature:
mean |D - D*| under m = (p_data + p_g) / 2, the value V(G, D) the trained D attains against the exact
C(G) = max_D V(G, D), and a Monte Carlo estimate of V(G, D) as a user would compute it.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch

from ...data.toy import GaussianMixture, mixture1d
from ...gan import GAN
from ...models.flows import MIN_BIN, MIN_DERIV, CouplingFlow, Flow, SplineFlow, _knots
from ...models.mlp import MLPDiscriminator
from ...priors import NormalPrior
from ..densities import FlowDensity
from ..divergences import summary, value_mc
from ..figures import plot_optimal_d_1d, plot_optimal_d_2d
from ..lab import ExperimentResult, register_experiment
from .games import d_star_gap, flow_domain, seeded, train_discriminator

__all__ = ["optimal_d"]

TOLERANCE = {1: 0.01, 2: 0.02}  # mean |D - D*| under m (the targets)
TOLERANCE_QUICK = {1: 0.03, 2: 0.04}  # the test suite's budget trains D ~4x less
VALUE_TOLERANCE, VALUE_TOLERANCE_QUICK = 0.005, 0.02  # |C(G) - V(G, D_trained)|


def _fixed_generator(dim: int, seed: int) -> Flow:
    """A flow with fixed random weights, p_g non-Gaussian and overlapping p_data: a spline in 1-D, coupling in 2-D.

    The spline's knot derivatives are set to the geometric mean of the neighbouring bin slopes, so p_g is
    smooth-looking rather than cusped at the knots.
    """
    gen = torch.Generator().manual_seed(seed)
    with seeded(seed):
        flow: SplineFlow | CouplingFlow = (
            SplineFlow((1,), bins=8, bound=4.0) if dim == 1 else CouplingFlow((2,), layers=4, hidden=(32, 32))
        )
    with torch.no_grad():
        if isinstance(flow, SplineFlow):
            for raw in (flow.raw_widths, flow.raw_heights):
                raw.copy_(0.5 * torch.randn(raw.shape, generator=gen))
            _smooth_knot_derivatives_(flow)
        else:
            for p in flow.parameters():
                p.add_(0.15 * torch.randn(p.shape, generator=gen))
    with torch.no_grad():
        flow.shift.copy_(torch.full((dim,), 0.5))
        flow.log_scale.fill_(math.log(1.3))
    return flow.requires_grad_(False)


@torch.no_grad()
def _smooth_knot_derivatives_(flow: SplineFlow) -> None:

    xk, yk = _knots(flow.raw_widths, flow.bound, MIN_BIN), _knots(flow.raw_heights, flow.bound, MIN_BIN)
    slopes = yk.diff(dim=-1) / xk.diff(dim=-1)  # (d, K)
    inner = (slopes[:, :-1] * slopes[:, 1:]).sqrt()  # (d, K-1)
    derivs = torch.cat([slopes[:, :1], inner, slopes[:, -1:]], dim=1)  # (d, K+1): the end knots take their bin's slope
    c = math.log(math.expm1(1 - MIN_DERIV))  # the offset rq_spline adds to raw derivatives
    flow.raw_derivs.copy_(torch.log(torch.expm1(derivs - MIN_DERIV)) - c)  # inverse of softplus(raw + c)


def target(dim: int) -> GaussianMixture:
    """p_data: the 1-D two-Gaussian mixture, or three 2-D Gaussians."""
    return mixture1d() if dim == 1 else GaussianMixture([[-1.5, 0.0], [1.5, 0.5], [0.0, 2.0]], [0.6, 0.6, 0.6])


def _run(dim: int, seed: int, quick: bool) -> tuple[dict[str, float], dict[str, object]]:
    p_data = target(dim)
    prior = NormalPrior(dim)
    flow = _fixed_generator(dim, seed)
    with seeded(seed + 1):
        D = MLPDiscriminator((dim,), (64, 64), "leaky_relu")
    gan = GAN(flow, D, prior, "minimax")
    gen = torch.Generator().manual_seed(seed + 2)
    steps, batch = (800, 256) if quick else (3000, 512)
    losses = train_discriminator(gan, p_data, steps, batch, lr=2e-3, generator=gen)
    p_g = FlowDensity(flow)
    domain = flow_domain(p_data, p_g, gen, panels=80 if dim == 1 else 40)
    order = 12 if dim == 1 else 8
    d64 = _double(D)
    exact = summary(p_data.log_prob, p_g.log_prob, domain, d64, order=order)
    gap, gap_err = d_star_gap(p_data.log_prob, p_g.log_prob, D, domain, order=order)
    mc = value_mc(p_data, p_g, d64, 1_000_000 if not quick else 200_000, gen)
    numbers = {
        "mean_abs_d_minus_d_star": gap,
        "mean_abs_d_minus_d_star_error": gap_err,
        "criterion": exact["criterion"].value,
        "criterion_error": exact["criterion"].error,
        "value_trained": exact["value"].value,
        "value_trained_error": exact["value"].error,
        "value_trained_mc": mc.value,
        "value_trained_mc_se": mc.error,
        "jsd": exact["jsd"].value,
        "mass_data_in_box": exact["mass_data"].value,
        "mass_g_in_box": exact["mass_g"].value,
        "d_steps": steps,
        "batch": batch,
        "d_loss_last": losses[-1],
    }
    return numbers, {"p_data": p_data, "p_g": p_g, "D": d64, "domain": domain}


def _double(module: torch.nn.Module) -> torch.nn.Module:

    return copy.deepcopy(module).double().eval().requires_grad_(False)


@register_experiment("optimal-d", "Proposition 1: a D trained on samples converges to D* = p_data / (p_data + p_g)")
def optimal_d(out: Path | None = None, *, seed: int = 0, quick: bool = False) -> ExperimentResult:
    """Train an MLP D against a fixed flow G in 1-D and 2-D; compare it with D* and C(G) exactly.

    Args:
        out: folder for the D-versus-D* figures (none drawn when ``None``).
        seed: seed of G's weights, D's initialisation and every draw.
        quick: the test suite's budget (800 D steps of 256 instead of 3000 of 512) and looser tolerances.
    """
    result = ExperimentResult(
        "optimal-d",
        "Proposition 1: a D trained on samples converges to D* = p_data / (p_data + p_g)",
        settings={
            "seed": seed,
            "quick": quick,
            "discriminator": "MLP 64-64 leaky ReLU",
            "optimizer": "Adam 2e-3, cosine decay to 1%",
            "fresh draws every step": True,
        },
    )
    tol = TOLERANCE_QUICK if quick else TOLERANCE
    vtol = VALUE_TOLERANCE_QUICK if quick else VALUE_TOLERANCE
    views = {}
    for dim in (1, 2):
        numbers, view = _run(dim, seed, quick)
        result.numbers[f"{dim}d"] = numbers
        views[dim] = view
        result.claim(
            f"d_matches_d_star_{dim}d",
            f"{dim}-D: mean |D - D*| under (p_data + p_g)/2",
            numbers["mean_abs_d_minus_d_star"],
            "<=",
            tol[dim],
        )
        result.claim(
            f"max_value_{dim}d",
            f"{dim}-D: |C(G) - V(G, D_trained)| (both exact, quadrature)",
            abs(numbers["criterion"] - numbers["value_trained"]),
            "<=",
            vtol,
        )
        result.claim(
            f"max_value_mc_{dim}d",
            f"{dim}-D: |C(G) - minibatch-style estimate of V(G, D_trained)| (Monte Carlo)",
            abs(numbers["criterion"] - numbers["value_trained_mc"]),
            "<=",
            vtol,
        )
        result.claim(
            f"d_below_d_star_{dim}d",
            f"{dim}-D: V(G, D_trained) - C(G) (D* is the maximiser)",
            numbers["value_trained"] - numbers["criterion"],
            "<=",
            numbers["value_trained_error"] + numbers["criterion_error"],
        )
    if out is not None:
        result.figures.append(plot_optimal_d_1d(views[1], Path(out) / "optimal_d_1d.png").name)
        result.figures.append(plot_optimal_d_2d(views[2], Path(out) / "optimal_d_2d.png").name)
    return result
