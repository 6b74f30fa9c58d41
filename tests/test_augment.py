"""Differentiable augmentation (DiffAugment) and the moving average of G's weights: definitions, the game they
enter, checkpoints and exact resume."""

from __future__ import annotations

import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

import origan
from helpers import metric_rows, set_args
from origan.config import load_config
from origan.training.augment import DiffAugment
from origan.training.build import build_state
from origan.training.ema import update_ema
from origan.training.trainer import Trainer

DIGITS = [
    "data.name=digits", "generator.name=dcgan", "discriminator.name=dcgan", "generator.width=8",
    "discriminator.width=8", "noise.prior=normal", "noise.dim=8", "train.batch_size=16", "train.log_every=2",
    "train.sample_every=0", "train.threads=1",
]  # fmt: skip
AUG = ["train.augment=['translation', 'cutout', 'brightness', 'contrast']", "train.ema=0.9"]


def _cfg(*extra: str):
    return load_config("digits", overrides=[*DIGITS, *extra])


def _images(n=6, side=8, seed=0):
    return torch.rand(n, 1, side, side, generator=torch.Generator().manual_seed(seed))


def test_translation_is_a_zero_filled_shift_by_the_drawn_offsets():
    x = _images(side=16)
    out = DiffAugment(["translation"], torch.Generator().manual_seed(3))(x)
    g = torch.Generator().manual_seed(3)  # the same draws, by hand: dy then dx, each in [-2, 2] for side 16
    dy = torch.randint(-2, 3, (6, 1, 1), generator=g).flatten().tolist()
    dx = torch.randint(-2, 3, (6, 1, 1), generator=g).flatten().tolist()
    for i in range(6):
        want = torch.zeros(1, 16, 16)
        for r in range(16):
            for c in range(16):
                if 0 <= r + dy[i] < 16 and 0 <= c + dx[i] < 16:
                    want[0, r, c] = x[i, 0, r + dy[i], c + dx[i]]
        assert torch.equal(out[i], want), i
    assert len(set(zip(dy, dx, strict=True))) > 1  # the offsets differ between examples


def test_cutout_zeroes_one_half_side_square_per_image_and_keeps_the_rest():
    x = _images(side=12) + 1  # no zeros of its own
    out = DiffAugment(["cutout"], torch.Generator().manual_seed(5))(x)
    for i in range(len(x)):
        hole = out[i, 0] == 0
        rows, cols = hole.any(1).nonzero().flatten(), hole.any(0).nonzero().flatten()
        assert 1 <= len(rows) <= 6 and 1 <= len(cols) <= 6  # a 6x6 square, clipped at the borders
        assert hole.sum() == len(rows) * len(cols)  # a rectangle
        assert torch.equal(out[i, 0][~hole], x[i, 0][~hole])


def test_brightness_and_contrast_are_affine_per_image_and_gradients_flow():
    x = _images().requires_grad_(True)
    out = DiffAugment(["brightness", "contrast"], torch.Generator().manual_seed(1))(x)
    g = torch.Generator().manual_seed(1)
    shift = torch.rand(6, 1, 1, 1, generator=g) - 0.5
    factor = 1 + torch.rand(6, 1, 1, 1, generator=g) - 0.5
    b = x + shift
    want = (b - b.mean(dim=(1, 2, 3), keepdim=True)) * factor + b.mean(dim=(1, 2, 3), keepdim=True)
    torch.testing.assert_close(out, want, rtol=0, atol=1e-6)
    out.sum().backward()  # differentiable: d/dx of sum((x - m) f + m) = 1 per pixel
    torch.testing.assert_close(x.grad, torch.ones_like(x), rtol=0, atol=1e-5)


def test_probability_p_leaves_the_other_images_untouched():
    x = _images(n=400, side=8) + 1
    out = DiffAugment(["cutout"], torch.Generator().manual_seed(0), p=0.25)(x)
    changed = (out != x).flatten(1).any(1).float().mean().item()
    assert 0.17 < changed < 0.33  # 100 of 400 expected; binomial s.d. 8.7 images = 0.022


def test_d_sees_augmented_real_and_fake_images_in_both_steps():
    cfg = _cfg("train.steps=1", "train.augment=['cutout']")
    _, state, _ = build_state(cfg, torch.device("cpu"))
    seen = []
    state.gan.D.register_forward_pre_hook(lambda m, args: seen.append(args[0].detach().clone()))
    Trainer(cfg, state).fit()
    d_pass, g_pass = seen[0], seen[1]
    assert d_pass.shape[0] == 32 and g_pass.shape[0] == 16
    # cutout leaves a zero square in every image, real or generated (sigmoid outputs are never exactly 0)
    fakes_holed = [(img[0] == 0).sum() >= 2 * 2 for img in torch.cat([d_pass[16:], g_pass])]
    assert all(fakes_holed)


def test_ema_is_the_warmed_up_moving_average_and_copies_buffers():
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    avg = copy.deepcopy(model)
    before = [p.detach().clone() for p in avg.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        model[1].running_mean.fill_(7.0)
    update_ema(avg, model, decay=0.999, updates=5)
    beta = 6 / 15  # min(0.999, (1 + 5) / (10 + 5))
    for a, b0, p in zip(avg.parameters(), before, model.parameters(), strict=True):
        torch.testing.assert_close(a, beta * b0 + (1 - beta) * p, rtol=0, atol=1e-6)
    assert torch.equal(avg[1].running_mean, model[1].running_mean)
    update_ema(avg, model, decay=0.9, updates=10**6)  # late: beta = decay
    torch.testing.assert_close(
        next(avg.parameters()),
        0.9 * (beta * before[0] + (1 - beta) * next(model.parameters())) + 0.1 * next(model.parameters()),
        rtol=0,
        atol=1e-6,
    )


def test_samples_come_from_the_average_and_it_survives_the_checkpoint(tmp_path):
    run = origan.train(_cfg("train.steps=6", *AUG), out=tmp_path / "run")
    gan = run.gan
    assert gan.G_ema is not None
    assert any(not torch.equal(a, b) for a, b in zip(gan.G.parameters(), gan.G_ema.parameters(), strict=True))
    z = gan.noise(5, torch.Generator().manual_seed(0))
    gan.G_ema.eval()
    assert torch.equal(gan.sample(5, z=z), gan.G_ema(z))
    loaded = origan.load_run(tmp_path / "run")
    assert torch.equal(loaded.sample(5, seed=1), run.sample(5, seed=1))
    for a, b in zip(loaded.gan.G_ema.state_dict().values(), gan.G_ema.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_resume_with_augmentation_and_average_is_bit_exact(tmp_path):
    full = _cfg("train.steps=10", "train.checkpoint_every=4", "train.augment_p=0.5", *AUG)
    origan.train(full, out=tmp_path / "full")
    origan.train(full.replace(**{"train.steps": 4}), out=tmp_path / "part")
    origan.resume(tmp_path / "part", overrides={"train.steps": 10})
    assert metric_rows(tmp_path / "full") == metric_rows(tmp_path / "part")
    a, b = origan.load_run(tmp_path / "full"), origan.load_run(tmp_path / "part")
    for (k, v), (k2, v2) in zip(a.gan.state_dict().items(), b.gan.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2), k


def test_off_by_default_and_the_unaugmented_game_is_unchanged(tmp_path):
    plain = _cfg("train.steps=4")
    assert plain.train.augment == () and plain.train.ema == 0.0
    a = origan.train(plain, out=tmp_path / "a")
    assert a.gan.augment is None and a.gan.G_ema is None
    b = origan.train(_cfg("train.steps=4", "train.ema=0.5"), out=tmp_path / "b")  # the average draws nothing
    assert metric_rows(tmp_path / "a") == metric_rows(tmp_path / "b")
    for v, w in zip(a.gan.G.state_dict().values(), b.gan.G.state_dict().values(), strict=True):
        assert torch.equal(v, w)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("train.augment=['flip']", "train.augment: expected distinct names among translation, cutout"),
        ("train.augment_p=0", "train.augment_p: expected a probability in (0, 1]"),
        ("train.ema=1", "train.ema: expected a decay in [0, 1)"),
    ],
)
def test_bad_settings_are_one_line_errors(tmp_path, override, message):
    args = ["train", "--preset", "digits", *set_args([override]), "--out", str(tmp_path / "r"), "--dry-run"]
    done = subprocess.run([sys.executable, "-m", "origan", *args], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and message in done.stderr, done.stderr


def test_augmenting_data_that_are_not_images_is_refused(tmp_path):
    args = ["train", "--preset", "ring8", *set_args(["train.augment=['cutout']"]), "--out", str(tmp_path / "r")]
    done = subprocess.run([sys.executable, "-m", "origan", *args], capture_output=True, text=True)
    assert done.returncode == 2 and "train.augment: augmentations act on images" in done.stderr, done.stderr
    assert not (tmp_path / "r").exists()
