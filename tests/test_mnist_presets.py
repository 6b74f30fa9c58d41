"""The MNIST presets: the game they play, and each trains end to end from the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import origan
from helpers import set_args
from origan.config import to_dict

SHORT = [
    "train.steps=3",
    "train.log_every=1",
    "train.sample_every=0",
    "train.batch_size=16",
    "train.threads=1",
    "generator.hidden=[64, 64]",
    "discriminator.hidden=[32, 32]",
]


@pytest.mark.parametrize("preset", ["mnist", "mnist-cond"])
def test_the_papers_game_nets_and_budget_sampled_from_an_average_of_g(preset):
    cfg, paper = origan.load_config(preset), origan.load_config("paper-mnist")
    assert cfg.train.ema == 0.999 and paper.train.ema == 0.0 and cfg.train.augment == ()
    assert cfg.train.conditional == (preset == "mnist-cond")
    assert cfg.train.autocast == "auto" and paper.train.autocast == "none"  # bf16 matmuls where the CPU has them
    same = {**to_dict(cfg)}
    same["train"] = {k: v for k, v in same["train"].items() if k not in ("ema", "conditional", "autocast")}
    theirs = to_dict(paper)
    theirs["train"] = {k: v for k, v in theirs["train"].items() if k not in ("ema", "conditional", "autocast")}
    assert same == theirs  # everything else is paper-mnist's: data, nets, G cost, SGD schedule, update, budget


CONV_SHORT = [*SHORT[:5], "generator.width=8", "discriminator.width=8"]


@pytest.mark.parametrize(("preset", "short"), [("mnist-cond", SHORT), ("mnist-conv-cond", CONV_SHORT)])
def test_the_conditional_presets_train_then_sample_every_class_from_the_command_line(tmp_path, preset, short):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "origan"]
    train = [*cmd, "train", "--preset", preset, *set_args(short), "--out", str(run), "--quiet"]
    done = subprocess.run(train, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "digits.npz"
    done = subprocess.run(
        [*cmd, "sample", str(run), "--per-class", "3", "--out", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    with np.load(out) as f:
        assert f["x"].shape == (30, 1, 28, 28) and f["y"].tolist() == [c for c in range(10) for _ in range(3)]
    assert origan.load_run(run).gan.G_ema is not None


@pytest.mark.parametrize("preset", ["mnist-conv", "mnist-conv-cond"])
def test_the_conv_presets_play_algorithm_1_with_dcgan_nets_and_an_average_of_g(preset):
    cfg = origan.load_config(preset)
    assert (cfg.generator.name, cfg.discriminator.name, cfg.generator.width) == ("dcgan", "dcgan", 128)
    assert (cfg.train.update, cfg.train.k, cfg.loss.generator) == ("alternating", 1, "nonsaturating")
    assert cfg.train.ema == 0.999 and cfg.train.autocast == "auto" and cfg.noise.prior == "uniform"
    assert (cfg.optim_g.name, cfg.optim_g.lr, cfg.optim_g.beta1, cfg.optim_g.beta2) == ("adam", 1e-3, 0.0, 0.9)
    assert cfg.optim_d == cfg.optim_g
    assert (cfg.discriminator.dense, cfg.discriminator.spectral_norm) == (256, True)
    assert cfg.train.conditional  # mnist-conv on 20 k-means clusters of the digits, mnist-conv-cond on the labels
    assert cfg.train.clusters == (20 if preset == "mnist-conv" else 0)
    assert cfg.discriminator.logit_scale == 1.0
    same = to_dict(cfg)
    same["train"]["clusters"] = 0
    assert same == to_dict(origan.load_config("mnist-conv-cond"))  # the clusters are the one difference


def test_dcgan_folder_takes_the_conv_recipe_at_dcgan_width_and_64_pixels():
    cfg = origan.load_config("dcgan-folder", overrides=["data.path=photos"])
    conv = origan.load_config("mnist-conv")
    assert (cfg.data.name, cfg.data.image_size, cfg.generator.width, cfg.discriminator.width) == ("folder", 64, 64, 64)
    assert (cfg.optim_g, cfg.optim_d, cfg.noise.prior) == (conv.optim_g, conv.optim_d, "uniform")
    assert (cfg.train.ema, cfg.train.autocast, cfg.train.steps, cfg.discriminator.dense) == (0.999, "auto", 5000, 0)
