"""Memorisation figures: copies of the training set vs fresh draws, and the neighbour figure."""

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.spatial.distance import cdist

from origan.metrics.novelty import nearest_neighbours, novelty, save_neighbour_figure

pytestmark = pytest.mark.kernels  # results depend on float kernels: `make test-cpus` runs them on others


def test_nearest_neighbours_match_scipy():
    rng = np.random.default_rng(0)
    x, ref = rng.random((70, 12)), rng.random((300, 12))
    d, idx = nearest_neighbours(torch.from_numpy(x), torch.from_numpy(ref))
    full = cdist(x, ref)
    np.testing.assert_array_equal(idx.numpy(), full.argmin(1))
    np.testing.assert_allclose(d.numpy(), full.min(1), rtol=1e-10)


def test_copies_of_the_training_set_are_flagged_and_fresh_draws_are_not():
    gen = torch.Generator().manual_seed(0)
    train, held_out, fresh = (torch.randn(n, 5, generator=gen) for n in (2000, 1000, 1000))
    copies = train[:1000] + 1e-4 * torch.randn(1000, 5, generator=gen)
    memorised = novelty(copies, train, held_out)
    assert memorised["share_closer_than_median"] == 1.0 and memorised["share_closer_than_p05"] == 1.0
    assert memorised["distance_ratio"] < 0.01
    novel = novelty(fresh, train, held_out)  # exchangeable with the held-out data
    assert novel["share_closer_than_median"] == pytest.approx(0.5, abs=0.05)
    assert novel["share_closer_than_p05"] == pytest.approx(0.05, abs=0.025)


def test_neighbour_figure_pairs_each_sample_with_its_nearest_training_image(tmp_path):
    train = torch.zeros(3, 1, 4, 4)
    for i in range(3):
        train[i, 0, i, :] = 1.0  # image i: row i lit
    samples = train[[2, 0]] * 0.9  # near copies of images 2 and 0
    path = save_neighbour_figure(samples, train, tmp_path / "nn.png", n=2)
    img = np.asarray(Image.open(path))
    scale = 112 // 4  # save_grid_png enlarges small images
    cell = 4 * scale
    # the grid is sample, neighbour, sample, neighbour with a 2-pixel (scaled) border
    pad = 2 * scale
    tiles = [img[pad : pad + cell, pad + j * (cell + pad) : pad + j * (cell + pad) + cell] for j in range(4)]
    lit_rows = [int(np.argmax(tile[::scale, 0])) for tile in tiles]
    assert lit_rows == [2, 2, 0, 0]
