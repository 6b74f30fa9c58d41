"""Sampling a conditional run by class, from Python and the CLI: every output form keeps each sample's class."""

import csv

import numpy as np
import pytest
import torch
from PIL import Image

import origan
from helpers import set_args
from origan.cli import main
from origan.io.export import image_grid, to_uint8_images

SETS = [
    "train.conditional=true",
    "train.steps=20",
    "generator.hidden=[32]",
    "discriminator.hidden=[16,16]",
    "train.batch_size=32",
    "train.sample_every=0",
    "train.device=cpu",
    "train.threads=1",
]


@pytest.fixture(scope="module")
def cond_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "cond"
    assert main(["train", "--preset", "digits", *set_args(SETS), "--out", str(path), "--quiet"]) == 0
    return origan.load_run(path)


def _by_hand(run, y, generator):
    """G(z, y) with z drawn from ``generator`` after the classes, as the run draws them."""
    z = run.gan.prior.sample(len(y), generator=generator)
    return run.gan.G.eval()(z, y).detach()


def test_sample_with_one_class_by_index_or_name_and_with_a_label_per_sample(cond_run):
    x = cond_run.sample(6, seed=1, labels=3)
    assert torch.equal(x, _by_hand(cond_run, torch.full((6,), 3), torch.Generator().manual_seed(1)))
    assert torch.equal(cond_run.sample(6, seed=1, labels="3"), x)  # the class named "3" is class 3
    y = torch.tensor([0, 9, 4, 4, 1, 7])
    x2, y2 = cond_run.sample_with_labels(6, seed=2, labels=y.tolist())
    assert torch.equal(y2, y) and torch.equal(x2, _by_hand(cond_run, y, torch.Generator().manual_seed(2)))
    assert not torch.equal(cond_run.sample(6, seed=1, labels=4), x)  # another class, other samples


def test_sample_without_labels_draws_the_classes_from_the_training_frequencies(cond_run):
    counts = torch.tensor(cond_run.data_info.class_counts, dtype=torch.float32)
    assert len(counts) == 10 and (counts > 0).all()
    gen = torch.Generator().manual_seed(5)
    y = torch.multinomial(counts / counts.sum(), 300, replacement=True, generator=gen)
    x, y_run = cond_run.sample_with_labels(300, seed=5)
    assert torch.equal(y_run, y) and torch.equal(x, _by_hand(cond_run, y, gen))
    chunks = list(cond_run.sample_chunks(300, seed=5, chunk=64))  # chunk by chunk: the same samples
    assert len(chunks) == 4 and torch.equal(torch.cat(chunks), x)


def test_sample_per_class_gives_k_of_each_class_in_class_order(cond_run):
    x, y = cond_run.sample_per_class(3, seed=0)
    assert torch.equal(y, torch.arange(10).repeat_interleave(3))
    assert torch.equal(x, _by_hand(cond_run, y, torch.Generator().manual_seed(0)))


def _cli(run, *args):
    assert main(["sample", str(run.path), "--seed", "4", *args]) == 0


def test_every_output_form_keeps_the_classes(cond_run, tmp_path):
    x, y = cond_run.sample_per_class(2, seed=4)  # what `--per-class 2 --seed 4` draws
    names = cond_run.classes
    _cli(cond_run, "--per-class", "2", "--out", str(tmp_path / "s.npz"))
    with np.load(tmp_path / "s.npz", allow_pickle=False) as npz:
        assert np.array_equal(npz["x"], x.numpy()) and np.array_equal(npz["y"], y.numpy())
        assert npz["classes"].tolist() == names
    _cli(cond_run, "--per-class", "2", "--out", str(tmp_path / "s.csv"))
    with open(tmp_path / "s.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][-1] == "label" and len(rows) == 21
    assert [r[-1] for r in rows[1:]] == [names[i] for i in y]
    assert np.array_equal(np.array([[float(v) for v in r[:-1]] for r in rows[1:]]), x.reshape(20, -1).numpy())
    _cli(cond_run, "--per-class", "2", "--out", str(tmp_path / "s.png"))
    grid = np.asarray(Image.open(tmp_path / "s.png"))
    expected = image_grid(x, nrow=2, scale=14)[..., 0]  # 2 a row: row c holds class c
    assert np.array_equal(grid, expected)
    _cli(cond_run, "--per-class", "2", "--out", str(tmp_path / "pngs"))
    assert sorted(p.name for p in (tmp_path / "pngs").iterdir()) == sorted(names)
    images = to_uint8_images(x)[..., 0]
    for c, name in enumerate(names):
        files = sorted((tmp_path / "pngs" / name).glob("*.png"))
        assert [int(p.stem) for p in files] == [2 * c, 2 * c + 1]
        for p in files:
            assert np.array_equal(np.asarray(Image.open(p)), images[int(p.stem)])


def test_n_samples_of_a_conditional_run_keep_their_drawn_classes(cond_run, tmp_path):
    x, y = cond_run.sample_with_labels(12, seed=4)
    _cli(cond_run, "-n", "12", "--out", str(tmp_path / "s.npz"))
    with np.load(tmp_path / "s.npz") as npz:
        assert np.array_equal(npz["y"], y.numpy()) and np.array_equal(npz["x"], x.numpy())
    _cli(cond_run, "-n", "12", "--out", str(tmp_path / "s.png"))  # rows in class order
    order = torch.argsort(y, stable=True)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "s.png")), image_grid(x[order], scale=14)[..., 0])
    _cli(cond_run, "-n", "5", "--label", "7", "--out", str(tmp_path / "seven.npz"))
    with np.load(tmp_path / "seven.npz") as npz:
        assert npz["y"].tolist() == [7] * 5
        assert np.array_equal(npz["x"], cond_run.sample(5, seed=4, labels=7).numpy())
    _cli(cond_run, "-n", "5", "--label", "7", "--out", str(tmp_path / "seven.npy"))  # .npy: the samples alone
    assert np.array_equal(np.load(tmp_path / "seven.npy"), cond_run.sample(5, seed=4, labels=7).numpy())


def test_an_unconditional_run_writes_npz_with_x_alone(tmp_path):
    sets = ["train.steps=2", "generator.hidden=[8]", "discriminator.hidden=[8]", "train.sample_every=0"]
    assert main(["train", "--preset", "digits", *set_args(sets), "--out", str(tmp_path / "u"), "--quiet"]) == 0
    run = origan.load_run(tmp_path / "u")
    assert main(["sample", str(run.path), "-n", "7", "--out", str(tmp_path / "u.npz")]) == 0
    with np.load(tmp_path / "u.npz") as npz:
        assert list(npz.keys()) == ["x"] and np.array_equal(npz["x"], run.sample(7, seed=0).numpy())
    with pytest.raises(origan.errors.UserError, match="was trained unconditionally"):
        run.sample(3, labels=1)


def test_the_fixed_sample_figure_shows_the_classes_in_equal_blocks():
    from origan.training.session import class_blocks

    assert torch.equal(class_blocks(100, 10), torch.arange(10).repeat_interleave(10))  # one grid row per class
    y = class_blocks(64, 10)
    assert torch.equal(torch.unique(y), torch.arange(10)) and (y.diff() >= 0).all()
    assert torch.bincount(y).max() - torch.bincount(y).min() <= 1
