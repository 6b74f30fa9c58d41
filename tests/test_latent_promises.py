"""The promises of `origan interpolate` and `origan encode`: G's moving average is the generator they use, and
every hostile input is one line on stderr, exit code 2, no traceback, checked before any work, nothing lost."""

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import origan
from helpers import TINY_TOY, set_args
from origan.cli import main
from origan.errors import CheckpointError, ConfigError, OptionError
from origan.gan import GAN
from origan.latent.encoder import check_encoder, encoder_path, fit_encoder, generator_sha256, load_encoder, save_encoder
from origan.priors import NormalPrior

QUIET = ["--quiet"]
RING = set_args([*TINY_TOY, "train.ema=0.9", "train.steps=60"])
DIGITS = set_args(["train.steps=4", "train.sample_every=0", "generator.hidden=[16]", "discriminator.hidden=[16]",
                   "train.batch_size=16", "noise.dim=8", "train.ema=0.9"])  # fmt: skip


def _train(path, preset, *overrides):
    assert main(["train", "--preset", preset, *overrides, *QUIET, "--out", str(path)]) == 0
    return path


@pytest.fixture(scope="module")
def ring(tmp_path_factory):
    """A ring8 run keeping G's moving average (train.ema=0.9), with a fitted encoder."""
    path = _train(tmp_path_factory.mktemp("runs") / "ring", "ring8", *RING)
    assert main(["encode", str(path), "--train", "--steps", "30", "--refine-real", "5"]) == 0
    return path


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """An 8x8 digits run keeping G's moving average (no encoder)."""
    return _train(tmp_path_factory.mktemp("runs") / "digits", "digits", *DIGITS)


@pytest.fixture(scope="module")
def cond(tmp_path_factory):
    """A class-conditional 8x8 digits run keeping G's moving average."""
    return _train(tmp_path_factory.mktemp("runs") / "cond", "digits", *DIGITS, *set_args(["train.conditional=true"]))


def _raw_g(gan, z, y=None):
    """The trained G itself (not its average), in eval mode."""
    was = gan.G.training
    gan.G.eval()
    try:
        with torch.no_grad():
            return gan.G(z) if y is None else gan.G(z, y)
    finally:
        gan.G.train(was)


# ---------------------------------------------------------------------------------------------------------
# GAN.generate: the one way to run G


class _Doubler(nn.Module):
    def __init__(self, conditional=False):
        super().__init__()
        self.conditional = conditional
        self.lin = nn.Linear(2, 3)
        self.drop = nn.Dropout(0.5)

    def forward(self, z, y=None):
        out = self.drop(self.lin(z))
        return out if y is None else out + y[:, None].float()


def test_generate_runs_the_average_in_eval_mode_with_batches_and_restores_everything():
    torch.manual_seed(0)
    gan = GAN(_Doubler(), nn.Linear(3, 1), NormalPrior(2))
    gan.G_ema = _Doubler()
    gan.G_ema.requires_grad_(False)
    gan.train()
    z = torch.randn(10, 2)
    x = gan.generate(z, batch_size=3)
    with torch.no_grad():
        assert torch.equal(x, gan.G_ema.lin(z))  # the average, dropout off
        assert not torch.allclose(x, gan.G.lin(z))
    assert torch.equal(gan.sample(10, z=z), x)
    assert gan.G.training and gan.G_ema.training and not x.requires_grad
    assert gan.generate(z[:0]).shape == (0, 3)
    # grad=True: the graph reaches z, never G's weights; their flags come back as they were
    gan.G_ema = None
    zg = z.clone().requires_grad_(True)
    gan.generate(zg, grad=True).sum().backward()
    assert zg.grad is not None and all(p.grad is None for p in gan.G.parameters())
    assert all(p.requires_grad for p in gan.G.parameters()) and gan.G.training


def test_generate_gives_a_conditional_g_its_classes_and_an_unconditional_one_none():
    gan = GAN(_Doubler(conditional=True), nn.Linear(3, 1), NormalPrior(2))
    z, y = torch.randn(4, 2), torch.tensor([0, 1, 2, 3])
    with pytest.raises(ValueError, match="needs the class"):
        gan.generate(z)
    with torch.no_grad():
        assert torch.equal(gan.generate(z, y), gan.G.lin(z) + y[:, None].float())
    plain = GAN(_Doubler(), nn.Linear(3, 1), NormalPrior(2))
    assert torch.equal(plain.generate(z, y), plain.generate(z))


def test_thread_probe_times_the_training_g_not_its_average():
    from origan.training.speed import _pass_probe

    gan = GAN(_Doubler(conditional=True), nn.Linear(3, 1), NormalPrior(2))
    gan.G_ema = _Doubler(conditional=True)
    calls = {"G": 0}
    gan.G_ema.forward = lambda *a: pytest.fail("the probe ran G's average")
    real = gan.G.forward
    gan.G.forward = lambda *a: calls.__setitem__("G", calls["G"] + 1) or real(*a)
    gan.train()
    _pass_probe(gan, (5, 3))()
    assert calls["G"] == 1 and gan.G.training and gan.D.training
    _pass_probe(gan, (5, 3), backward=True)()  # the timed passes (forward and backward) too
    assert calls["G"] == 2 and gan.G.training and gan.D.training


# ---------------------------------------------------------------------------------------------------------
# Walks, the encoder and the metrics use the average


def test_walk_ends_are_samples_of_the_average_not_of_the_raw_g(ring):
    run = origan.load_run(ring)
    assert run.gan.G_ema is not None and run.gan.sampler is run.gan.G_ema
    walk = run.interpolate(rows=4, steps=5, seed=9)
    gen = torch.Generator().manual_seed(9)
    z0, z1 = run.gan.prior.sample(4, generator=gen), run.gan.prior.sample(4, generator=gen)
    assert torch.equal(walk.x[:, 0], run.gan.sample(4, z=z0)) and torch.equal(walk.x[:, -1], run.gan.sample(4, z=z1))
    with torch.no_grad():
        assert torch.equal(walk.x[:, 0], run.gan.G_ema.eval()(z0))
    assert not torch.equal(walk.x[:, 0], _raw_g(run.gan, z0))


def test_walk_across_classes_uses_the_average(cond):
    run = origan.load_run(cond)
    walk = run.interpolate(rows=2, seed=1, across_classes=True)  # (2, 10, 1, 8, 8)
    z = run.gan.prior.sample(2, generator=torch.Generator().manual_seed(1))
    zs, ys = z.repeat_interleave(10, 0), torch.arange(10).repeat(2)  # the walk's batch: rows x classes
    with torch.no_grad():
        assert torch.equal(walk.x.reshape(20, 1, 8, 8), run.gan.G_ema.eval()(zs, ys))
    assert not torch.equal(walk.x.reshape(20, 1, 8, 8), _raw_g(run.gan, zs, ys))  # the same batch through G
    for c in (0, 7):
        y = torch.full((2,), c)
        # GAN.sample of that column alone: G's average on a batch of 2, whose sums some CPUs' kernels split
        # otherwise (AVX-512 GEMMs block by batch size): equal to float32 rounding of 16-unit layers
        torch.testing.assert_close(walk.x[:, c], run.gan.sample(2, z=z, y=y), rtol=0, atol=1e-6)


def test_two_step_walk_is_its_two_ends(ring, tmp_path):
    assert main(["interpolate", str(ring), "--rows", "3", "--steps", "2", "--out", str(tmp_path / "w.npy")]) == 0
    walk = origan.load_run(ring).interpolate(rows=3, steps=2)
    assert walk.x.shape == (3, 2, 2) and np.array_equal(np.load(tmp_path / "w.npy"), walk.x.numpy())


def test_encoder_is_fitted_checked_and_stored_against_the_average(ring, monkeypatch):
    run = origan.load_run(ring)
    calls = {"ema": 0}
    ema_forward = run.gan.G_ema.forward
    monkeypatch.setattr(run.gan.G, "forward", lambda *a: pytest.fail("the encoder ran the raw G"))
    monkeypatch.setattr(
        run.gan.G_ema, "forward", lambda *a: calls.__setitem__("ema", calls["ema"] + 1) or ema_forward(*a)
    )
    E, _ = fit_encoder(run, steps=20, refine_real=3, batch_size=16, seed=2)
    assert calls["ema"] == 23
    assert all(p.requires_grad for p in run.gan.G.parameters())  # the refinement froze G only for its passes
    check = check_encoder(run, E, n=50, seed=3)
    monkeypatch.undo()
    from origan.seeding import derive_seed

    gen = torch.Generator().manual_seed(derive_seed(3, "encoder-check"))
    z = run.gan.prior.sample(50, generator=gen)
    with torch.no_grad():
        z_hat = E(run.gan.G_ema(z))
    assert check["z_sq_error"] == pytest.approx(float((z_hat.double() - z.double()).square().sum(1).mean()))
    # the stored encoder names the average and hashes its weights: G's own weights do not make it stale
    manifest = json.loads(encoder_path(ring).read_text())["encoder"]
    assert manifest["generator"] == "G_ema" and manifest["generator_sha256"] == generator_sha256(run)
    with torch.no_grad():
        next(run.gan.G.parameters()).add_(1.0)
    load_encoder(run)
    with torch.no_grad():
        next(run.gan.G_ema.parameters()).add_(1.0)
    with pytest.raises(CheckpointError, match="other generator weights than the run's G_ema"):
        load_encoder(run)


def test_reconstruction_metric_runs_the_average(ring):
    from origan.data import build_dataset
    from origan.metrics import evaluate

    run = origan.load_run(ring)
    r = evaluate(run, metrics=["reconstruction"], n_samples=10, write=False)["metrics"]["reconstruction"]
    x = build_dataset(run.config.data).test.float()
    with torch.no_grad():
        rec = run.gan.G_ema.eval()(run.encode(x))
    err = (x.double() - rec.double()).flatten(1).square().sum(1).sqrt()
    assert r["l2_mean"] == pytest.approx(float(err.mean()), rel=1e-12)


def test_semi_metric_takes_the_encoder_of_the_average_and_leaves_a_stale_one_out(ring, monkeypatch):
    from origan.metrics import MetricContext, semi

    seen = {}
    monkeypatch.setattr(semi, "semi_supervised", lambda ref, features, *a: seen.update(features) or {})
    run = origan.load_run(ring)
    semi.semi_metric(None, None, MetricContext(run=run))
    x = torch.randn(5, 2)
    with torch.no_grad():
        assert torch.equal(seen["E"](x), load_encoder(run).features(x))
    seen.clear()
    with torch.no_grad():
        next(run.gan.G_ema.parameters()).add_(1.0)  # the average changed: the encoder is stale
    semi.semi_metric(None, None, MetricContext(run=run))
    assert set(seen) == {"raw", "D"}


# ---------------------------------------------------------------------------------------------------------
# Hostile inputs: one line, exit 2, no traceback, checked before any work, nothing written or lost


def _fifo(path):
    os.mkfifo(path)
    return path


def _npy(path, arr):
    np.save(path, np.asarray(arr, dtype=np.float32))
    return path


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def _digest(*roots):
    """SHA-256 of every regular file under ``roots`` (files or folders), by path."""
    out = {}
    for root in roots:
        paths = [root] if root.is_file() else sorted(root.rglob("*")) if root.is_dir() else []
        for p in paths:
            if p.is_file():
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _walk(run, t, *extra, out="w.npy"):
    return ["interpolate", str(run), "--out", str(t / out), *extra]


def _enc(run, t, *extra):
    return ["encode", str(run), *extra]


def _code_io(t, inp):
    return ["--in", str(inp), "--out", str(t / "z.npy")]


def _cond_rows(t, runs):
    return _walk(runs["cond"], t, "--across-classes", "--rows", str(10**8))


def _in_folder_with_bad_image(t, runs):
    (t / "imgs").mkdir()
    (t / "imgs" / "a.png").write_bytes(b"not a png at all")
    return _enc(runs["digits_copy"], t, "--train", "--steps", "1", *_code_io(t, t / "imgs"))


def _in_folder_empty(t, runs):
    (t / "imgs").mkdir()
    (t / "imgs" / "notes.txt").write_text("no images here")
    _fifo(t / "imgs" / "pipe.png")  # a pipe named like an image is not an image file
    return _enc(runs["digits_copy"], t, "--train", "--steps", "1", *_code_io(t, t / "imgs"))


def _encoder_folder_a_file(t, runs):
    run = _copy(runs["digits"], t / "run")
    (run / "encoder").write_text("a file where the encoder folder goes")
    return _enc(run, t, "--train", "--steps", "1")


def _encoder_manifest_a_folder(t, runs):
    run = _copy(runs["digits"], t / "run")
    (run / "encoder" / "encoder.json").mkdir(parents=True)
    return _enc(run, t, "--train", "--steps", "1")


# name -> (argv(tmp, runs), the fragment of the one line that names what is wrong)
CASES = {
    # interpolate: numbers
    "walk rows 0": (
        lambda t, r: _walk(r["ring"], t, "--rows", "0"),
        "--rows: expected a positive number of rows, got 0",
    ),
    "walk rows negative": (lambda t, r: _walk(r["ring"], t, "--rows", "-3"), "--rows: expected a positive number"),
    "walk one step": (lambda t, r: _walk(r["ring"], t, "--steps", "1"), "--steps: expected an integer >= 2"),
    "walk zero steps": (lambda t, r: _walk(r["ring"], t, "--steps", "0"), "--steps: expected an integer >= 2"),
    "walk negative seed": (
        lambda t, r: _walk(r["ring"], t, "--seed", "-1"),
        "--seed: expected an integer in [0, 2**63",
    ),
    "walk seed 2**63": (lambda t, r: _walk(r["ring"], t, "--seed", str(2**63)), "--seed: expected an integer in [0, 2"),
    "walk seed of 40 digits": (lambda t, r: _walk(r["ring"], t, "--seed", "9" * 40), "--seed: expected an integer"),
    # interpolate: sizes
    "walk over the byte budget": (
        lambda t, r: _walk(r["ring"], t, "--rows", "100000", "--steps", "100000"),
        "--rows x --steps: 10,000,000,000 walk points would take",
    ),
    "walk rows of 30 digits": (lambda t, r: _walk(r["ring"], t, "--rows", "9" * 30), "--rows x --steps: a number of"),
    "across classes over the byte budget": (_cond_rows, "--rows x classes: 1,000,000,000 walk points would take"),
    "gif frame taller than GIF allows": (
        lambda t, r: _walk(r["digits"], t, "--rows", "3760", "--steps", "2", out="w.gif"),
        "w.gif: a GIF frame of 1,148 x 65,828 pixels for --rows 3760 x 2 columns; the format holds at most 65,535",
    ),
    "gif of 2-D paths over the byte budget": (
        lambda t, r: _walk(r["ring"], t, "--rows", "2", "--steps", "100000", out="w.gif"),
        "--rows x --steps: 20,250,000,000 pixels of w.gif would take",
    ),
    "png grid over the byte budget": (
        lambda t, r: _walk(r["digits"], t, "--rows", "3000", "--steps", "3000", out="w.png"),
        "--rows x --steps: 176,423,520,784 pixels of w.png would take",
    ),
    # interpolate: the output path
    "walk to an unknown file type": (
        lambda t, r: _walk(r["ring"], t, out="w.txt"),
        "w.txt: unknown output type '.txt'",
    ),
    "walk to no suffix": (lambda t, r: _walk(r["ring"], t, out="walk"), "walk: unknown output type (no suffix)"),
    "walk into a missing folder": (lambda t, r: _walk(r["ring"], t, out="nope/w.png"), "the folder"),
    "walk onto a folder": (lambda t, r: (t / "d.png").mkdir() or _walk(r["ring"], t, out="d.png"), "d.png: a folder"),
    "walk onto a pipe": (lambda t, r: _fifo(t / "p.npy") and _walk(r["ring"], t, out="p.npy"), "p.npy: not a regular"),
    "walk to an unknown user's home": (
        lambda t, r: ["interpolate", str(r["ring"]), "--out", "~nosuchuser-origan/w.png"],
        "--out: ~nosuchuser-origan/w.png: cannot expand '~nosuchuser-origan' (no such user or home folder)",
    ),
    "walk to a path with a NUL byte": (
        lambda t, r: ["interpolate", str(r["ring"]), "--out", str(t / "w\0.npy")],
        "a path cannot hold a NUL byte",
    ),
    "walk to a name too long": (lambda t, r: _walk(r["ring"], t, out="w" * 250 + ".npy"), "the file name is too long"),
    # encode: numbers
    "encode negative steps": (lambda t, r: _enc(r["ring"], t, "--train", "--steps", "-1"), "--steps: expected an"),
    "encode no steps at all": (
        lambda t, r: _enc(r["ring"], t, "--train", "--steps", "0"),
        "--steps: expected a positive number of steps, got 0 (0 only with --refine-real N",
    ),
    "encode steps over the bound": (
        lambda t, r: _enc(r["ring"], t, "--train", "--steps", str(10**10)),
        "--steps: expected an integer in [0, 1,000,000,000], got 10000000000",
    ),
    "encode negative refine": (lambda t, r: _enc(r["ring"], t, "--train", "--refine-real", "-2"), "--refine-real:"),
    "encode batch 0": (lambda t, r: _enc(r["ring"], t, "--train", "--batch-size", "0"), "--batch-size: expected a"),
    "encode batch over the byte budget": (
        lambda t, r: _enc(r["ring"], t, "--train", "--batch-size", str(10**12)),
        "--batch-size: 1,000,000,000,000 examples per step would take",
    ),
    "encode lr 0": (lambda t, r: _enc(r["ring"], t, "--train", "--lr", "0"), "--lr: expected a finite learning rate"),
    "encode lr nan": (lambda t, r: _enc(r["ring"], t, "--train", "--lr", "nan"), "--lr: expected a finite learning"),
    "encode lr inf": (lambda t, r: _enc(r["ring"], t, "--train", "--lr", "inf"), "--lr: expected a finite learning"),
    "encode negative seed": (lambda t, r: _enc(r["ring"], t, "--train", "--seed", "-1"), "--seed: expected an integer"),
    "encode seed 2**63": (lambda t, r: _enc(r["ring"], t, "--train", "--seed", str(2**63)), "--seed: expected an"),
    # encode: the encoder's folder, refused before E trains
    "encoder folder is a file": (_encoder_folder_a_file, "encoder: exists and is not a folder"),
    "encoder manifest is a folder": (_encoder_manifest_a_folder, "encoder.json: a folder; expected a file"),
    # encode: --in
    "codes of a pipe": (
        lambda t, r: _enc(r["ring"], t, *_code_io(t, _fifo(t / "x.npy"))),
        "x.npy: a device, pipe or socket, not a regular file",
    ),
    "codes of a missing file": (lambda t, r: _enc(r["ring"], t, *_code_io(t, t / "no.npy")), "no.npy: no such file"),
    "codes of NaN": (
        lambda t, r: _enc(r["ring"], t, *_code_io(t, _npy(t / "x.npy", [[0, 1], [2, np.nan]]))),
        "x.npy: non-finite value nan at index (1, 1)",
    ),
    "codes of inf": (
        lambda t, r: _enc(r["ring"], t, *_code_io(t, _npy(t / "x.npy", [[np.inf, 1]]))),
        "x.npy: non-finite value inf at index (0, 0)",
    ),
    "codes of no examples": (
        lambda t, r: _enc(r["ring"], t, *_code_io(t, _npy(t / "x.npy", np.zeros((0, 2))))),
        "x.npy: holds no examples",
    ),
    "codes of the wrong shape": (
        lambda t, r: _enc(r["ring"], t, *_code_io(t, _npy(t / "x.npy", np.zeros((3, 5))))),
        "x.npy: expected an array of shape (n, 2), got [3, 5]",
    ),
    "codes of a text file": (
        lambda t, r: (t / "x.txt").write_text("1 2") and _enc(r["ring"], t, *_code_io(t, t / "x.txt")),
        "x.txt: unknown input type '.txt'",
    ),
    "codes of a .npy that is not one": (
        lambda t, r: (t / "x.npy").write_text("1 2") and _enc(r["ring"], t, *_code_io(t, t / "x.npy")),
        "x.npy: not a .npy or .npz file",
    ),
    "codes of a folder with a broken image": (_in_folder_with_bad_image, "a.png: not a readable image"),
    "codes of a folder without images": (_in_folder_empty, "imgs: no images"),
    "codes of an unknown user's file": (
        lambda t, r: _enc(r["ring"], t, "--in", "~nosuchuser-origan/x.npy", "--out", str(t / "z.npy")),
        "--in: ~nosuchuser-origan/x.npy: cannot expand",
    ),
    "codes of a path with a NUL byte": (
        lambda t, r: _enc(r["ring"], t, "--in", "x\0.npy", "--out", str(t / "z.npy")),
        "--in: 'x\\x00.npy': a path cannot hold a NUL byte",
    ),
    # encode: --out, checked before anything is trained or encoded
    "codes to a png": (
        lambda t, r: _enc(
            r["digits_copy"], t, "--train", "--in", str(_npy(t / "x.npy", [[0, 1]])), "--out", str(t / "z.png")
        ),
        "z.png: unknown output type '.png'; expected .npy",
    ),
    "codes into a missing folder": (
        lambda t, r: _enc(r["ring"], t, "--in", str(_npy(t / "x.npy", [[0, 1]])), "--out", str(t / "no" / "z.npy")),
        "does not exist; expected a place for the codes",
    ),
    "codes onto a folder": (
        lambda t, r: (t / "z.npy").mkdir() or _enc(r["ring"], t, *_code_io(t, _npy(t / "x.npy", [[0, 1]]))),
        "z.npy: a folder",
    ),
    "codes to an unknown user's home": (
        lambda t, r: _enc(r["ring"], t, "--in", str(_npy(t / "x.npy", [[0, 1]])), "--out", "~nosuchuser-origan/z.npy"),
        "--out: ~nosuchuser-origan/z.npy: cannot expand",
    ),
    # a failed `encode --train` leaves the stored encoder as it was
    "refit with bad input keeps the encoder": (
        lambda t, r: _enc(r["ring"], t, "--train", "--steps", "5", *_code_io(t, _npy(t / "x.npy", [[np.nan, 0]]))),
        "x.npy: non-finite value nan at index (0, 0)",
    ),
}


@pytest.fixture(scope="module")
def runs(ring, digits, cond, tmp_path_factory):
    # a copy that an `encode --train` could write into, were a check to let it through
    return {
        "ring": ring,
        "digits": digits,
        "cond": cond,
        "digits_copy": _copy(digits, tmp_path_factory.mktemp("c") / "d"),
    }


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_latent_input_is_one_line_exit_2_before_any_work(name, runs, tmp_path, capsys, monkeypatch):
    import origan.latent.encoder as inference

    monkeypatch.setattr(inference, "fit_encoder", lambda *a, **k: pytest.fail("E trained before the check"))
    monkeypatch.setattr(GAN, "generate", lambda *a, **k: pytest.fail("G ran before the check"))
    setup, fragment = CASES[name]
    argv = setup(tmp_path, runs)
    guarded = [runs["ring"], runs["digits"], runs["cond"], runs["digits_copy"], tmp_path]
    before = _digest(*guarded)
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (name, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("origan: error: "), err
    assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in err
    assert _digest(*guarded) == before  # nothing written (a new file would show), nothing changed


def test_api_checks_what_the_cli_checks(ring):
    run = origan.load_run(ring)
    for kwargs, match in [
        ({"rows": 0}, "--rows: expected a positive number of rows, got 0"),
        ({"rows": True}, "--rows: expected a positive number of rows, got True"),
        ({"steps": 1}, "--steps: expected an integer >= 2"),
        ({"steps": 2.0}, "--steps: expected an integer >= 2"),
        ({"seed": 2**63}, r"--seed: expected an integer in \[0, 2\*\*63 - 1\]"),
        ({"rows": 10**6, "steps": 10**6}, "--rows x --steps: 1,000,000,000,000 walk points"),
    ]:
        with pytest.raises(OptionError, match=match):
            run.interpolate(**kwargs)
    with pytest.raises(ConfigError, match="--method: expected one of linear, slerp"):
        run.interpolate(method="spline")
    for kwargs, match in [
        ({"steps": -1}, "--steps: expected an integer in"),
        ({"steps": 0}, "--steps: expected a positive number of steps, got 0"),
        ({"batch_size": 0}, "--batch-size"),
        ({"lr": float("nan")}, "--lr"),
        ({"seed": -1}, "--seed"),
        ({"refine_real": 1.5}, "--refine-real"),
    ]:
        with pytest.raises(OptionError, match=match):
            fit_encoder(run, **kwargs)
    _, history = fit_encoder(run, steps=0, refine_real=3, batch_size=8)  # E fitted on real data alone
    assert [(h["phase"], h["step"]) for h in history] == [(1.0, 3.0)]


def test_tilde_is_expanded_for_the_output(ring, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["interpolate", str(ring), "--rows", "2", "--steps", "3", "--out", "~/w.npy"]) == 0
    assert np.load(tmp_path / "w.npy").shape == (2, 3, 2)


def test_png_side_limit_is_checked_before_anything_is_drawn(digits, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("ORIGAN_MAX_DATA_BYTES", "2T")  # the budget allows it: the format does not
    monkeypatch.setattr(GAN, "generate", lambda *a, **k: pytest.fail("G ran before the check"))
    assert (
        main(["interpolate", str(digits), "--rows", "1", "--steps", str(16 * 10**6), "--out", str(tmp_path / "w.png")])
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"origan: error: {tmp_path / 'w.png'}: a PNG of 2,240,000,028 x 168 pixels for --rows 1 x 16000000 "
                   "columns; the format holds at most 2,147,483,647 pixels a side (use .npy)"]  # fmt: skip
    assert not any(tmp_path.iterdir())


def test_a_failed_walk_leaves_an_existing_output_as_it_was(ring, tmp_path, capsys):
    out = tmp_path / "w.npy"
    out.write_bytes(b"precious")
    assert main(["interpolate", str(ring), "--rows", "100000", "--steps", "100000", "--out", str(out)]) == 2
    assert out.read_bytes() == b"precious" and sorted(p.name for p in tmp_path.iterdir()) == ["w.npy"]


def test_a_failed_save_leaves_the_stored_encoder_byte_identical(ring, tmp_path, monkeypatch):
    run_dir = _copy(ring, tmp_path / "ring")
    before = _digest(run_dir)
    run = origan.load_run(run_dir)
    E, history = fit_encoder(run, steps=3, seed=5)
    real_replace = os.replace

    def failing(src, dst):  # the manifest's move into place fails after the tensor file's
        if Path(dst).name == "encoder.json" and Path(dst).parent.name == "encoder":
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(CheckpointError, match="cannot write the encoder .No space left on device.; the stored"):
        save_encoder(run, E, history, {})
    monkeypatch.undo()
    assert _digest(run_dir) == before and not list((run_dir / "encoder").glob(".*"))
    load_encoder(run)  # intact, and still the one of this G
    save_encoder(run, E, history, {})  # a save that succeeds replaces both files, leaving nothing else
    assert sorted(p.name for p in (run_dir / "encoder").iterdir()) == ["encoder.json", "encoder.safetensors"]
    for k, v in load_encoder(run).state_dict().items():
        assert torch.equal(v, E.state_dict()[k])
