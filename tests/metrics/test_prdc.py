"""Precision, recall, density and coverage against a brute-force transcription of the definitions."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from origan.metrics.prdc import kth_neighbour_sq_radius, prdc

pytestmark = pytest.mark.kernels  # results depend on float kernels: `make test-cpus` runs them on others


def reference_prdc(real: np.ndarray, fake: np.ndarray, k_pr: int = 3, k_dc: int = 5) -> dict:
    """The definitions of Kynkäänniemi et al. (2019) and Naeem et al. (2020) with open balls."""
    rr, ff, rf = cdist(real, real), cdist(fake, fake), cdist(real, fake)  # (N, N), (M, M), (N, M)
    radius = lambda d, k: np.sort(d, axis=1)[:, k]  # noqa: E731  column 0 is the point itself
    r_real_pr, r_real_dc, r_fake_pr = radius(rr, k_pr), radius(rr, k_dc), radius(ff, k_pr)
    precision = np.mean([any(rf[i, j] < r_real_pr[i] for i in range(len(real))) for j in range(len(fake))])
    recall = np.mean([any(rf[i, j] < r_fake_pr[j] for j in range(len(fake))) for i in range(len(real))])
    density = sum(rf[i, j] < r_real_dc[i] for i in range(len(real)) for j in range(len(fake))) / (k_dc * len(fake))
    coverage = np.mean([rf[i].min() < r_real_dc[i] for i in range(len(real))])
    return {"precision": precision, "recall": recall, "density": density, "coverage": coverage}


def t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def test_matches_the_definitions_on_random_sets():
    rng = np.random.default_rng(0)
    real, fake = rng.normal(size=(60, 4)), 1.3 * rng.normal(size=(45, 4)) + 0.4
    got, want = prdc(t(real), t(fake)), reference_prdc(real, fake)
    for key in want:
        assert got[key] == pytest.approx(want[key], abs=1e-12), key


def test_identical_sets_score_one_everywhere():
    x = t(np.random.default_rng(1).normal(size=(200, 8)))
    assert prdc(x, x.clone()) == {"precision": 1.0, "recall": 1.0, "density": 1.0, "coverage": 1.0}


def test_tight_fakes_inside_a_wide_real_cloud_are_precise_but_not_diverse():
    gen = torch.Generator().manual_seed(0)
    wide = torch.randn(1000, 2, generator=gen, dtype=torch.float64)  # N(0, I)
    tight = 0.05 * torch.randn(1000, 2, generator=gen, dtype=torch.float64)  # N(0, 0.05^2 I)
    r = prdc(wide, tight)  # real wide, fake tight: mode collapse onto the densest region
    assert r["precision"] > 0.99 and r["recall"] < 0.05
    assert r["density"] > 1.0 and r["coverage"] < 0.05  # crowding where the reals are densest
    r = prdc(tight, wide)  # real tight, fake wide: mostly off the data; recall is fooled, coverage is not
    assert r["precision"] < 0.05 and r["recall"] > 0.99
    assert r["density"] < 0.05 and r["coverage"] < 0.2


def test_ties_are_outside_the_ball():
    # 1-D reals {0, 1, 2, 3, 10}: the 3rd neighbour of 0 is 3, so its k=3 ball is the open interval (-3, 3)
    # (and the ball of 10 reaches 9 < 10), so fakes at 20..23 are outside every real ball
    real = t([[0.0], [1.0], [2.0], [3.0], [10.0]])
    far = [[20.0], [21.0], [22.0], [23.0]]
    assert prdc(real, t([[-3.0]] + far), k_pr=3, k_dc=3)["precision"] == 0.0  # exactly on the boundary
    assert prdc(real, t([[-2.9375]] + far), k_pr=3, k_dc=3)["precision"] == 0.2  # just inside


def test_kth_neighbour_radius_excludes_the_point_itself():
    x = t([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_array_equal(kth_neighbour_sq_radius(x, 1).numpy(), [1.0, 1.0, 4.0, 16.0])
    np.testing.assert_array_equal(kth_neighbour_sq_radius(x, 2).numpy(), [9.0, 4.0, 9.0, 36.0])
