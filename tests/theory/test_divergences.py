"""Exact D*, V, C(G), JSD and KL against closed forms, scipy quadrature and the identity of Theorem 1."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from origan import theory
from origan.data.toy import GaussianMixture, gauss1d
from origan.theory import Domain, TruncatedMixture, UniformBox

pytestmark = pytest.mark.kernels  # identities checked to rounding: `make test-cpus` runs them on other CPUs' kernels

LOG2, LOG4 = math.log(2.0), math.log(4.0)


def _mixture(draw, dim):
    k = draw(st.integers(1, 3))
    coord = st.floats(-4.0, 4.0, allow_nan=False)
    means = [[draw(coord) for _ in range(dim)] for _ in range(k)]
    stds = [draw(st.floats(0.2, 2.0)) for _ in range(k)]
    weights = [draw(st.floats(0.05, 1.0)) for _ in range(k)]
    return GaussianMixture(means, stds, weights)


@st.composite
def mixture_pairs(draw, dim=1):
    return _mixture(draw, dim), _mixture(draw, dim)


def _identity_gap(p, q):
    domain = Domain.for_mixtures(p, q)
    d_star = theory.optimal_discriminator(p.log_prob, q.log_prob)
    v_star = theory.value(p.log_prob, q.log_prob, d_star, domain)  # V(G, D*) through the D* module
    jsd = theory.jsd(p.log_prob, q.log_prob, domain)
    return abs(v_star.value - (-LOG4 + 2 * jsd.value)), v_star, jsd


@settings(max_examples=40, deadline=None)
@given(mixture_pairs(dim=1))
def test_identity_v_of_d_star_is_minus_log4_plus_2jsd_1d(pair):
    gap, v_star, jsd = _identity_gap(*pair)
    assert gap <= 1e-8
    assert v_star.error <= 1e-8 and jsd.error <= 1e-8
    assert -1e-12 <= jsd.value <= LOG2 + 1e-12


@settings(max_examples=6, deadline=None)
@given(mixture_pairs(dim=2))
def test_identity_v_of_d_star_is_minus_log4_plus_2jsd_2d(pair):
    gap, v_star, _jsd = _identity_gap(*pair)
    assert gap <= 1e-8 and v_star.error <= 1e-8


@settings(max_examples=15, deadline=None)
@given(mixture_pairs(dim=1), st.floats(0.05, 3.0), st.floats(-2.0, 2.0))
def test_any_other_d_is_worse_by_the_bernoulli_kl(pair, eps, a):
    """V(G, D*) - V(G, D) = integral (p + q) KL(Bern(D*) || Bern(D)) > 0 (proof of Proposition 1)."""
    p, q = pair
    domain = Domain.for_mixtures(p, q)
    d_star = theory.optimal_discriminator(p.log_prob, q.log_prob)

    def d(x):
        return d_star(x) + eps * torch.cos(a * x[:, 0])

    gap = (
        theory.value(p.log_prob, q.log_prob, d_star, domain).value
        - theory.value(p.log_prob, q.log_prob, d, domain).value
    )

    def bernoulli_kl(x):
        s, t = d_star(x), d(x)
        kl = torch.sigmoid(s) * (torch.nn.functional.logsigmoid(s) - torch.nn.functional.logsigmoid(t)) + torch.sigmoid(
            -s
        ) * (torch.nn.functional.logsigmoid(-s) - torch.nn.functional.logsigmoid(-t))
        return (torch.logaddexp(p.log_prob(x), q.log_prob(x)).exp() * kl)[:, None]

    expected, _ = theory.quadrature.integrate(bernoulli_kl, domain)
    assert gap > 0
    assert gap == pytest.approx(float(expected[0]), abs=1e-9)


def test_equal_densities_give_zero_and_minus_log4():
    p = GaussianMixture([[-1.0], [2.0]], [0.5, 1.0], [0.3, 0.7])
    s = theory.summary(p.log_prob, p.log_prob, Domain.for_mixtures(p, tail_mass=1e-15))
    assert abs(s["jsd"].value) <= 1e-14
    assert s["criterion"].value == pytest.approx(-LOG4, abs=1e-12)
    assert abs(s["kl_data_g"].value) <= 1e-14


@pytest.mark.parametrize(
    "p, q, domain",
    [
        (UniformBox([0.0], [1.0]), UniformBox([2.0], [3.0]), Domain.box([(0.0, 3.0)], 3)),
        (
            UniformBox([0.0, 0.0], [1.0, 1.0]),
            UniformBox([1.0, 0.0], [2.0, 1.0]),
            Domain.box([(0.0, 2.0), (0.0, 1.0)], [2, 1]),
        ),
        (
            TruncatedMixture(gauss1d(0.0, 1.0), -6.0, 0.0),
            TruncatedMixture(gauss1d(1.0, 0.5), 0.5, 5.0),
            Domain.box([(-6.0, 5.0)], 44, breaks=[[0.0, 0.5]]),
        ),
    ],
)
def test_disjoint_supports_give_log2_and_zero_without_nan(p, q, domain):
    s = theory.summary(p.log_prob, q.log_prob, domain)
    assert all(math.isfinite(e.value) for name, e in s.items() if not name.startswith("kl"))
    assert s["jsd"].value == pytest.approx(LOG2, abs=1e-12)
    assert s["criterion"].value == pytest.approx(0.0, abs=1e-12)
    assert s["kl_data_g"].value == math.inf  # p_g = 0 where p_data > 0


def test_half_overlap_has_its_closed_form():
    s = theory.summary(
        UniformBox([0.0], [1.0]).log_prob, UniformBox([0.5], [1.5]).log_prob, Domain.box([(0.0, 1.5)], 3)
    )
    assert s["jsd"].value == pytest.approx(LOG2 / 2, abs=1e-13)
    assert s["criterion"].value == pytest.approx(-LOG2, abs=1e-13)


@pytest.mark.parametrize(
    "m1, s1, m2, s2", [(0.0, 1.0, 1.0, 1.0), (4.0, 0.5, 0.0, 1.0), (0.0, 1.0, 0.0, 3.0), (1.0, 0.2, 1.5, 0.3)]
)
def test_gaussian_jsd_and_kl_against_scipy_quad(m1, s1, m2, s2):
    p, q = gauss1d(m1, s1), gauss1d(m2, s2)
    domain = Domain.for_mixtures(p, q)
    s = theory.summary(p.log_prob, q.log_prob, domain)

    def jsd_density(x):
        a, b = stats.norm.pdf(x, m1, s1), stats.norm.pdf(x, m2, s2)
        m = (a + b) / 2
        return 0.5 * (a * math.log(a / m) if a > 0 else 0.0) + 0.5 * (b * math.log(b / m) if b > 0 else 0.0)

    lo, hi = min(m1 - 12 * s1, m2 - 12 * s2), max(m1 + 12 * s1, m2 + 12 * s2)
    ref, ref_err = integrate.quad(jsd_density, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=500, points=[m1, m2])
    assert ref_err < 1e-11
    assert s["jsd"].value == pytest.approx(ref, abs=1e-10)
    kl_closed = math.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
    assert s["kl_data_g"].value == pytest.approx(kl_closed, abs=1e-10)


def test_kl_2d_isotropic_gaussians_closed_form():
    p, q = GaussianMixture([[0.0, 1.0]], [0.7]), GaussianMixture([[1.0, -0.5]], [1.2])
    kl = theory.kl(p.log_prob, q.log_prob, Domain.for_mixtures(p, q))
    d, s1, s2, dist2 = 2, 0.7, 1.2, 1.0 + 1.5**2
    expected = d * math.log(s2 / s1) + (d * s1**2 + dist2) / (2 * s2**2) - d / 2
    assert kl.value == pytest.approx(expected, abs=1e-10)


def test_value_of_a_given_d_against_scipy_quad():
    p, q = gauss1d(0.0, 1.0), gauss1d(1.0, 0.7)

    def d_logit(x):
        return 0.8 * x[:, 0] - 0.3

    v = theory.value(p.log_prob, q.log_prob, d_logit, Domain.for_mixtures(p, q))

    def integrand(x):
        l = 0.8 * x - 0.3
        return stats.norm.pdf(x, 0, 1) * -math.log1p(math.exp(-l)) + stats.norm.pdf(x, 1, 0.7) * -math.log1p(
            math.exp(l)
        )

    ref, _ = integrate.quad(integrand, -12, 12, epsabs=1e-13, limit=200)
    assert v.value == pytest.approx(ref, abs=1e-10)
    half = theory.value(p.log_prob, q.log_prob, lambda x: torch.zeros(len(x), dtype=x.dtype), Domain.for_mixtures(p, q))
    assert half.value == pytest.approx(-LOG4, abs=1e-11)  # D = 1/2 everywhere gives -log 4 for any G


def test_error_estimate_flags_a_coarse_rule():
    """A too-coarse rule must say so: its error estimate is large and covers its actual error."""
    p, q = gauss1d(0.0, 0.05), gauss1d(0.1, 0.05)
    truth = theory.jsd(p.log_prob, q.log_prob, Domain.for_mixtures(p, q)).value
    coarse = theory.jsd(p.log_prob, q.log_prob, Domain.box([(-1.0, 1.0)], 2), order=4)
    assert coarse.error > 1e-3
    assert abs(coarse.value - truth) <= coarse.error


def test_stated_tail_mass_is_respected():
    p = GaussianMixture([[0.0], [3.0]], [1.0, 0.3], [0.5, 0.5])
    for tail in (1e-4, 1e-8, 1e-12):
        mass = theory.summary(p.log_prob, p.log_prob, Domain.for_mixtures(p, tail_mass=tail))["mass_data"].value
        assert 0.0 <= 1.0 - mass <= tail


def test_monte_carlo_estimates_agree_with_quadrature_within_their_standard_errors():
    gen = torch.Generator().manual_seed(0)
    p, q = GaussianMixture([[-1.0], [1.5]], [0.5, 0.8]), gauss1d(0.5, 1.2)
    domain = Domain.for_mixtures(p, q)
    exact = theory.summary(p.log_prob, q.log_prob, domain)
    for name, mc in (
        ("jsd", theory.jsd_mc(p, q, 50_000, gen)),
        ("criterion", theory.criterion_mc(p, q, 50_000, gen)),
        ("kl_data_g", theory.kl_mc(p, q, 50_000, gen)),
    ):
        assert 0 < mc.error < 0.01
        assert abs(mc.value - exact[name].value) <= 4 * mc.error, name


def test_d_star_module_is_proposition_1():
    p, q = gauss1d(0.0, 1.0), gauss1d(2.0, 0.5)
    x = torch.linspace(-3, 4, 50, dtype=torch.float64)[:, None]
    d = theory.optimal_discriminator(p.log_prob, q.log_prob).prob(x)
    a, b = p.log_prob(x).exp(), q.log_prob(x).exp()
    torch.testing.assert_close(d, a / (a + b))
    both_zero = theory.d_star_logit(torch.tensor([-math.inf]), torch.tensor([-math.inf]))
    assert both_zero.item() == 0.0
