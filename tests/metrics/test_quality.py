"""The sdmetrics metric: SDMetrics' own QualityReport numbers, in `origan eval` beside table_fidelity."""

import numpy as np
import pytest
import torch

import origan
from origan.cli import main
from origan.data import build_dataset
from origan.data.tables import TableCodec
from origan.metrics import evaluate
from origan.metrics.sdmetrics import quality_report, table_frame, table_metadata
from origan.seeding import derive_seed

pytest.importorskip("sdmetrics", reason="the sdmetrics extra is not installed (pip install 'origan[sdmetrics]')")

from sdmetrics.reports import QualityReport

FAST = [
    "train.steps=40", "train.log_every=10", "train.sample_every=0", "generator.hidden=[16]",
    "discriminator.hidden=[16]", "data.drop_columns=['alcohol','malic_acid','ash','magnesium','hue','proline']",
]  # fmt: skip


@pytest.fixture(scope="module")
def wine_run(tmp_path_factory):
    cfg = origan.load_config("wine", overrides=FAST)
    return origan.train(cfg, out=tmp_path_factory.mktemp("quality") / "wine")


def test_the_scores_are_sdmetrics_quality_report_computed_directly(wine_run):
    record = evaluate(wine_run, metrics=["sdmetrics"], n_samples=300, seed=5, write=False)
    got = record["metrics"]["sdmetrics"]
    # the same rows, built here: the decoded training split and the first len(train) of the evaluation samples
    data = build_dataset(wine_run.config.data)
    codec = TableCodec.from_json(data.info["codec"])
    samples = wine_run.sample(300, generator=torch.Generator().manual_seed(derive_seed(5, "eval-samples")))
    real, fake = table_frame(codec, data.train), table_frame(codec, samples[: len(data.train)])
    assert list(real.columns) == codec.names and real["class"].dtype == np.int64  # the cultivar, one-hot
    metadata = {"columns": {n: {"sdtype": "numerical"} for n in codec.names} | {"class": {"sdtype": "categorical"}}}
    report = QualityReport()
    report.generate({"wine": real}, {"wine": fake}, {"tables": {"wine": metadata}}, verbose=False)
    properties = dict(zip(report.get_properties()["Property"], report.get_properties()["Score"], strict=True))
    assert got["score"] == report.get_score()
    assert got["column_shapes"] == properties["Column Shapes"]
    assert got["column_pair_trends"] == properties["Column Pair Trends"]
    assert got["score"] == pytest.approx((got["column_shapes"] + got["column_pair_trends"]) / 2, abs=1e-12)
    assert got["n_real"] == got["n_synthetic"] == len(data.train) == 142


def test_eval_prints_it_beside_table_fidelity_by_default(wine_run, capsys):
    assert main(["eval", str(wine_run.path), "--n-samples", "300"]) == 0
    out = capsys.readouterr().out
    assert "sdmetrics       SDMetrics quality score (142 samples vs training rows)" in out
    assert "Column Shapes / Column Pair Trends" in out and "table_fidelity  marginals" in out


def test_an_identical_table_scores_one():
    data = build_dataset(origan.load_config("wine", overrides=FAST).data)
    codec = TableCodec.from_json(data.info["codec"])
    real = table_frame(codec, data.train)
    assert quality_report(real, real.copy(), table_metadata(codec))["score"] == pytest.approx(1.0, abs=1e-12)
