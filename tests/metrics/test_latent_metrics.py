"""The reconstruction metric (with an inference net) and the semi-supervised table, on a tiny digits run."""

import json
import shutil

import numpy as np
import pytest
import torch

import origan
from helpers import set_args
from origan.cli import main
from origan.data import build_dataset
from origan.latent.encoder import fit_encoder, save_encoder
from origan.metrics import evaluate
from origan.metrics.novelty import nearest_neighbours
from origan.metrics.semi import d_features, labelled_indices, linear_probe, semi_supervised

DIGITS = [*set_args(["train.steps=20", "train.sample_every=0", "generator.hidden=[32]", "discriminator.hidden=[32]",
                     "train.batch_size=32", "noise.dim=8"]), "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "digits"
    assert main(["train", "--preset", "digits", *DIGITS, "--out", str(path)]) == 0
    return path


def test_labelled_indices_are_balanced_seeded_and_distinct():
    y = torch.arange(200) % 10
    idx = labelled_indices(y, 50, seed=3)
    assert len(idx) == 50 and len(set(idx.tolist())) == 50
    assert torch.equal(torch.bincount(y[idx], minlength=10), torch.full((10,), 5))
    assert torch.equal(idx, labelled_indices(y, 50, seed=3))
    assert not torch.equal(idx, labelled_indices(y, 50, seed=4))


def test_semi_table_is_the_defined_fits(digits):
    run = origan.load_run(digits)
    data = build_dataset(run.config.data)
    features = {"raw": lambda x: x.flatten(1), "D": lambda x: d_features(run.gan.D, x)}
    out = semi_supervised(data, features, sizes=(50,), seed=1, cnn=False)
    from origan.seeding import derive_seed

    idx = labelled_indices(data.labels["train"], 50, derive_seed(1, "semi-50"))
    row = out["sizes"]["50"]
    assert row["n_labelled"] == 50
    # the raw-pixel probe, fitted by hand with scikit-learn on the same 50 examples
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    xtr = data.train[idx].flatten(1).double().numpy()
    scaler = StandardScaler().fit(xtr)
    clf = LogisticRegression(max_iter=1000).fit(scaler.transform(xtr), data.labels["train"][idx].numpy())
    pred = clf.predict(scaler.transform(data.test.flatten(1).double().numpy()))
    assert row["raw"] == float((pred == data.labels["test"].numpy()).mean())
    # D's penultimate features: the maxout body's output, dropout off
    with torch.no_grad():
        feats = run.gan.D.eval().body(data.test.flatten(1))
    assert torch.equal(d_features(run.gan.D, data.test), feats)
    assert row["D"] == linear_probe(d_features(run.gan.D, data.train)[idx], data.labels["train"][idx], feats,
                                    data.labels["test"])  # fmt: skip
    assert out["feature_dims"] == {"raw": 64, "D": 32} and out["n_test"] == len(data.test) == 180


@pytest.mark.slow  # trains the domain CNN three times (a minute on one core)
def test_eval_semi_from_the_cli(digits, tmp_path, capsys):
    run_dir = tmp_path / "digits"
    shutil.copytree(digits, run_dir)
    assert main(["eval", str(run_dir), "--metrics", "semi", "--n-samples", "10"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy, 100 labels (n_test=180)" in out and "test accuracy, 1000 labels" in out
    record = json.loads((run_dir / "eval.json").read_text())
    rows = record["metrics"]["semi"]["sizes"]
    assert [r["n_labelled"] for r in rows.values()] == [100, 1000]
    for row in rows.values():
        assert set(row) == {"n_labelled", "raw", "D", "cnn"}
        assert all(0.0 <= row[k] <= 1.0 for k in ("raw", "D", "cnn"))
    assert rows["1000"]["cnn"] > 0.8  # the domain CNN on 1,000 labelled 8x8 digits


def test_semi_is_opt_in_and_reconstruction_joins_the_defaults_with_an_encoder(digits, tmp_path):
    run_dir = tmp_path / "digits"
    shutil.copytree(digits, run_dir)
    assert "reconstruction" not in evaluate(run_dir, n_samples=50, write=False)["metrics"]
    run = origan.load_run(run_dir)
    save_encoder(run, fit_encoder(run, steps=30)[0], [], {})
    record = evaluate(run_dir, n_samples=50)
    assert "semi" not in record["metrics"]
    r = record["metrics"]["reconstruction"]
    data = build_dataset(run.config.data)
    with torch.no_grad():
        rec = run.gan.sample(len(data.test), z=run.encode(data.test))
    err = (data.test.double() - rec.double()).flatten(1).square().sum(1).sqrt()
    base, _ = nearest_neighbours(data.test, data.train)
    assert r["l2_mean"] == pytest.approx(float(err.mean()), rel=1e-12)
    assert r["nearest_train_l2_mean"] == float(base.mean())
    assert r["share_better_than_nearest_train"] == float((err < base).double().mean())
    assert r["rmse_per_value"] == pytest.approx(float(err.square().mean().sqrt()) / 8, rel=1e-12)
    from PIL import Image

    with Image.open(r["figure"]) as img:  # three rows of 16 enlarged 8x8 digits
        assert img.size == ((2 + 16 * 10) * 14, (2 + 3 * 10) * 14)
        grid = np.asarray(img)
    assert grid.shape[:2] == (448, 2268)
