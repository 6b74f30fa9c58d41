"""DCR closeness of synthetic tables (the share of synthetic rows nearer to a training row than the median
held-out row is), `table_dcr` in `origan eval`, runs without held-out rows, and the validation score that
chooses checkpoints."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch

import origan
from origan.cli import main
from origan.data import Dataset, build_dataset
from origan.data.tables import Column, TableCodec
from origan.errors import ConfigError
from origan.metrics import METRICS, MetricContext, evaluate
from origan.metrics.evaluation import default_metrics
from origan.metrics.tables import (
    _decoded,
    _reencode,
    closeness,
    fidelity_report,
    memorisation,
    table_dcr,
    utility,
    validation_score,
    validation_scorer,
)

X = Column("x", "float", "numeric")  # mean 0, std 1: encoded values are the values
Y = Column("y", "float", "numeric")
C = Column("c", "str", "categorical", levels=("a", "b"))


def _rows(codec: TableCodec, *columns) -> torch.Tensor:
    values = [np.array(v, dtype=object if isinstance(v[0], str) else np.float64) for v in columns]
    return torch.from_numpy(codec.encode(values, np.float32))


def _gaussian_table(n: int, seed: int, codec: TableCodec | None = None) -> tuple[TableCodec, torch.Tensor]:
    """``n`` rows of a 4-column table (3 correlated numbers, a category that depends on them)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    cat = np.where(z[:, 0] + rng.standard_normal(n) > 0, "hi", "lo").astype(object)
    values = [z[:, 0], z[:, 1], z[:, 2], cat]
    if codec is None:
        codec = TableCodec.fit(
            ["a", "b", "c", "k"], values, ["float", "float", "float", "str"], [(None, None)] * 4, max_categories=10
        )
    return codec, torch.from_numpy(codec.encode(values, np.float32))


@pytest.fixture(scope="module")
def gaussian():
    codec, train = _gaussian_table(1000, 0)
    return codec, train, _gaussian_table(1000, 1, codec)[1], _gaussian_table(1000, 2, codec)[1]


# ---------------------------------------------------------------------------------------------------
# closeness


def test_dcr_closeness_on_a_hand_computed_table():
    codec = TableCodec([X])
    train = _rows(codec, [0.0, 10.0])
    held_out = _rows(codec, [1.0, 2.0, 3.0])  # distances 1, 2, 3: median 2, one of three at it: weight 0.5
    synthetic = _rows(codec, [0.0, 0.5, 2.0, 12.0, 5.0])  # distances 0, 0.5, 2, 2, 5
    m = memorisation(synthetic, held_out, MetricContext(codec=codec), train=train)
    assert m["closer_than_holdout_median_fraction"] == pytest.approx((2 + 0.5 * 2) / 5, abs=1e-12)
    assert m["closer_than_holdout_p5_fraction"] == pytest.approx(2 / 5)  # below the 5th percentile, 1.1
    assert m["exact_copy_fraction"] == pytest.approx(1 / 5) and m["held_out_rows"] == 3
    assert m["dcr_synthetic_median"] == m["dcr_holdout_median"] == 2 and m["dcr_ratio"] == 1
    # a category is one-hot: another level is sqrt(2) away
    codec2 = TableCodec([X, C])
    m2 = memorisation(
        _rows(codec2, [0.0, 0.0], ["b", "a"]),
        _rows(codec2, [1.0, 0.0, 3.0], ["a", "b", "a"]),  # distances 1, sqrt(2), 3
        MetricContext(codec=codec2),
        train=_rows(codec2, [0.0], ["a"]),
    )
    assert m2["dcr_holdout_median"] == pytest.approx(math.sqrt(2), abs=1e-7)
    assert m2["closer_than_holdout_median_fraction"] == pytest.approx(0.5 + 0.5 * 0.5)  # 0 below, sqrt(2) at it


def test_ties_count_with_the_weight_that_gives_held_out_rows_one_half():
    rng = np.random.default_rng(0)
    for n in (1, 2, 7, 10, 101):
        d = rng.integers(0, 3, n).astype(float)  # many ties, odd and even counts
        assert closeness(d, d) == pytest.approx(0.5, abs=1e-12)
        assert closeness(d, np.sort(d)) == pytest.approx(0.5, abs=1e-12)
    d_hold = np.array([0.0, 0.0, 0.0, 1.0])  # three held-out rows repeat training rows: median 0
    assert closeness(np.zeros(10), d_hold) == pytest.approx(2 / 3)  # copies: weight (0.5 - 0) / 0.75, not 0
    assert closeness(np.full(10, 0.5), d_hold) == 0
    assert closeness(np.array([0.0, 2.0]), np.array([1.0, 3.0])) == 0.5  # even, no tie: median 2, strict
    with pytest.raises(ConfigError, match="empty"):
        closeness(np.zeros(0), d_hold)


def test_fresh_rows_score_one_half_and_copies_one(gaussian):
    codec, train, held_out, fresh = gaussian
    ctx = MetricContext(codec=codec)
    tolerance = 4 * math.sqrt(0.25 / len(fresh) + 0.25 / len(held_out))  # the samples' and the median's noise
    m = memorisation(fresh, held_out, ctx, train=train)
    assert abs(m["closer_than_holdout_median_fraction"] - 0.5) < tolerance, m
    copies = memorisation(train[:500], held_out, ctx, train=train)
    assert copies["closer_than_holdout_median_fraction"] == 1 and copies["exact_copy_fraction"] == 1
    # half copies, half fresh: about 0.75
    mixed = memorisation(torch.cat([train[:500], fresh[:500]]), held_out, ctx, train=train)
    assert abs(mixed["closer_than_holdout_median_fraction"] - 0.75) < tolerance


def test_table_dcr_is_a_default_table_metric():
    data = build_dataset(origan.load_config("wine").data)
    assert "table_dcr" in default_metrics(data) and METRICS["table_dcr"].kinds == ("table",)
    out = table_dcr(data.train, data, MetricContext())
    assert out["closer_than_holdout_median_fraction"] == 1 and out["held_out_rows"] == len(data.val) + len(data.test)
    assert out["n_samples"] == out["n_train"] == len(data.train)
    held_out = table_dcr(torch.cat([data.val, data.test]), data, MetricContext())
    assert held_out["closer_than_holdout_median_fraction"] == 0.5 and held_out["dcr_ratio"] == 1


# ---------------------------------------------------------------------------------------------------
# runs without held-out rows


def _without_held_out(data: Dataset) -> Dataset:
    x = torch.cat([data.train, data.val, data.test])
    empty = torch.zeros(0, dtype=torch.long)
    split = (torch.arange(len(x)), empty, empty)
    return Dataset.from_splits(data.name, x, data.kind, data.bounded, data.info, split=split)


def test_every_table_part_without_held_out_rows_says_so():
    data = _without_held_out(build_dataset(origan.load_config("wine").data))
    assert data.val.shape == data.test.shape == (0, data.train.shape[1])
    codec = TableCodec.from_json(data.info["codec"])
    samples = data.train[:100]
    report = fidelity_report(samples, data)
    assert report["real_holdout"] == report["utility"] == {"held_out_rows": 0}
    assert report["memorisation"] == {"dcr_synthetic_median": 0.0, "exact_copy_fraction": 1.0, "held_out_rows": 0}
    assert 0 <= report["marginals"]["ks_mean"] < 0.2 and "corr_diff_max" in report["correlation"]  # still measured
    assert table_dcr(samples, data, MetricContext()) == {
        "dcr_synthetic_median": 0.0,
        "exact_copy_fraction": 1.0,
        "held_out_rows": 0,
        "n_samples": 100,
        "n_train": len(data.train),
    }
    with pytest.raises(ConfigError, match=r"no held-out rows .*data\.val_fraction > 0"):
        utility(samples, data.val, MetricContext(codec=codec), train=data.train)
    with pytest.raises(ConfigError, match=r"data\.val_fraction > 0"):
        validation_score(codec, samples, data.train, data.val)


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    cfg = origan.load_config(
        "wine", overrides=["train.steps=20", "train.sample_every=0", "train.checkpoint_every=0", "train.log_every=10"]
    )
    return origan.train(cfg, out=tmp_path_factory.mktemp("closeness") / "wine").path


def test_eval_prints_and_stores_the_closeness(wine_run, capsys):
    assert main(["eval", str(wine_run), "--n-samples", "400", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    record = json.loads((wine_run / "eval.json").read_text())
    dcr = record["metrics"]["table_dcr"]
    assert 0 <= dcr["closer_than_holdout_median_fraction"] <= 1
    assert dcr["held_out_rows"] == 36 and dcr["n_samples"] == 400 and dcr["n_train"] == 142
    assert "table_dcr       DCR closeness (400 samples, 36 held-out rows)" in out
    assert f"{dcr['closer_than_holdout_median_fraction']:.3f}  (share nearer to a training row" in out
    memo = record["metrics"]["table_fidelity"]["memorisation"]
    assert 0 <= memo["closer_than_holdout_median_fraction"] <= 1 and memo["held_out_rows"] == 36
    # the same number from the library: the first 400 evaluation samples against validation + test
    again = evaluate(wine_run, metrics=["table_dcr"], n_samples=400, seed=2, write=False)
    assert again["metrics"]["table_dcr"] == dcr


def test_eval_without_held_out_rows_reports_the_rest_and_exits_0(wine_run, capsys, monkeypatch):
    import origan.metrics.evaluation as evaluation

    data = _without_held_out(build_dataset(origan.load_run(wine_run).config.data))
    monkeypatch.setattr(evaluation, "build_dataset", lambda cfg: data)
    assert main(["eval", str(wine_run), "--n-samples", "300"]) == 0
    out = capsys.readouterr().out
    record = json.loads((wine_run / "eval.json").read_text())
    metrics = record["metrics"]
    dcr = metrics["table_dcr"]
    assert dcr["held_out_rows"] == 0 and "closer_than_holdout_median_fraction" not in dcr
    assert metrics["table_fidelity"]["utility"] == {"held_out_rows": 0}
    assert 0 <= metrics["table_fidelity"]["marginals"]["ks_mean"] <= 1  # against the training rows, as always
    assert metrics["parzen"] == {"held_out_rows": 0, "skipped": metrics["parzen"]["skipped"]}
    assert "data.val_fraction > 0" in metrics["parzen"]["skipped"] and "skipped" in metrics["novelty"]
    assert "n/a (no held-out rows: train with data.val_fraction > 0)" in out
    assert "marginals: mean KS / mean Wasserstein/std (held-out floor)" in out and "(floor n/a)" in out
    # named, a metric that needs held-out rows is a one-line error
    assert main(["eval", str(wine_run), "--metrics", "novelty"]) == 2
    err = capsys.readouterr().err
    assert "--metrics novelty: needs held-out test rows" in err and "data.test_fraction > 0" in err
    assert len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------------------------
# the validation score


def test_validation_score_on_a_hand_computed_table():
    codec = TableCodec([X, Y, C])
    val = _rows(codec, [0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], ["a", "a", "b", "b"])
    samples = _rows(codec, [0.0, 1.0, 2.0, 3.0], [3.0, 2.0, 1.0, 0.0], ["a", "b", "b", "b"])
    train = _rows(codec, [0.0, 3.0, 1.0, 2.0], [0.0, 0.0, 2.0, 1.0], ["a", "b", "b", "b"])
    s = validation_score(codec, samples, train, val)
    # shapes: x and y the same values (KS 0), c 1/4 vs 1/2 "a" (TV 1/4)
    assert s["column_shapes"] == pytest.approx((1 + 1 + 0.75) / 3, abs=1e-12)
    # trends: corr(x, y) -1 vs 1 -> 0; (x, c) one cell of four moves -> 0.75; (y, c) three move -> 0.25
    assert s["column_pair_trends"] == pytest.approx((0 + 0.75 + 0.25) / 3, abs=1e-12)
    assert s["quality"] == pytest.approx(0.625, abs=1e-12)
    # validation DCRs 0, sqrt(2), 1, sqrt(5): median 1.207; samples 2, 0, 0, 0 (three are training rows)
    assert s["closeness"] == 0.75
    assert s["score"] == pytest.approx(0.625 - (0.75 - 0.6), abs=1e-12)
    assert s["n_samples"] == s["n_val"] == 4


def test_validation_score_rewards_fresh_rows_over_copies(gaussian):
    codec, train, val, fresh = gaussian
    identical = validation_score(codec, val, train, val)
    assert identical["quality"] == identical["column_shapes"] == identical["column_pair_trends"] == 1
    assert identical["closeness"] == 0.5 and identical["score"] == 1
    good = validation_score(codec, fresh, train, val)
    copies = validation_score(codec, train[:1000], train, val)
    tolerance = 4 * math.sqrt(0.25 / len(fresh) + 0.25 / len(val))
    assert abs(good["closeness"] - 0.5) < tolerance and copies["closeness"] == 1
    assert good["quality"] > 0.9 and copies["quality"] > 0.9  # both are real rows of the distribution
    assert copies["score"] < good["score"] - 0.35  # copying costs 1 - 0.6
    lenient = validation_score(codec, train[:1000], train, val, free=0.75)  # the threshold moves, nothing else
    assert lenient["score"] == pytest.approx(copies["quality"] - 0.25) and lenient["quality"] == copies["quality"]
    noise = torch.randn(1000, codec.width, generator=torch.Generator().manual_seed(0)) * 3
    assert validation_score(codec, noise, train, val)["quality"] < good["quality"] - 0.1
    # deterministic, and the scorer built once gives the same numbers
    assert validation_score(codec, fresh, train, val) == good
    assert validation_scorer(codec.to_json(), train, val)(fresh.numpy()) == good


def test_validation_score_column_shapes_are_sdmetrics_ks_and_tv(gaussian):
    from scipy.stats import ks_2samp

    codec, train, val, fresh = gaussian
    samples = fresh[:300]
    got = validation_score(codec, samples, train, val)["column_shapes"]
    real, fake = codec.decode(val), codec.decode(samples)
    want = [1 - ks_2samp(r, f).statistic for r, f in zip(real[:3], fake[:3], strict=True)]
    p, q = np.mean(real[3] == "hi"), np.mean(fake[3] == "hi")
    want.append(1 - abs(p - q))  # two levels: TV = |p - q|
    assert got == pytest.approx(np.mean(want), abs=1e-12)


def test_the_scores_rows_are_the_codecs_round_trip(gaussian):
    codec, train, _, _ = gaussian
    wine = build_dataset(origan.load_config("wine").data)
    wine_codec = TableCodec.from_json(wine.info["codec"])
    noise = torch.randn(300, wine_codec.width, generator=torch.Generator().manual_seed(1)) * 2
    for c, x in ((codec, train), (wine_codec, wine.train), (wine_codec, noise)):
        assert np.array_equal(_decoded(c, x)[1], _reencode(c, x))  # bit for bit: the DCRs of memorisation


@pytest.mark.skipif(
    "missing" not in {f.name for f in dataclasses.fields(Column)}, reason="the codec has no missing values"
)
def test_missing_cells_are_scored_without_nans():
    rng = np.random.default_rng(3)

    def values(n):
        a = rng.standard_normal(n)
        a[rng.random(n) < 0.3] = np.nan
        k = rng.choice(np.array(["u", "v", None], dtype=object), n)
        return [a, rng.standard_normal(n), k]

    codec = TableCodec.fit(["a", "b", "k"], values(400), ["float", "float", "str"], [(None, None)] * 3, 10)
    train, val, fresh = (torch.from_numpy(codec.encode(values(n), np.float32)) for n in (400, 300, 300))
    assert np.array_equal(_decoded(codec, fresh)[1], _reencode(codec, fresh))
    same = validation_score(codec, val, train, val)
    assert same["quality"] == 1 and same["closeness"] == 0.5
    s = validation_score(codec, fresh, train, val)
    assert all(math.isfinite(v) for v in s.values()) and s["quality"] > 0.85, s
    no_missing = fresh.clone()
    no_missing[:, 1], no_missing[:, 2] = 1, 0  # column a: every cell present
    assert validation_score(codec, no_missing, train, val)["column_pair_trends"] < s["column_pair_trends"]
