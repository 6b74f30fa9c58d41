"""Fréchet distance against the closed forms for Gaussians."""

import numpy as np
import pytest
import scipy.linalg
import torch

from origan.metrics.fid import feature_statistics, frechet_distance, frechet_distance_of_features

pytestmark = pytest.mark.kernels  # results depend on float kernels: `make test-cpus` runs them on others


def random_spd(d: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return scale * (a @ a.T / d + 0.1 * np.eye(d))


def w2_closed_form(mu1, s1, mu2, s2) -> float:
    """2-Wasserstein distance squared between Gaussians: the symmetric form with scipy's sqrtm."""
    r2 = scipy.linalg.sqrtm(s2)
    cross = scipy.linalg.sqrtm(r2 @ s1 @ r2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(cross).real)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def test_commuting_covariances_give_the_diagonal_closed_form():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([0.5, 1.0, 0.0])
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.25])
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # = 0.25 + 4 + 4 + 1 + 0
    assert frechet_distance(t(mu1), t(np.diag(a)), t(mu2), t(np.diag(b))) == pytest.approx(want, rel=1e-12)
    assert want == pytest.approx(9.25)


@pytest.mark.parametrize("d", [2, 16, 64])
def test_general_covariances_match_the_wasserstein_closed_form(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_spd(d, rng), random_spd(d, rng, scale=3.0)
    got = frechet_distance(t(mu1), t(s1), t(mu2), t(s2))
    assert got == pytest.approx(w2_closed_form(mu1, s1, mu2, s2), rel=1e-9)
    assert got == pytest.approx(frechet_distance(t(mu2), t(s2), t(mu1), t(s1)), rel=1e-9)  # symmetric


def test_rank_deficient_covariance_is_finite_and_exact():
    # N(0, diag(1, 0)) vs N(0, diag(4, 0)): (1 - 2)^2 = 1
    s1, s2 = np.diag([1.0, 0.0]), np.diag([4.0, 0.0])
    assert frechet_distance(t(np.zeros(2)), t(s1), t(np.zeros(2)), t(s2)) == pytest.approx(1.0, abs=1e-12)


def test_identical_feature_sets_are_at_distance_zero_and_statistics_match_numpy():
    rng = np.random.default_rng(0)
    f = rng.normal(size=(300, 10)) @ rng.normal(size=(10, 10))
    mu, cov = feature_statistics(t(f))
    np.testing.assert_allclose(mu.numpy(), f.mean(0), rtol=1e-12)
    np.testing.assert_allclose(cov.numpy(), np.cov(f, rowvar=False), rtol=1e-10)
    assert abs(frechet_distance_of_features(t(f), t(f))) < 1e-9


def test_large_samples_approach_the_population_distance():
    gen = torch.Generator().manual_seed(0)
    n, d = 200_000, 3
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)  # N(0, I)
    y = 2.0 * torch.randn(n, d, generator=gen, dtype=torch.float64) + 1.0  # N(1, 4 I)
    want = d * 1.0 + d * (1.0 - 2.0) ** 2  # ||mu||^2 + sum (sqrt a - sqrt b)^2 = 6
    assert frechet_distance_of_features(x, y) == pytest.approx(want, abs=0.05)
