"""The distances behind every metric decision, against brute force (scipy's cdist and exact rationals),
with ties, duplicates and data on which the matrix-product formula rounds badly."""

import math
from fractions import Fraction

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from origan.distances import (
    count_in_balls,
    gram_sq_blocks,
    kth_neighbour_sq_radii,
    kth_neighbour_sq_radius,
    min_first,
    nearest_neighbour,
    pair_sq_dist,
    sq_dist_matrix,
)
from origan.errors import DataError

pytestmark = pytest.mark.kernels  # results depend on float kernels: `make test-cpus` runs them on others

U = 2.0**-53  # unit roundoff of float64


def t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def grid_points(n, d, seed, offset=0.0):
    """Points on an integer grid (plus ``offset``): many exact ties, and every canonical distance is exact.

    With ``offset = 2**26`` the squared norms pass 2**53, so the matrix-product formula rounds by more than
    the distances themselves: every decision has to fall back on the canonical distances.
    """
    return np.random.default_rng(seed).integers(-3, 4, size=(n, d)).astype(np.float64) + offset


def test_canonical_distance_is_within_its_rounding_bound_of_the_exact_value():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(12, 37)), 3.0 * rng.normal(size=(9, 37))
    got = sq_dist_matrix(t(a), t(b)).numpy()
    for i in range(len(a)):
        for j in range(len(b)):
            exact = sum((Fraction(x) - Fraction(y)) ** 2 for x, y in zip(a[i], b[j], strict=True))
            # a difference and a square round once each (2u), then a pairwise sum of 37 terms: 6 levels
            bound = (math.ceil(math.log2(37)) + 2) * U * 1.0001 * float(exact)
            assert abs(Fraction(got[i, j]) - exact) <= Fraction(bound)
    np.testing.assert_allclose(got, cdist(a, b, "sqeuclidean"), rtol=(37 + 8) * U * 2, atol=0)


def test_canonical_distance_is_one_number_per_pair():
    rng = np.random.default_rng(1)
    a, b = t(rng.normal(size=(30, 50))), t(rng.normal(size=(20, 50)))
    d = sq_dist_matrix(a, b)
    assert torch.equal(d, sq_dist_matrix(b, a).T)  # symmetric, bit for bit
    assert torch.equal(d[7:11, 3:5], sq_dist_matrix(a[7:11], b[3:5]))  # whatever else is in the block
    perm = torch.randperm(30, generator=torch.Generator().manual_seed(0))
    assert torch.equal(d[perm], sq_dist_matrix(a[perm], b))
    assert torch.equal(torch.diagonal(sq_dist_matrix(a, a.clone())), torch.zeros(30, dtype=torch.float64))
    ia, ib = torch.tensor([4, 4, 29]), torch.tensor([0, 19, 19])
    assert torch.equal(pair_sq_dist(a, b, ia, ib), d[ia, ib])


def test_matrix_product_distances_stay_within_the_bound_the_decisions_rely_on():
    # far from the origin the formula ||a||^2 + ||b||^2 - 2 a.b cancels: the bound must still hold
    rng = np.random.default_rng(2)
    a, b = t(rng.normal(size=(40, 16)) + 50.0), t(rng.normal(size=(30, 16)) + 50.0)
    exact = sq_dist_matrix(a, b)
    bound = (16 + 4 + 4) * U * (a.norm(dim=1)[:, None] + b.norm(dim=1)[None, :]) ** 2  # (d + log2 d + 4) u
    for i, approx in gram_sq_blocks(a, b, block_elements=64):
        err = (approx - exact[i : i + len(approx)]).abs()
        assert (err <= bound[i : i + len(approx)]).all()
    assert not torch.equal(torch.cat([blk for _, blk in gram_sq_blocks(a, b)]), exact)  # the formula does round


@pytest.mark.parametrize("offset", [0.0, 2.0**26])
def test_nearest_neighbour_is_the_first_of_the_nearest(offset):
    x, ref = grid_points(80, 5, 4, offset), grid_points(120, 5, 5, offset)
    ref[60:] = ref[:60]  # duplicates: the earlier copy wins
    d2 = cdist(x - offset, ref - offset, "sqeuclidean")  # exact: small integers
    got_d2, got_idx = nearest_neighbour(t(x), t(ref))
    np.testing.assert_array_equal(got_d2.numpy(), d2.min(1))
    np.testing.assert_array_equal(got_idx.numpy(), d2.argmin(1))  # numpy's argmin: the first minimum
    assert (d2 == d2.min(1, keepdims=True)).sum(1).max() > 1  # the case has ties to break


@pytest.mark.parametrize("offset", [0.0, 2.0**26])
def test_kth_neighbour_radii_match_sorted_brute_force_with_ties_and_duplicates(offset):
    x = grid_points(150, 3, 6, offset)
    x[100:120] = x[:20]
    d2 = cdist(x - offset, x - offset, "sqeuclidean")
    got = kth_neighbour_sq_radii(t(x), (1, 3, 5))
    for row, k in zip(got, (1, 3, 5), strict=True):
        np.testing.assert_array_equal(row.numpy(), np.sort(d2, axis=1)[:, k])  # column 0: the point itself
    np.testing.assert_array_equal(kth_neighbour_sq_radius(t(x), 3).numpy(), got[1].numpy())
    with pytest.raises(ValueError, match="need more than k=5"):
        kth_neighbour_sq_radius(t(x[:5]), 5)


@pytest.mark.parametrize("offset", [0.0, 2.0**26])
def test_ball_counts_match_brute_force_with_points_on_the_boundaries(offset):
    points, centres = grid_points(90, 4, 7, offset), grid_points(70, 4, 8, offset)
    d2 = cdist(points - offset, centres - offset, "sqeuclidean")
    radii = np.stack([np.sort(cdist(centres, centres, "sqeuclidean"), axis=1)[:, k] for k in (2, 4)])  # (2, 70)
    got = count_in_balls(t(points), t(centres), t(radii))
    want = np.stack([(d2 < r[None, :]).sum(1) for r in radii])
    np.testing.assert_array_equal(got.numpy(), want)
    assert (d2[None] == radii[:, None, :]).sum() > 50  # many points lie exactly on a boundary (outside)


def test_decisions_are_those_of_the_canonical_distances_where_the_formula_rounds():
    # normal points far from the origin, with duplicates and the centres among the points: the formula's
    # rounding is larger than the gaps between tied distances, the decisions must not see it
    rng = np.random.default_rng(9)
    centres = rng.normal(size=(60, 6)) + 40.0
    centres[40:] = centres[:20]
    points = np.concatenate([centres, rng.normal(size=(50, 6)) + 40.0])
    d2 = sq_dist_matrix(t(points), t(centres)).numpy()  # (110, 60): brute force, every pair
    radii = np.sort(sq_dist_matrix(t(centres), t(centres)).numpy(), axis=1)[:, [1, 3]].T  # (2, 60)
    np.testing.assert_array_equal(kth_neighbour_sq_radii(t(centres), (1, 3)).numpy(), radii)
    got = count_in_balls(t(points), t(centres), t(radii))
    np.testing.assert_array_equal(got.numpy(), np.stack([(d2 < r[None, :]).sum(1) for r in radii]))
    low, idx = nearest_neighbour(t(points), t(centres))
    np.testing.assert_array_equal(low.numpy(), d2.min(1))
    np.testing.assert_array_equal(idx.numpy(), d2.argmin(1))
    approx = torch.cat([blk for _, blk in gram_sq_blocks(t(points), t(centres))]).numpy()
    assert (approx != d2).mean() > 0.5  # the formula's numbers differ from the canonical ones


def test_non_finite_points_are_refused_not_scored():
    x = t(grid_points(10, 3, 10))
    for bad in (float("nan"), float("inf")):
        y = x.clone()
        y[4, 1] = bad
        with pytest.raises(DataError, match="NaN or infinite"):
            nearest_neighbour(y, x)
        with pytest.raises(DataError, match="NaN or infinite"):
            kth_neighbour_sq_radius(y, 2)
        with pytest.raises(DataError, match="NaN or infinite"):
            count_in_balls(x, y, torch.ones(1, 10, dtype=torch.float64))


def test_min_first_breaks_ties_towards_the_first_column():
    values = t([[3.0, 1.0, 1.0], [2.0, 2.0, 2.0], [0.5, 7.0, 0.25]])
    low, idx = min_first(values)
    assert low.tolist() == [1.0, 2.0, 0.25] and idx.tolist() == [1, 0, 2]
