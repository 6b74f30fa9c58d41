"""``figure1``: the paper's Figure 1, drawn from a real 1-D run, and an animated GIF of that run.

The run: p_data = N(4, 0.5^2); z ~ N(0, 1); G an affine flow (so p_g, the green line, is exact) starting
at N(2.5, 1); D the library's MLP; Algorithm 1 with k = 2 and the non-saturating cost. The panels:

(a) near convergence: the first snapshot of the run with JSD < 0.1 (p_g close to p_data, D partly accurate);
(b) D trained to convergence against that G: D ~ D* = p_data / (p_data + p_g);
(c) after G updates against that D: G(z) has moved toward the data (JSD falls);
(d) the end of the run: p_g ~ p_data and D ~ 1/2.

Below each panel, the mapping x = G(z) from the z-line to the x-line, as in the paper. The paper's z is
uniform; here the z-line shows u = Phi(z), which is uniform, and the arrows start at equally spaced u.
(With uniform noise an invertible G has a compact support and cannot match a Gaussian's tails.)
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch

from ...data.toy import gauss1d
from ...gan import GAN
from ...models.flows import AffineFlow
from ...models.mlp import MLPDiscriminator
from ...priors import NormalPrior
from ..densities import FlowDensity
from ..divergences import summary
from ..figures import plot_figure1, save_gif
from ..lab import ExperimentResult, register_experiment
from ..quadrature import Domain, integrate
from .games import alternating_step, cosine_schedule, d_star_gap, seeded, train_discriminator

__all__ = ["figure1"]


def _snapshot(gan: GAN) -> dict[str, Any]:
    return {"G": copy.deepcopy(gan.G.state_dict()), "D": copy.deepcopy(gan.D.state_dict())}


def _restore(gan: GAN, snap: dict[str, Any]) -> GAN:
    g = copy.deepcopy(gan)
    g.G.load_state_dict(snap["G"])
    g.D.load_state_dict(snap["D"])
    return g


def _domain(flow: torch.nn.Module) -> Domain:
    """A box holding all but 1e-12 of p_data and of p_g (G maps z = -+7.2 to the ends of p_g's box)."""
    ends = FlowDensity(flow).flow(torch.tensor([[-7.2], [7.2]], dtype=torch.float64))[:, 0].tolist()  # G(-+7.2 sd)
    lo, hi = min(ends[0], 4 - 7.2 * 0.5), max(ends[1], 4 + 7.2 * 0.5)
    return Domain.box([(lo, hi)], 60, tail_mass=1e-12)


def measure(gan: GAN) -> dict[str, float]:
    """Exact JSD and C(G), mean |D - D*| under m and mean |D - 1/2| under p_data, for the GAN's current G and D."""
    p_data, p_g = gauss1d(), FlowDensity(gan.G)
    domain = _domain(gan.G)
    exact = summary(p_data.log_prob, p_g.log_prob, domain)
    gap, _ = d_star_gap(p_data.log_prob, p_g.log_prob, gan.D, domain)
    half = _d_half_gap(gan.D, domain)
    return {
        "jsd": exact["jsd"].value,
        "criterion": exact["criterion"].value,
        "mean_abs_d_minus_d_star": gap,
        "mean_abs_d_minus_half": half,
        "mass_g": exact["mass_g"].value,
    }


def _d_half_gap(discriminator: torch.nn.Module, domain: Domain) -> float:

    d64 = copy.deepcopy(discriminator).double().eval()
    p_data = gauss1d()
    value, _ = integrate(lambda x: (p_data.log_prob(x).exp() * (torch.sigmoid(d64(x)) - 0.5).abs())[:, None], domain, 8)
    return float(value[0])


def _train(gan: GAN, steps: int, seed: int, every: int) -> list[tuple[int, dict[str, Any]]]:
    """Algorithm 1 (k = 2; Adam, D at a constant rate, G's rate decaying); snapshots every ``every`` steps."""
    p_data = gauss1d()
    gen = torch.Generator().manual_seed(seed)
    opt_d = torch.optim.Adam(gan.D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(gan.G.parameters(), lr=5e-3, betas=(0.5, 0.999))
    schedule = cosine_schedule(opt_g, steps, floor=0.01)  # D keeps up while G settles
    snaps = [(0, _snapshot(gan))]
    for step in range(1, steps + 1):
        alternating_step(gan, p_data, opt_d, opt_g, gen, k=2)
        schedule.step()
        if step % every == 0:
            snaps.append((step, _snapshot(gan)))
    return snaps


def _g_steps(gan: GAN, steps: int, seed: int) -> GAN:
    """G updates against the fixed D of ``gan`` (panel c)."""
    gen = torch.Generator().manual_seed(seed)
    opt_g = torch.optim.Adam(gan.G.parameters(), lr=5e-3, betas=(0.5, 0.999))
    for _ in range(steps):
        out = gan.g_objective(gan.noise(256, gen))
        opt_g.zero_grad(set_to_none=True)
        out.loss.backward()
        opt_g.step()
    return gan


@register_experiment("figure1", "The paper's Figure 1 (panels a-d) from a real 1-D run, and its GIF")
def figure1(out: Path | None = None, *, seed: int = 0, quick: bool = False) -> ExperimentResult:
    """Run a 1-D GAN with an exact-density G and draw the paper's four panels and an animation.

    Args:
        out: folder for ``figure1.png`` and ``figure1.gif`` (none drawn when ``None``).
        seed: seed of the networks and every draw.
        quick: the test suite's budget: 700 training steps instead of 1500 and looser end-state tolerances.
    """
    steps = 700 if quick else 1500
    result = ExperimentResult(
        "figure1",
        "The paper's Figure 1 (panels a-d) from a real 1-D run, and its GIF",
        settings={
            "seed": seed,
            "quick": quick,
            "steps": steps,
            "p_data": "N(4, 0.5^2)",
            "z": "N(0, 1)",
            "G": "affine flow from N(2.5, 1)",
            "D": "MLP 64-64",
            "update": "Algorithm 1, k = 2, non-saturating, Adam (D 2e-3; G 5e-3 cosine to 1%)",
        },
    )
    prior = NormalPrior(1)
    flow = AffineFlow((1,))
    flow.init_output_bias(torch.tensor([2.5]))  # start beside the data, as in the paper's panel (a)
    with seeded(seed):
        gan = GAN(flow, MLPDiscriminator((1,), (64, 64), "leaky_relu"), prior, "nonsaturating")
    snaps = _train(gan, steps, seed + 1, every=max(1, steps // 50))
    tracked = [(s, measure(_restore(gan, snap))) for s, snap in snaps]
    result.numbers["run"] = [{"step": s, **m} for s, m in tracked]
    a_index = next((i for i, (_, m) in enumerate(tracked) if m["jsd"] < 0.1), len(tracked) // 4)
    panel_a = _restore(gan, snaps[a_index][1])
    panel_b = copy.deepcopy(panel_a)
    panel_b.G.requires_grad_(False)
    train_discriminator(panel_b, gauss1d(), 600 if quick else 1500, 256, 2e-3, torch.Generator().manual_seed(seed + 2))
    panel_b.G.requires_grad_(True)
    panel_c = _g_steps(copy.deepcopy(panel_b), 20, seed + 3)
    panel_d = _restore(gan, snaps[-1][1])
    panels = {"a": panel_a, "b": panel_b, "c": panel_c, "d": panel_d}
    numbers = {k: measure(g) for k, g in panels.items()}
    numbers["a"]["step"], numbers["d"]["step"] = snaps[a_index][0], snaps[-1][0]
    result.numbers["panels"] = numbers
    result.claim(
        "b_d_is_d_star",
        "(b) D trained against fixed G: mean |D - D*| under (p_data + p_g)/2",
        numbers["b"]["mean_abs_d_minus_d_star"],
        "<=",
        0.05 if quick else 0.02,
    )
    result.claim(
        "c_g_step_improves",
        "(c) JSD after the G updates minus JSD before them (b)",
        numbers["c"]["jsd"] - numbers["b"]["jsd"],
        "<",
        0.0,
    )
    result.claim(
        "d_converged_jsd", "(d) end of the run: JSD(p_data || p_g)", numbers["d"]["jsd"], "<=", 0.05 if quick else 0.01
    )
    result.claim(
        "d_half",
        "(d) end of the run: mean |D - 1/2| under p_data",
        numbers["d"]["mean_abs_d_minus_half"],
        "<=",
        0.1 if quick else 0.05,
    )
    if out is not None:
        result.figures.append(plot_figure1(panels, numbers, Path(out) / "figure1.png").name)
        frames = [(s, _restore(gan, snap)) for s, snap in snaps]
        result.figures.append(save_gif(frames, Path(out) / "figure1.gif").name)
    return result
