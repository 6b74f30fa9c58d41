"""train.select: the weights G samples with are kept at their best validation score, the run stops after
train.patience scores without a better one, training is untouched until then, and a resumed run continues the
selection exactly (training/select.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import origan
from origan.data import Dataset, build_dataset
from origan.errors import ConfigError
from origan.metrics.tables import validation_score
from origan.seeding import derive_seed
from origan.training import select

WINE = [
    "data.name=wine",
    "train.steps=30",
    "train.batch_size=16",
    "train.log_every=5",
    "train.sample_every=0",
    "train.checkpoint_every=0",
    "generator.hidden=[16]",
    "discriminator.hidden=[16]",
    "train.threads=1",
]


def _cfg(*extra: str) -> origan.Config:
    return origan.load_config("wine", overrides=[*WINE, *extra])


def _scripted(monkeypatch: pytest.MonkeyPatch, scores: list[float]) -> list[dict[str, torch.Tensor]]:
    """Make the table score return ``scores`` in turn; returns the sampling G's weights at each score."""
    seen: list[dict[str, torch.Tensor]] = []
    it = iter(scores)
    real = select.Selector.score

    def fake_factory(data):
        return lambda samples: {"score": next(it), "quality": 0.5, "closeness": 0.5}

    def spy(self, step):
        seen.append({k: v.clone() for k, v in self.state.gan.sampler.state_dict().items()})
        return real(self, step)

    select.SCORES.names()  # load the registry, then replace its table score
    monkeypatch.setitem(select.SCORES._members, "table", fake_factory)
    monkeypatch.setattr(select.Selector, "score", spy)
    return seen


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_best_weights_are_kept_and_patience_stops_the_run(tmp_path, monkeypatch):
    seen = _scripted(monkeypatch, [0.1, 0.5, 0.3, 0.2, 0.9])
    run = origan.train(
        _cfg("train.select=table", "train.select_every=5", "train.patience=2", "train.steps=100"), tmp_path / "s"
    )
    assert run.step == 20  # scores at 5, 10 (best), 15, 20: two without a better one
    assert len(seen) == 4
    assert _same(dict(run.gan.sampler.state_dict()), seen[1])  # samples come from the step-10 weights
    again = origan.load_run(tmp_path / "s")  # and so do they when the run is read again
    assert _same(dict(again.gan.sampler.state_dict()), seen[1])
    rows = [json.loads(line) for line in (tmp_path / "s" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 20 and rows[-1]["best_step"] == 10 and rows[-1]["val_score"] == 0.2


def test_selection_leaves_training_untouched(tmp_path, monkeypatch):
    _scripted(monkeypatch, [float(i) for i in range(100)])  # always better: no early stop
    origan.train(_cfg("train.select=table", "train.select_every=5"), tmp_path / "s")
    origan.train(_cfg(), tmp_path / "plain")
    a = origan.load_run(tmp_path / "s")
    b = origan.load_run(tmp_path / "plain")
    assert _same(dict(a.gan.G.state_dict()), dict(b.gan.G.state_dict()))  # the same trajectory to the end
    assert _same(dict(a.gan.D.state_dict()), dict(b.gan.D.state_dict()))


def test_a_resumed_run_continues_the_selection_exactly(tmp_path):
    cfg = _cfg("train.select=table", "train.select_every=5", "train.patience=3", "train.checkpoint_every=10")
    full = origan.train(cfg, tmp_path / "full")
    origan.train(cfg.replace(**{"train.steps": 10}), tmp_path / "part")
    part = origan.resume(tmp_path / "part", overrides={"train.steps": 30})
    assert part.step == full.step
    assert _same(dict(full.gan.sampler.state_dict()), dict(part.gan.sampler.state_dict()))
    a, b = (
        [json.loads(line) for line in (tmp_path / name / "metrics.jsonl").read_text().splitlines()]
        for name in ("full", "part")
    )
    keys = ("step", "val_score", "val_quality", "val_closeness", "best_step", "d_loss")
    assert [[r.get(k) for k in keys] for r in a] == [[r.get(k) for k in keys] for r in b]


def test_selection_needs_validation_rows_of_a_table(tmp_path):
    with pytest.raises(ConfigError, match=r"train.select: scores the validation rows, and wine has 0"):
        origan.train(_cfg("train.select=table", "data.val_fraction=0"), tmp_path / "a")
    assert not (tmp_path / "a").exists()
    ring = origan.load_config("ring8", overrides=["train.select=table", "train.steps=2"])
    with pytest.raises(ConfigError, match=r"train.select: table scores tables; data.name=ring8 is vector data"):
        origan.train(ring, tmp_path / "b")
    for key, value in (("train.select_every", 0), ("train.patience", -1), ("train.select", "fid")):
        with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
            _cfg(f"{key}={value}").validate()


# -- the table score ---------------------------------------------------------------------------------------


def _record_scores(monkeypatch: pytest.MonkeyPatch) -> list[tuple[torch.Tensor, dict[str, float]]]:
    """Record each score of a run with the samples it scored (``Selector.draw`` again: the same draw)."""
    seen: list[tuple[torch.Tensor, dict[str, float]]] = []
    real = select.Selector.score

    def spy(self, step):
        parts = real(self, step)
        seen.append((self.draw(), parts))
        return parts

    monkeypatch.setattr(select.Selector, "score", spy)
    return seen


def test_the_run_scores_with_the_table_validation_score(tmp_path, monkeypatch):
    seen = _record_scores(monkeypatch)
    run = origan.train(_cfg("train.select=table", "train.select_every=10"), tmp_path / "s")
    data = build_dataset(run.config.data)
    assert len(seen) == 3
    for x, parts in seen:  # the same draw, scored again by the metric: the same numbers
        expected = validation_score(data.info["codec"], x, data.train, data.val, free=select.CLOSENESS_FREE)
        keys = ("score", "quality", "closeness")
        assert {k: parts[k] for k in keys} == {k: expected[k] for k in keys}
        assert parts["score"] == pytest.approx(parts["quality"] - max(0.0, parts["closeness"] - 0.6))


def test_a_dataset_check_names_the_split():
    x = torch.zeros(4, 2)
    data = Dataset("t", x, x[:0], x[:0], (2,), "table", False, info={"codec": {}})
    with pytest.raises(ConfigError, match="train.select: scores the validation rows, and t has 0"):
        select.check_select(_cfg("train.select=table"), data)


def test_frechet_selection_keeps_the_weights_nearest_the_validation_split(tmp_path, monkeypatch):
    from origan.metrics.fid import frechet_distance_of_features

    seen = _record_scores(monkeypatch)
    cfg = origan.load_config(
        "ring8",
        overrides=["train.steps=40", "train.select=frechet", "train.select_every=10", "train.log_every=10"]
        + ["data.n_train=512", "data.n_val=256", "generator.hidden=[16]", "discriminator.hidden=[16]"],
    )
    run = origan.train(cfg, tmp_path / "r")
    val = build_dataset(cfg.data).val
    assert len(seen) == 4
    distances = [frechet_distance_of_features(x, val) for x, _ in seen]
    for d, (_, parts) in zip(distances, seen, strict=True):
        assert parts["frechet"] == pytest.approx(d, rel=1e-12) and parts["score"] == -parts["frechet"]
    best = int(np.argmin(distances))
    n = len(seen[0][0])
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "select"))
    x = run.gan.sample(n, z=run.gan.prior.sample(n, generator=gen))
    assert torch.equal(x, seen[best][0])  # samples come from the weights of the smallest distance
    rows = [json.loads(line) for line in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["best_step"] == 10 * (best + 1)
    assert rows[-1]["val_frechet"] == pytest.approx(distances[-1], rel=1e-12)


def test_frechet_selection_refuses_data_it_cannot_score(tmp_path):
    big = origan.load_config("wine", overrides=["train.select=frechet", "data.val_fraction=0"])
    with pytest.raises(ConfigError, match=r"train.select: scores the validation split, and wine has 0 examples"):
        origan.train(big, tmp_path / "a")
