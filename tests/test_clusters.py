"""``train.clusters``: a conditional run on k-means clusters of the training split instead of the data's labels
(``mnist-conv``), sampled from the clusters' frequencies; its metrics stay in the data's own terms."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import origan
from helpers import TINY_TOY, set_args
from origan.data import build_dataset
from origan.data.clusters import cluster_names, with_clusters
from origan.distances import nearest_neighbour
from origan.errors import ConfigError
from origan.training.build import build_state
from origan.training.select import Selector
from test_conditional import SMALL

DIGITS = [*SMALL, "train.conditional=true"]  # conditional MLP nets on 8x8 digits, small


def _digits(*extra):
    return origan.load_config("digits", overrides=[*DIGITS, *extra])


def test_the_labels_become_the_training_splits_k_means_clusters_numbered_by_size():
    data = build_dataset(_digits().data)
    out = with_clusters(data, 7, torch.Generator().manual_seed(5))
    assert out.classes == cluster_names(7) == tuple(f"cluster-{i}" for i in range(7))
    assert out.info["classes"] == list(out.classes) and out.info["clusters"]["k"] == 7
    assert out.source is data and out.train is data.train and data.labels["train"].max() == 9  # the data untouched
    counts = torch.bincount(out.labels["train"], minlength=7)
    assert counts.min() > 0 and counts.tolist() == sorted(counts.tolist(), reverse=True)
    # every training example sits in the cluster of its nearest centroid, the centroid being its cluster's mean
    centroids = torch.stack([data.train[out.labels["train"] == c].double().mean(0) for c in range(7)])
    flat = centroids.reshape(7, -1)
    for split in ("train", "val", "test"):
        x = getattr(data, split).double().reshape(len(getattr(data, split)), -1)
        assert torch.equal(nearest_neighbour(x, flat)[1], out.labels[split]), split
    again = with_clusters(data, 7, torch.Generator().manual_seed(5))  # a seed fixes them (a resume rebuilds them)
    assert all(torch.equal(again.labels[s], out.labels[s]) for s in ("train", "val", "test"))
    other = with_clusters(data, 7, torch.Generator().manual_seed(6)).labels["train"]
    assert not torch.equal(other, out.labels["train"])
    assert with_clusters(out, 3, torch.Generator().manual_seed(0)).source is data  # the source stays the data as read


@pytest.mark.parametrize("value", [1, -1, 1001, 2.5, "ten", True])
def test_a_bad_cluster_count_is_a_config_error_naming_the_key(value):
    expected = "int" if isinstance(value, (float, str, bool)) else r"0 \(the data's labels\) or 2 to 1,000"
    with pytest.raises(ConfigError, match=rf"^train.clusters: expected {expected}, got"):
        _digits(f"train.clusters={json.dumps(value)}")


def test_clusters_need_a_conditional_run_and_at_most_one_example_each(tmp_path):
    with pytest.raises(ConfigError, match=r"^train.clusters: expected 0 unless train.conditional = true, got 5"):
        _digits("train.conditional=false", "train.clusters=5")
    ring = origan.load_config("ring8", overrides=[*TINY_TOY, "train.conditional=true", "train.clusters=600"])
    with pytest.raises(ConfigError, match=r"^train.clusters: expected at most the 512 training examples of ring8"):
        origan.train(ring, out=tmp_path / "many")
    assert not (tmp_path / "many").exists()


def test_unlabelled_points_train_conditionally_on_their_clusters(tmp_path):
    sets = [*TINY_TOY, "train.steps=4", "train.conditional=true", "train.clusters=8"]
    cfg = origan.load_config("ring8", overrides=sets)
    run = origan.train(cfg, out=tmp_path / "ring")
    assert run.conditional and run.classes == list(cluster_names(8))
    assert sum(run.data_info.class_counts) == 512
    x, y = run.sample_with_labels(64, seed=0)  # the clusters drawn from their frequencies: unconditional samples
    assert x.shape == (64, 2) and y.min() >= 0 and y.max() < 8


def test_the_validation_score_is_the_datas_and_the_fakes_classes_are_the_clusters():
    cfg = _digits("train.clusters=5", "train.select=frechet", "train.steps=2")
    built = build_state(cfg, torch.device("cpu"))
    assert built.data.source is not None and len(built.data.classes) == 5
    selector = Selector(cfg, built.data, built.state)
    counts = torch.bincount(built.data.labels["train"], minlength=5).double()
    assert torch.equal(selector.freqs, counts / counts.sum())
    plain = _digits("train.conditional=false", "train.select=frechet", "train.steps=2")
    ref = Selector(plain, build_dataset(plain.data), build_state(plain, torch.device("cpu")).state)
    x = built.data.source.val[:64]
    assert selector.scorer(x) == ref.scorer(x)  # the Frechet score of the digits' classifier, not of the clusters


def test_mnist_conv_trains_on_clusters_then_samples_and_evaluates_from_the_command_line(tmp_path):
    short = [
        "train.steps=3",
        "train.log_every=1",
        "train.sample_every=0",
        "train.batch_size=16",
        "train.threads=1",
        "generator.width=8",
        "discriminator.width=8",
        "discriminator.dense=16",
    ]
    run, cmd = tmp_path / "run", [sys.executable, "-m", "origan"]
    done = subprocess.run(
        [*cmd, "train", "--preset", "mnist-conv", *set_args(short), "--out", str(run), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert origan.load_run(run).classes == list(cluster_names(20))
    out = tmp_path / "digits.npz"
    done = subprocess.run([*cmd, "sample", str(run), "-n", "50", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with np.load(out) as f:
        assert f["x"].shape == (50, 1, 28, 28) and f["y"].min() >= 0 and f["y"].max() < 20
    ev = [*cmd, "eval", str(run), "--n-samples", "200"]
    done = subprocess.run([*ev, "--metrics", "label_accuracy"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "origan: error: --metrics label_accuracy: needs a run conditioned on the data's labels "
        "(train.conditional = true, train.clusters = 0); this one is not"
    ]
    assert not (run / "eval.json").exists()
    done = subprocess.run([*ev, "--metrics", "prdc,classes"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    record = json.loads((run / "eval.json").read_text())
    assert set(record["metrics"]) == {"prdc", "classes"}
    assert record["metrics"]["classes"]["classes_total"] == 10  # the digits' classes, not the clusters
