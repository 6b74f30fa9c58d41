"""The theory lab: exact D*, V, C(G), JSD and KL for densities given as log-density callables.

Example (a notebook)::

    import torch
    from origan.data.toy import gauss1d
    from origan import theory

    p_data, p_g = gauss1d(4.0, 0.5), gauss1d(3.0, 1.0)
    domain = theory.Domain.for_mixtures(p_data, p_g)        # a box missing at most 1e-12 of each density
    theory.jsd(p_data.log_prob, p_g.log_prob, domain)        # Estimate(value=..., error=..., method='quadrature')
    theory.criterion(p_data.log_prob, p_g.log_prob, domain)  # C(G) = -log 4 + 2 JSD
    d_star = theory.optimal_discriminator(p_data.log_prob, p_g.log_prob)
    theory.value(p_data.log_prob, p_g.log_prob, d_star, domain)
    result = theory.identity()                               # an experiment: claims with numbers
"""

from .densities import FlowDensity, TruncatedMixture, UniformBox
from .divergences import criterion, criterion_mc, jsd, jsd_mc, kl, kl_mc, summary, value, value_mc
from .experiments import convergence, figure1, identity, optimal_d, saturation
from .lab import EXPERIMENTS, Claim, ExperimentResult, run_lab
from .optimal import OptimalDiscriminator, d_star_logit, optimal_discriminator
from .quadrature import Domain, Estimate

__all__ = [
    "EXPERIMENTS",
    "Claim",
    "Domain",
    "Estimate",
    "ExperimentResult",
    "FlowDensity",
    "OptimalDiscriminator",
    "TruncatedMixture",
    "UniformBox",
    "convergence",
    "criterion",
    "criterion_mc",
    "d_star_logit",
    "figure1",
    "identity",
    "jsd",
    "jsd_mc",
    "kl",
    "kl_mc",
    "optimal_d",
    "optimal_discriminator",
    "run_lab",
    "saturation",
    "summary",
    "value",
    "value_mc",
]
