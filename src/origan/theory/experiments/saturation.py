"""``saturation`` (Section 3): when D rejects G's samples confidently, log(1 - D(G(z))) gives G little gradient.

Setup: p_data = N(4, 0.5^2), G an affine flow starting at N(0, 1) (far from the data), D an MLP trained
to near-optimality against that G. Measured:

- at initialisation, the norm of G's parameter gradient under the minimax, non-saturating and
  maximum-likelihood costs, with the trained D and with the exact D*, and their ratios;
- from the same start, Algorithm 1 (one Adam D step, one plain-SGD G step; SGD so that gradient size
  matters as in the paper) with each cost: the G steps until the exact JSD drops below 0.05.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import torch

from ...data.toy import gauss1d
from ...gan import GAN
from ...losses import GENERATOR_LOSSES
from ...models.flows import AffineFlow
from ...models.mlp import MLPDiscriminator
from ...priors import NormalPrior
from ..densities import FlowDensity
from ..divergences import summary
from ..figures import plot_saturation
from ..lab import ExperimentResult, register_experiment
from ..quadrature import Domain
from .games import SnapshotDStar, alternating_step, seeded, train_discriminator

__all__ = ["saturation"]

JSD_GOAL = 0.05
GRADIENT_RATIO = 10.0  # "much stronger gradients early": non-saturating / minimax at initialisation
STEPS_RATIO = 5.0  # the minimax cost needs at least this many times the non-saturating cost's steps


def _gradient_norms(flow: AffineFlow, discriminator: torch.nn.Module, z: torch.Tensor) -> dict[str, float]:
    """||d cost / d theta_G|| for every registered generator cost, on the noise batch ``z``."""
    norms = {}
    params = list(flow.parameters())
    for name, cost in GENERATOR_LOSSES.items():
        grads = torch.autograd.grad(cost(discriminator(flow(z))), params)
        norms[name] = math.sqrt(sum(float((g**2).sum()) for g in grads))
    return norms


def _race(
    flow: AffineFlow, discriminator: torch.nn.Module, prior: NormalPrior, loss: str, cap: int, lr: float, seed: int
) -> tuple[int | None, list[tuple[int, float]], str]:
    """G steps until JSD < 0.05 (None if not within ``cap``), the JSD curve, and how it ended."""
    p_data = gauss1d()
    gan = GAN(copy.deepcopy(flow), copy.deepcopy(discriminator), prior, loss)
    opt_d = torch.optim.Adam(gan.D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.SGD(gan.G.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    domain = Domain.box([(-8.0, 12.0)], 40)
    curve: list[tuple[int, float]] = []
    for step in range(cap + 1):
        if step % 10 == 0:
            jsd = summary(p_data.log_prob, FlowDensity(gan.G, prior).log_prob, domain, order=8)["jsd"].value
            curve.append((step, jsd))
            if not math.isfinite(jsd):
                return None, curve, f"diverged (non-finite p_g) by step {step}"
            if jsd < JSD_GOAL:
                return step, curve, "reached"
        if step == cap:
            break
        alternating_step(gan, p_data, opt_d, opt_g, gen)
    return None, curve, f"not reached in {cap} steps"


@register_experiment(
    "saturation", "Section 3: the minimax G cost saturates when D is confident; the non-saturating one does not"
)
def saturation(out: Path | None = None, *, seed: int = 0, quick: bool = False) -> ExperimentResult:
    """Gradient norms at initialisation and steps to JSD < 0.05 for the three generator costs.

    Args:
        out: folder for the cost-curve figure (none drawn when ``None``).
        seed: seed of D's initialisation and every draw.
        quick: the test suite's budget: at most 400 G steps per cost instead of 1500 (same tolerances).
    """
    cap, lr = (400 if quick else 1500), 0.05
    result = ExperimentResult(
        "saturation",
        "Section 3: the minimax G cost saturates when D is confident; the non-saturating one does not",
        settings={
            "seed": seed,
            "quick": quick,
            "p_data": "N(4, 0.5^2)",
            "G at init": "N(0, 1)",
            "D pre-training": "1000 Adam steps against the initial G",
            "G optimizer": f"SGD lr {lr}",
            "D optimizer": "Adam 1e-3, one step per G step",
            "step cap": cap,
        },
    )
    p_data, prior = gauss1d(), NormalPrior(1)
    with seeded(seed):
        flow, D = AffineFlow((1,)), MLPDiscriminator((1,), (64, 64), "leaky_relu")
    gen = torch.Generator().manual_seed(seed + 1)
    flow.requires_grad_(False)
    train_discriminator(GAN(flow, D, prior), p_data, 1000, 256, 2e-3, gen)
    flow.requires_grad_(True)
    z = prior.sample(4096, gen)
    d_star = SnapshotDStar(p_data.log_prob, flow)
    d_star.frozen.bind_prior(prior)
    with torch.no_grad():
        d_fake = torch.sigmoid(D(flow(z)))
    result.numbers["mean_d_fake_at_init"] = float(d_fake.mean())
    for name, disc in (("trained_d", D), ("d_star", d_star)):
        norms = _gradient_norms(flow, disc, z)
        ratios = {f"{k}/minimax": v / norms["minimax"] for k, v in norms.items() if k != "minimax"}
        result.numbers[f"gradient_norms_{name}"] = norms
        result.numbers[f"gradient_ratios_{name}"] = ratios
        result.claim(
            f"gradient_ratio_{name}",
            f"init, {name.replace('_', ' ')}: ||grad nonsaturating|| / ||grad minimax||",
            ratios["nonsaturating/minimax"],
            ">=",
            GRADIENT_RATIO,
        )
    curves, steps = {}, {}
    for loss in GENERATOR_LOSSES:
        hit, curve, how = _race(flow, D, prior, loss, cap, lr, seed + 2)
        curves[loss], steps[loss] = curve, hit
        result.numbers[f"steps_to_jsd_{loss}"] = {"steps": hit, "outcome": how}
    ns = steps["nonsaturating"]
    mm = steps["minimax"] if steps["minimax"] is not None else cap  # a lower bound when not reached
    result.claim(
        "nonsaturating_reaches",
        f"G steps for the non-saturating cost to reach JSD < {JSD_GOAL}",
        ns if ns is not None else math.inf,
        "<=",
        cap,
    )
    result.claim(
        "minimax_slower",
        "steps(minimax) / steps(non-saturating) to JSD < 0.05 (minimax: cap if not reached)",
        mm / ns if ns else math.nan,
        ">=",
        STEPS_RATIO,
    )
    if out is not None:
        result.figures.append(plot_saturation(d_fake, curves, Path(out) / "saturation.png").name)
    return result
