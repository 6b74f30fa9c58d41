"""The contract of every registered dataset and metric.

A registered dataset without an entry in ``DATASET_CASES`` fails here: a new member must say how it is built
small. Every metric is computed on a tiny trained run of each kind it applies to, and its result must be
plain JSON with finite numbers.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import origan
from cifar_files import write_cifar_folder
from origan.data import DATASETS, build_dataset
from origan.data.idx import write_idx
from origan.latent.encoder import fit_encoder, save_encoder
from origan.metrics import METRICS, evaluate

TABLE = "a,b,kind\n" + "".join(f"{i * 0.5:.1f},{(i * 7) % 5},{'xyz'[i % 3]}\n" for i in range(40))


def _array_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "faces.npz"
    np.savez(path, x=rng.integers(0, 256, (40, 8, 8), dtype=np.uint8), y=rng.integers(0, 3, 40))
    return {"path": str(path), "array_key": "x", "label_key": "y"}


def _folder(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / cls / f"{i}.png"
            )
    return {"path": str(tmp_path / "imgs"), "image_size": 8, "folder_labels": True}


def _idx(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "train-images-idx3-ubyte", rng.integers(0, 256, (30, 8, 8), dtype=np.uint8))
    write_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte", rng.integers(0, 10, 30).astype(np.uint8))
    return {"path": str(tmp_path / "mnist")}


def _csv(tmp_path):
    (tmp_path / "t.csv").write_text(TABLE)
    return {"path": str(tmp_path / "t.csv")}


SMALL_TOY = {"n_train": 64, "n_val": 32, "n_test": 32}
DATASET_CASES = {  # name -> a function of tmp_path giving the data section's fields (small where it matters)
    "mnist": lambda p: {},
    "digits": lambda p: {},
    "wine": lambda p: {},
    "breast-cancer": lambda p: {},
    "gauss1d": lambda p: SMALL_TOY,
    "mixture1d": lambda p: SMALL_TOY,
    "ring8": lambda p: SMALL_TOY,
    "grid25": lambda p: SMALL_TOY,
    "array": _array_file,
    "folder": _folder,
    "idx": _idx,
    "csv": _csv,
    "cifar10": lambda p: {"path": str(write_cifar_folder(p / "cifar"))},
}


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_splits_three_ways_reproducibly(name, tmp_path):
    assert name in DATASET_CASES, f"dataset {name!r} has no contract case: add one to DATASET_CASES"
    cfg = origan.load_config(
        overrides={"data.name": name, **{f"data.{k}": v for k, v in DATASET_CASES[name](tmp_path).items()}}
    )
    data = build_dataset(cfg.data)
    assert data.kind in ("image", "vector", "table")
    total = 0
    for split in ("train", "val", "test"):
        x = getattr(data, split)
        assert x.dtype == torch.float32 and x.shape[1:] == data.shape and len(x) > 0, split
        assert torch.isfinite(x).all(), split
        if data.bounded:
            assert ((x >= 0) & (x <= 1)).all(), split
        total += len(x)
        if data.labels is not None:
            y = data.labels[split]
            assert y.dtype == torch.int64 and y.shape == (len(x),), split
            n_classes = len(getattr(data, "classes", ()) or data.info.get("classes", ())) or int(y.max()) + 1
            assert int(y.min()) >= 0 and int(y.max()) < n_classes, split
    if data.kind == "image":
        assert len(data.shape) == 3 and data.shape[0] in (1, 3)
    again = build_dataset(cfg.data)  # a fixed split: the same tensors every time
    for split in ("train", "val", "test"):
        assert torch.equal(getattr(data, split), getattr(again, split)), split
    json.dumps(data.info)  # the record of how the data were made travels as JSON


TINY_RUNS = {  # one tiny run per kind of data: (preset, overrides)
    "vector": (
        "ring8",
        [
            "data.n_train=256",
            "data.n_val=128",
            "data.n_test=128",
            "generator.hidden=[16]",
            "discriminator.hidden=[16]",
            "train.batch_size=64",
        ],
    ),
    "image": ("digits", ["generator.hidden=[32]", "discriminator.hidden=[16]", "train.batch_size=64"]),
    "conditional image": (  # for the metrics of a conditional run's labelled samples (only those run on it)
        "digits",
        ["generator.hidden=[32]", "discriminator.hidden=[16]", "train.batch_size=64", "train.conditional=true"],
    ),
    "table": ("wine", ["generator.hidden=[16]", "discriminator.hidden=[16]", "train.batch_size=32"]),
}
COMMON = ["train.steps=10", "train.log_every=5", "train.sample_every=0", "train.checkpoint_every=0"]


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    runs = {}
    for kind, (preset, overrides) in TINY_RUNS.items():
        cfg = origan.load_config(preset, overrides=[*overrides, *COMMON])
        runs[kind] = origan.train(cfg, out=tmp_path_factory.mktemp("runs") / kind)
    return runs


def _finite_json(value, where):
    if isinstance(value, float):
        assert math.isfinite(value), where
    elif isinstance(value, dict):
        for k, v in value.items():
            _finite_json(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _finite_json(v, f"{where}[{i}]")


# inception_fid runs Inception-v3 at 299x299 on every sample (minutes on a CPU) and needs local weights:
# tests/metrics/test_inception.py checks it with generated weights.
@pytest.mark.parametrize("name", [m for m in METRICS if m != "inception_fid"])
def test_every_metric_gives_finite_json_on_each_kind_it_applies_to(name, tiny_runs):
    metric = METRICS[name]
    # table parts run inside table_fidelity (evaluate refuses them alone); they are checked through it
    measured = (
        name
        if metric.default or name not in ("table_marginals", "table_correlation", "table_utility", "table_memorisation")
        else "table_fidelity"
    )
    applied = 0
    for kind, run in tiny_runs.items():
        data = build_dataset(run.config.data)
        if not METRICS[measured].applies_to(data) or METRICS[measured].conditional != run.conditional:
            continue
        if name == "reconstruction":  # measures the run's inference net: fit one (a few steps)
            save_encoder(run, fit_encoder(run, steps=5)[0], [], {})
        record = evaluate(run, metrics=[measured], n_samples=200, seed=0, write=False)
        result = json.loads(json.dumps(record["metrics"][measured]))  # plain JSON, no tensors or numpy scalars
        assert result, f"{name} on {kind}: empty result"
        _finite_json(result, f"{name}[{kind}]")
        applied += 1
    kinds_with_runs = set(metric.kinds) & set(tiny_runs)
    assert applied > 0 or not kinds_with_runs or metric.applies is not None, f"{name} applied to no tiny run"
