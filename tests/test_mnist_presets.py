"""The MNIST presets: the game they play, and each trains end to end from the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import origan
from helpers import set_args

SHORT = ["train.steps=3", "train.log_every=1", "train.sample_every=0", "train.batch_size=16", "train.threads=1"]


@pytest.mark.parametrize("preset", ["mnist", "mnist-cond"])
def test_the_game_is_the_papers_with_augmentation_and_an_average_of_g(preset):
    cfg = origan.load_config(preset)
    assert cfg.data.name == "mnist" and cfg.loss.generator == "nonsaturating"
    assert cfg.train.update == "alternating" and cfg.train.k == 1  # Algorithm 1
    assert cfg.train.augment == ("translation", "cutout") and cfg.train.ema == 0.999
    assert cfg.generator.name == cfg.discriminator.name == "dcgan" and cfg.generator.output_bias_from_data
    assert cfg.train.conditional == (preset == "mnist-cond")


def test_mnist_cond_trains_then_samples_every_class_from_the_command_line(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "origan"]
    train = [*cmd, "train", "--preset", "mnist-cond", *set_args(SHORT), "--out", str(run), "--quiet"]
    assert subprocess.run(train, capture_output=True, text=True).returncode == 0
    out = tmp_path / "digits.npz"
    done = subprocess.run(
        [*cmd, "sample", str(run), "--per-class", "3", "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    with np.load(out) as f:
        assert f["x"].shape == (30, 1, 28, 28) and f["y"].tolist() == [c for c in range(10) for _ in range(3)]
    assert origan.load_run(run).gan.G_ema is not None
