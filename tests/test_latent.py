"""Latent walks (origan interpolate) and the inference net (origan encode) on small real runs."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import origan
from helpers import TINY_TOY, set_args
from origan.cli import main
from origan.errors import CheckpointError, ConfigError
from origan.gan import GAN
from origan.latent.encoder import check_encoder, encode, encoder_path, fit_encoder, load_encoder, save_encoder
from origan.latent.walks import interpolate, path_points
from origan.metrics import evaluate
from origan.priors import NormalPrior

# ring8 (2-D Gaussian noise) trained a few hundred steps with 32-unit nets: seconds on one core
RING = [*set_args([*TINY_TOY, "generator.hidden=[32]", "discriminator.hidden=[32]", "train.steps=300"]), "--quiet"]
DIGITS = [*set_args(["train.steps=20", "train.sample_every=0", "generator.hidden=[32]", "discriminator.hidden=[32]",
                     "train.batch_size=32", "noise.dim=8"]), "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "ring"
    assert main(["train", "--preset", "ring8", *RING, "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "--preset", "digits", *DIGITS, "--out", str(path)]) == 0
    return path


# ---------------------------------------------------------------------------------------------------------
# Interpolation


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_walk_ends_are_exactly_g_of_the_drawn_noise(ring, method):
    run = origan.load_run(ring)
    walk = run.interpolate(rows=5, steps=7, seed=3, method=method)
    gen = torch.Generator().manual_seed(3)
    z0, z1 = run.gan.prior.sample(5, generator=gen), run.gan.prior.sample(5, generator=gen)
    assert walk.x.shape == (5, 7, 2) and walk.z.shape == (5, 7, 2)
    assert torch.equal(walk.z[:, 0], z0) and torch.equal(walk.z[:, -1], z1)
    assert torch.equal(walk.x[:, 0], run.gan.sample(5, z=z0))
    assert torch.equal(walk.x[:, -1], run.gan.sample(5, z=z1))
    inner = run.gan.sample(25, z=walk.z[:, 1:-1].reshape(-1, 2)).reshape(5, 5, 2)
    assert torch.equal(walk.x[:, 1:-1], inner)
    if method == "linear":
        t = torch.linspace(0, 1, 7)[None, :, None]
        torch.testing.assert_close(walk.z, (1 - t) * z0[:, None] + t * z1[:, None], rtol=0, atol=1e-6)


def test_slerp_follows_the_great_circle():
    e1, e2 = torch.tensor([[3.0, 0.0, 0.0]]), torch.tensor([[0.0, 3.0, 0.0]])
    t = torch.linspace(0, 1, 9)
    z = path_points(e1, e2, t, "slerp")[0]  # (9, 3)
    expected = 3 * torch.stack([torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2), torch.zeros(9)], 1)
    torch.testing.assert_close(z, expected, rtol=0, atol=1e-5)
    parallel = path_points(e1, 2 * e1, t, "slerp")[0]  # one direction: the chord
    torch.testing.assert_close(parallel, path_points(e1, 2 * e1, t, "linear")[0], rtol=0, atol=1e-6)


def test_slerp_needs_gaussian_noise(digits, tmp_path, capsys):
    with pytest.raises(ConfigError, match="needs Gaussian noise"):
        origan.load_run(digits).interpolate(method="slerp")
    assert main(["interpolate", str(digits), "--method", "slerp", "--out", str(tmp_path / "w.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["origan: error: --method slerp: needs Gaussian noise (noise.prior=normal); this run's prior is "
                   "uniform"]  # fmt: skip
    assert not (tmp_path / "w.png").exists()


def test_cli_writes_npy_gif_and_path_plot(ring, tmp_path):
    from PIL import Image

    for name in ("w.npy", "w.gif", "w.png"):
        assert main(["interpolate", str(ring), "--rows", "3", "--steps", "4", "--seed", "1", "--out",
                     str(tmp_path / name)]) == 0  # fmt: skip
    walk = origan.load_run(ring).interpolate(rows=3, steps=4, seed=1)
    assert np.array_equal(np.load(tmp_path / "w.npy"), walk.x.numpy())
    with Image.open(tmp_path / "w.gif") as gif:
        assert gif.n_frames == 4
    with Image.open(tmp_path / "w.png") as png:
        assert png.format == "PNG"


def test_image_walk_is_a_grid_one_walk_per_row(digits, tmp_path):
    from PIL import Image

    assert main(["interpolate", str(digits), "--rows", "3", "--steps", "5", "--out", str(tmp_path / "g.png")]) == 0
    scale = 112 // 8  # small images are enlarged (origan.io.export.save_grid_png); 2-pixel borders
    with Image.open(tmp_path / "g.png") as img:
        assert img.size == ((2 + 5 * (8 + 2)) * scale, (2 + 3 * (8 + 2)) * scale)
    assert main(["interpolate", str(digits), "--rows", "3", "--steps", "5", "--out", str(tmp_path / "g.gif")]) == 0
    with Image.open(tmp_path / "g.gif") as gif:
        assert gif.n_frames == 5


class _ConditionalG(nn.Module):
    """A stand-in conditional generator: G(z, y) = W z + 10 * onehot(y) (any net called G(z, y) would do)."""

    conditional = True
    n_classes = 3

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 3)

    def forward(self, z, y):
        return self.lin(z) + 10 * nn.functional.one_hot(y, 3).float()


def test_conditional_runs_walk_within_a_class_and_across_classes():
    torch.manual_seed(0)
    G = _ConditionalG()
    gan = GAN(G, nn.Linear(3, 1), NormalPrior(2))
    walk = interpolate(gan, None, rows=4, steps=5, seed=2, prior_name="normal")
    assert torch.equal(walk.labels, torch.tensor([0, 1, 2, 0])[:, None].expand(4, 5))
    with torch.no_grad():
        assert torch.equal(walk.x[:, 0], G(walk.z[:, 0], walk.labels[:, 0]))
        assert torch.equal(walk.x[:, -1], G(walk.z[:, -1], walk.labels[:, -1]))
    across = interpolate(gan, None, rows=2, seed=2, across_classes=True)
    z = NormalPrior(2).sample(2, generator=torch.Generator().manual_seed(2))
    assert across.x.shape == (2, 3, 3) and torch.equal(across.z, z[:, None].expand(2, 3, 2))
    with torch.no_grad():
        for c in range(3):
            torch.testing.assert_close(across.x[:, c], G(z, torch.full((2,), c)), rtol=0, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# The inference net


def test_encoder_recovers_the_noise_of_gs_own_samples(ring):
    run = origan.load_run(ring)
    E, history = fit_encoder(run, steps=600, seed=0)
    z = run.gan.prior.sample(2000, generator=torch.Generator().manual_seed(7))  # fresh draws, never trained on
    z_hat = encode(E, run.gan.sample(2000, z=z))
    sq = (z_hat - z).square().sum(1)  # (n,)
    # predicting E[z] = 0 would score E||z||^2 = 2 (2-D standard normal noise)
    assert float(sq.mean()) < 0.05, float(sq.mean())
    assert float(sq.median()) < 0.01, float(sq.median())
    assert history[-1]["step"] == 600
    check = check_encoder(run, E, n=500, seed=1)  # the numbers `origan encode --train` prints, on other draws
    assert check["z_sq_error"] < 0.05 and 1.5 < check["z_sq_norm"] < 2.5
    assert check["x_l2"] < 0.1 * check["x_l2_independent"]


def test_encoder_files_round_trip_and_cli_codes_equal_run_encode(ring, tmp_path, capsys):
    run_dir = tmp_path / "ring"
    import shutil

    shutil.copytree(ring, run_dir)
    assert main(["encode", str(run_dir), "--train", "--steps", "50", "--refine-real", "20"]) == 0
    manifest = json.loads(encoder_path(run_dir).read_text())
    assert manifest["encoder"]["options"]["refine_real"] == 20 and manifest["step"] == 300
    run = origan.load_run(run_dir)
    x = run.sample(40, seed=5)
    np.save(tmp_path / "x.npy", x.numpy())
    assert main(["encode", str(run_dir), "--in", str(tmp_path / "x.npy"), "--out", str(tmp_path / "z.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "z.npy"), run.encode(x).numpy())
    E, _ = fit_encoder(run, steps=50, seed=0)  # the same seed and steps: the same weights as before the refinement
    save_encoder(run, E, [], {})
    again = load_encoder(run)
    for k, v in E.state_dict().items():
        assert torch.equal(again.state_dict()[k], v)
    out = capsys.readouterr().out
    assert "wrote 40 codes of dimension 2" in out and "on 1000 fresh draws: mean ||E(G(z)) - z||^2" in out
    assert set(manifest["encoder"]["check"]) == {"z_sq_error", "z_sq_norm", "x_l2", "x_l2_independent", "n"}


def test_encoder_is_refused_once_g_trains_further(ring, tmp_path):
    import shutil

    run_dir = tmp_path / "ring"
    shutil.copytree(ring, run_dir)
    run = origan.load_run(run_dir)
    save_encoder(run, fit_encoder(run, steps=10)[0], [], {})
    origan.resume(run_dir, overrides={"train.steps": 310})
    with pytest.raises(CheckpointError, match="fitted to G at step 300, the run's G is now step 310"):
        origan.load_run(run_dir).encode(torch.zeros(1, 2))
    # the default metrics leave a stale encoder out (named, it is the error above)
    assert "reconstruction" not in evaluate(run_dir, metrics=None, n_samples=100, write=False)["metrics"]
    with pytest.raises(CheckpointError, match="fit it again"):
        evaluate(run_dir, metrics=["reconstruction"], n_samples=100, write=False)


def test_image_encoder_reads_a_folder_of_images(digits, tmp_path):
    import shutil

    from PIL import Image

    run_dir = tmp_path / "digits"
    shutil.copytree(digits, run_dir)
    assert main(["encode", str(run_dir), "--train", "--steps", "20"]) == 0
    run = origan.load_run(run_dir)
    assert load_encoder(run).spec.arch == "conv"
    x = run.sample(3, seed=0)  # (3, 1, 8, 8) in [0, 1]
    pixels = (x * 255).round().to(torch.uint8)
    (tmp_path / "in").mkdir()
    for i, img in enumerate(pixels):
        Image.fromarray(img[0].numpy(), mode="L").save(tmp_path / "in" / f"{i}.png")
    assert main(["encode", str(run_dir), "--in", str(tmp_path / "in"), "--out", str(tmp_path / "z.npy")]) == 0
    expected = run.encode(pixels.float() / 255)
    assert np.array_equal(np.load(tmp_path / "z.npy"), expected.numpy())
