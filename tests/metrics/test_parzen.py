"""Parzen-window log-likelihood against brute-force NumPy/SciPy, sigma selection and the standard error."""

import math

import numpy as np
import pytest
import torch
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from origan.distances import kmeans
from origan.metrics.parzen import PAPER_SIGMAS, parzen_log_likelihood, parzen_protocol, select_sigma

pytestmark = pytest.mark.kernels  # results depend on float kernels: `make test-cpus` runs them on others


def brute_force(x: np.ndarray, samples: np.ndarray, sigma: float) -> np.ndarray:
    """log (1/m) sum_i N(x; s_i, sigma^2 I), from explicit differences."""
    diff = x[:, None, :] - samples[None, :, :]  # (n, m, d)
    log_kernels = multivariate_normal(mean=np.zeros(x.shape[1]), cov=sigma**2).logpdf(diff.reshape(-1, x.shape[1]))
    return logsumexp(log_kernels.reshape(len(x), len(samples)), axis=1) - math.log(len(samples))


@pytest.fixture
def small():
    rng = np.random.default_rng(0)
    return rng.random((40, 7)), rng.random((150, 7)), rng.random((30, 7))  # x, samples, validation


def test_matches_brute_force_for_every_sigma(small):
    x, s, _ = small
    got = parzen_log_likelihood(torch.from_numpy(x), torch.from_numpy(s), list(PAPER_SIGMAS))  # (10, 40)
    assert got.dtype == torch.float64 and got.shape == (10, 40)
    for j, sigma in enumerate(PAPER_SIGMAS):
        np.testing.assert_allclose(got[j].numpy(), brute_force(x, s, sigma), rtol=1e-11, atol=1e-9)


def test_batching_does_not_change_the_result(small):
    x, s, _ = small
    whole = parzen_log_likelihood(torch.from_numpy(x), torch.from_numpy(s), 0.2)
    tiny_blocks = parzen_log_likelihood(torch.from_numpy(x), torch.from_numpy(s), 0.2, batch_elements=7)
    np.testing.assert_allclose(whole.numpy(), tiny_blocks.numpy(), rtol=0, atol=1e-10)


def test_single_sample_is_a_gaussian_density_even_far_away():
    # float64 log-sum-exp: a point 100 sigma... 1000 sigma away still gets the exact Gaussian log-density
    x = torch.tensor([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0], [100.0, 0.0, 0.0]], dtype=torch.float64)
    s = torch.tensor([[0.5, 0.0, 0.0]], dtype=torch.float64)
    got = parzen_log_likelihood(x, s, 0.1)
    want = multivariate_normal(mean=s[0].numpy(), cov=0.01).logpdf(x.numpy())
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    assert torch.isfinite(got).all()


def test_sigma_selection_is_the_argmax_of_the_validation_curve(small):
    _, s, val = small
    sigma, curve = select_sigma(torch.from_numpy(s), torch.from_numpy(val))
    reference = [brute_force(val, s, sg).mean() for sg in PAPER_SIGMAS]
    np.testing.assert_allclose(curve, reference, rtol=1e-11)
    assert sigma == PAPER_SIGMAS[int(np.argmax(reference))]


def test_sigma_tracks_the_spread_of_the_data():
    # samples and validation points from N(0, tau^2 I) in d = 2; a density-optimal width is about
    # tau * n^(-1/6) (Silverman): 0.04 (below the grid) for tau = 0.15 and 0.85 for tau = 3
    gen = torch.Generator().manual_seed(1)
    chosen = []
    for tau in (0.15, 3.0):
        s = tau * torch.randn(2000, 2, generator=gen, dtype=torch.float64)
        v = tau * torch.randn(500, 2, generator=gen, dtype=torch.float64)
        chosen.append(select_sigma(s, v)[0])
    assert chosen[0] < chosen[1]
    assert chosen[0] == PAPER_SIGMAS[0] and 0.5 < chosen[1] <= 1.0


def test_protocol_uses_the_first_validation_rows_and_reports_the_authors_standard_error(small):
    x, s, val = small
    outliers = np.full((50, 7), 40.0)  # rows past n_validation must not influence sigma
    val_ext = np.concatenate([val, outliers])
    r = parzen_protocol(torch.from_numpy(s), torch.from_numpy(val_ext), torch.from_numpy(x), n_validation=len(val))
    ll = brute_force(x, s, r["sigma"])
    assert r["sigma"] == select_sigma(torch.from_numpy(s), torch.from_numpy(val))[0]
    assert r["log_likelihood"] == pytest.approx(ll.mean(), rel=1e-12)
    assert r["se"] == pytest.approx(ll.std() / math.sqrt(len(ll)), rel=1e-10)  # numpy's std: ddof = 0
    assert r["n_samples"] == 150 and r["n_test"] == 40


def test_kmeans_recovers_separated_cluster_means():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([c + 0.1 * torch.randn(200, 2, generator=gen) for c in centres])
    found, assign = kmeans(x, 3, torch.Generator().manual_seed(3), iterations=50)
    for block in range(3):  # each blob one cluster, whose centroid is its mean
        ids = assign[200 * block : 200 * (block + 1)]
        assert (ids == ids[0]).all()
        torch.testing.assert_close(found[ids[0]], x[200 * block : 200 * (block + 1)].mean(0), atol=1e-5, rtol=0)
    assert len(set(assign.tolist())) == 3
    order = found[:, 0] * 100 + found[:, 1]
    found = found[order.argsort()]
    want = torch.stack([x[:200].mean(0), x[400:].mean(0), x[200:400].mean(0)])
    want = want[(want[:, 0] * 100 + want[:, 1]).argsort()]
    torch.testing.assert_close(found, want, atol=1e-5, rtol=0)


def test_kmeans_assignments_are_to_the_centroids_it_returns_when_the_steps_run_out():
    x = torch.randn(300, 5, generator=torch.Generator().manual_seed(1))
    for iterations in (0, 1, 2):  # no Lloyd step, or too few to settle: the returned assignments still match
        c, assign = kmeans(x, 6, torch.Generator().manual_seed(2), iterations=iterations)
        d = ((x.double()[:, None, :] - c.double()[None]) ** 2).sum(-1)  # (300, 6)
        assert torch.equal(assign, d.argmin(1)), iterations
