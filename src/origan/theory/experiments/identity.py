"""``identity``: Theorem 1's identity V(G, D*) = -log 4 + 2 JSD, the optimality of D*, and the extreme cases.

Everything is exact quadrature (float64, Gauss-Legendre with an error estimate) on densities given by
their log-density: random Gaussian-mixture pairs in 1-D and 2-D, uniform and truncated densities whose
supports are disjoint (log p = -inf), and a partial overlap with a closed form.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor
from torch.nn.functional import logsigmoid

from ...data.toy import GaussianMixture, gauss1d
from ...losses import LOG4
from ..densities import TruncatedMixture, UniformBox
from ..divergences import jsd_mc, summary, value
from ..figures import plot_identity
from ..lab import ExperimentResult, register_experiment
from ..optimal import LogDensity, d_star_logit, optimal_discriminator
from ..quadrature import Domain, integrate

__all__ = ["identity", "random_mixture"]

LOG2 = math.log(2.0)
TAIL_MASS = 1e-12  # mass each random mixture may leave outside the quadrature box


def random_mixture(
    generator: torch.Generator,
    dim: int,
    max_components: int = 4,
    spread: float = 3.0,
    std_range: tuple[float, float] = (0.3, 1.5),
) -> GaussianMixture:
    """A random isotropic Gaussian mixture: 1..max_components components, means in [-spread, spread]^dim."""
    k = int(torch.randint(1, max_components + 1, (1,), generator=generator))
    means = (2 * torch.rand(k, dim, generator=generator, dtype=torch.float64) - 1) * spread
    lo, hi = std_range
    stds = lo + (hi - lo) * torch.rand(k, generator=generator, dtype=torch.float64)
    weights = 0.2 + torch.rand(k, generator=generator, dtype=torch.float64)
    return GaussianMixture(means.tolist(), stds.tolist(), weights.tolist())


def _perturbation(generator: torch.Generator, dim: int) -> tuple[Tensor, Tensor]:
    """A random smooth direction h(x) = sin(a . x + b): (a (dim,), b ())."""
    a = torch.randn(dim, generator=generator, dtype=torch.float64)
    b = 2 * math.pi * torch.rand((), generator=generator, dtype=torch.float64)
    return a, b


def _pair_checks(p: GaussianMixture, q: GaussianMixture, generator: torch.Generator, eps: float) -> dict[str, float]:
    """Identity and optimality numbers for one pair (p_data = p, p_g = q)."""
    domain = Domain.for_mixtures(p, q, tail_mass=TAIL_MASS)
    d_star = optimal_discriminator(p.log_prob, q.log_prob)
    v_star = value(p.log_prob, q.log_prob, d_star, domain)  # V(G, D*) through the D* module
    a, b = _perturbation(generator, p.dim)

    def d_perturbed(x: Tensor) -> Tensor:
        return d_star(x) + eps * torch.sin(x @ a + b)  # logits of a D that is not optimal

    exact = summary(p.log_prob, q.log_prob, domain, d_perturbed)  # JSD, masses and V(G, D_perturbed)
    v_pert = exact["value"]

    def bernoulli_gap(x: Tensor) -> Tensor:
        """(p + q) KL(Bern(D*) || Bern(D)): V(G, D*) - V(G, D) pointwise."""
        lp, lq = p.log_prob(x), q.log_prob(x)
        ls, lt = d_star_logit(lp, lq), d_perturbed(x)
        kl_bern = torch.sigmoid(ls) * (logsigmoid(ls) - logsigmoid(lt)) + torch.sigmoid(-ls) * (
            logsigmoid(-ls) - logsigmoid(-lt)
        )
        return (torch.logaddexp(lp, lq).exp() * kl_bern)[:, None]

    gap, gap_err = integrate(bernoulli_gap, domain)
    return {
        "v_star": v_star.value,
        "v_star_err": v_star.error,
        "jsd": exact["jsd"].value,
        "jsd_err": exact["jsd"].error,
        "identity_diff": abs(v_star.value - (-LOG4 + 2 * exact["jsd"].value)),
        "mass_err": max(abs(1 - exact["mass_data"].value), abs(1 - exact["mass_g"].value)),
        "v_perturbed": v_pert.value,
        "gap": v_star.value - v_pert.value,
        "gap_err": v_star.error + v_pert.error,
        "bernoulli_gap": float(gap[0]),
        "bernoulli_gap_diff": abs((v_star.value - v_pert.value) - float(gap[0])),
        "bernoulli_gap_err": float(gap_err[0]),
    }


def _exact_case(log_p: LogDensity, log_q: LogDensity, domain: Domain) -> dict[str, float]:
    ex = summary(log_p, log_q, domain)
    return {
        "jsd": ex["jsd"].value,
        "jsd_err": ex["jsd"].error,
        "criterion": ex["criterion"].value,
        "criterion_err": ex["criterion"].error,
    }


def _extreme_cases() -> dict[str, dict[str, float]]:
    """Disjoint supports (JSD = log 2, C = 0), a half overlap (JSD = log 2 / 2) and equal densities (JSD = 0)."""
    u01, u23, u_half = UniformBox([0.0], [1.0]), UniformBox([2.0], [3.0]), UniformBox([0.5], [1.5])
    left = TruncatedMixture(gauss1d(0.0, 1.0), -6.0, 0.0)
    right = TruncatedMixture(GaussianMixture([[1.0], [3.0]], [0.5, 1.0]), 0.5, 9.0)
    sq0, sq1 = UniformBox([0.0, 0.0], [1.0, 1.0]), UniformBox([1.0, 0.0], [2.0, 1.0])
    same = GaussianMixture([[-1.0], [2.0]], [0.5, 1.0], [0.3, 0.7])
    return {
        "disjoint_uniform_1d": _exact_case(u01.log_prob, u23.log_prob, Domain.box([(0.0, 3.0)], 3, u01.breaks)),
        "disjoint_truncated_1d": _exact_case(
            left.log_prob, right.log_prob, Domain.box([(-6.0, 9.0)], 60, [left.breaks[0] + right.breaks[0]])
        ),
        "disjoint_uniform_2d": _exact_case(sq0.log_prob, sq1.log_prob, Domain.box([(0.0, 2.0), (0.0, 1.0)], [2, 1])),
        "half_overlap_1d": _exact_case(u01.log_prob, u_half.log_prob, Domain.box([(0.0, 1.5)], 3)),
        "equal_mixtures_1d": _exact_case(same.log_prob, same.log_prob, Domain.for_mixtures(same, tail_mass=1e-15)),
    }


@register_experiment("identity", "C(G) = V(G, D*) = -log 4 + 2 JSD; D* beats every other D; disjoint supports")
def identity(out: Path | None = None, *, seed: int = 0, quick: bool = False) -> ExperimentResult:
    """Check Theorem 1 by exact quadrature on random mixture pairs and on closed-form extreme cases.

    Args:
        out: folder for the figure (none drawn when ``None``).
        seed: seed of the random pairs.
        quick: fewer pairs (the tolerances do not change: nothing here is trained).
    """
    n_1d, n_2d = (12, 3) if quick else (60, 12)
    result = ExperimentResult(
        "identity",
        "C(G) = V(G, D*) = -log 4 + 2 JSD; D* beats every other D; disjoint supports",
        settings={
            "seed": seed,
            "quick": quick,
            "pairs_1d": n_1d,
            "pairs_2d": n_2d,
            "tail_mass": TAIL_MASS,
            "order": "16 vs 32 points per panel",
            "perturbation": "logit(D) = logit(D*) + eps sin(a.x + b), eps in {0.05, 0.5, 2}",
        },
    )
    gen = torch.Generator().manual_seed(seed)
    pairs, rows = [], []
    for i in range(n_1d + n_2d):
        dim = 1 if i < n_1d else 2
        p, q = random_mixture(gen, dim), random_mixture(gen, dim)
        eps = (0.05, 0.5, 2.0)[i % 3]
        row = {"dim": dim, "eps": eps, **_pair_checks(p, q, gen, eps)}
        mc = jsd_mc(p, q, 20_000, gen)
        row.update(jsd_mc=mc.value, jsd_mc_se=mc.error)
        pairs.append((p, q))
        rows.append(row)
    result.numbers["pairs"] = rows
    worst = max(r["identity_diff"] for r in rows)
    result.claim(
        "identity_max_diff", f"max over {len(rows)} mixture pairs of |V(G, D*) - (-log 4 + 2 JSD)|", worst, "<=", 1e-8
    )
    result.claim(
        "quadrature_error",
        "max quadrature error estimate of V(G, D*) and JSD over the pairs",
        max(max(r["v_star_err"], r["jsd_err"]) for r in rows),
        "<=",
        1e-8,
    )
    result.claim(
        "mass_error",
        "max |1 - integral of p| over the pairs (stated tail mass 1e-12)",
        max(r["mass_err"] for r in rows),
        "<=",
        1e-10,
    )
    result.claim(
        "perturbed_d_worse",
        "min over pairs of (V(G, D*) - V(G, D_perturbed)) / its error estimate",
        min(r["gap"] / max(r["gap_err"], 1e-300) for r in rows),
        ">",
        10.0,
    )
    result.claim(
        "gap_is_bernoulli_kl",
        "max |V(G,D*) - V(G,D) - integral (p+q) KL(Bern(D*) || Bern(D))|",
        max(r["bernoulli_gap_diff"] for r in rows),
        "<=",
        1e-8,
    )
    result.claim(
        "quadrature_vs_monte_carlo",
        "max |JSD_quadrature - JSD_monte_carlo| / standard error (20,000 draws)",
        max(abs(r["jsd"] - r["jsd_mc"]) / r["jsd_mc_se"] for r in rows if r["jsd_mc_se"] > 0),
        "<=",
        5.0,
    )
    cases = _extreme_cases()
    result.numbers["cases"] = cases
    for name in ("disjoint_uniform_1d", "disjoint_truncated_1d", "disjoint_uniform_2d"):
        c = cases[name]
        result.claim(f"{name}_jsd", f"{name}: |JSD - log 2|", abs(c["jsd"] - LOG2), "<=", 1e-12)
        result.claim(f"{name}_criterion", f"{name}: |C(G) - 0|", abs(c["criterion"]), "<=", 1e-12)
    c = cases["half_overlap_1d"]
    result.claim("half_overlap_jsd", "U(0,1) vs U(0.5,1.5): |JSD - log(2)/2|", abs(c["jsd"] - LOG2 / 2), "<=", 1e-12)
    c = cases["equal_mixtures_1d"]
    result.claim("equal_jsd", "p_g = p_data: |JSD|", abs(c["jsd"]), "<=", 1e-12)
    result.claim("equal_criterion", "p_g = p_data: |C(G) + log 4|", abs(c["criterion"] + LOG4), "<=", 1e-12)
    if out is not None:
        result.figures.append(plot_identity(rows, pairs[0], Path(out) / "identity.png").name)
    return result
