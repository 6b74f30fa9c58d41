"""The table fidelity metrics against cases with known answers, and a short wine run whose synthetic CSV
has marginals closer to the real ones than at initialisation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.stats import ks_2samp

import origan
from origan.config import DataConfig, load_config
from origan.data import build_dataset
from origan.data.tables import TableCodec, infer_column, read_csv
from origan.errors import ConfigError
from origan.io.export import save_samples
from origan.metrics import METRICS, MetricContext
from origan.metrics.tables import fidelity_report, marginals, memorisation, table_correlation, utility


@pytest.fixture(scope="module")
def wine():
    data = build_dataset(DataConfig(name="wine"))
    return data, TableCodec.from_json(data.info["codec"])


def test_metrics_are_registered_for_tables():
    for name in ("table_marginals", "table_correlation", "table_utility", "table_memorisation"):
        assert METRICS[name].kinds == ("table",) and METRICS[name].description


def test_identical_rows_are_at_distance_zero(wine):
    data, codec = wine
    m = marginals(data.train, data.train, MetricContext(codec=codec))
    assert m["ks_mean"] == 0 and m["wasserstein_mean"] == 0 and m["tv_mean"] == 0
    c = table_correlation(data.train, data.train, MetricContext(codec=codec))
    assert c["corr_diff_max"] == 0 and c["corr_diff_fro"] == 0


def test_a_shifted_column_has_the_closed_form_distances(wine):
    data, codec = wine
    j = codec.names.index("magnesium")  # an integer column: shift it by exactly 7 units
    col = codec.columns[j]
    values = codec.decode(data.train)
    shifted = [v + 7 if i == j else v for i, v in enumerate(values)]
    m = marginals(torch.from_numpy(codec.encode(shifted)), data.train, MetricContext(codec=codec))
    assert m["wasserstein/magnesium"] == pytest.approx(7 / col.std, rel=1e-12)  # W1 of a shift is the shift
    real = values[j].astype(float)
    assert m["ks/magnesium"] == pytest.approx(ks_2samp(real, real + 7).statistic, abs=1e-12)
    assert all(m[f"ks/{c.name}"] == 0 for c in codec.columns if c.kind == "numeric" and c.name != "magnesium")
    # a categorical column: all rows of class 0 gives TV = 1 - p(class 0)
    k = codec.names.index("class")
    one_class = [np.zeros_like(v) if i == k else v for i, v in enumerate(values)]
    m = marginals(torch.from_numpy(codec.encode(one_class)), data.train, MetricContext(codec=codec))
    assert m["tv/class"] == pytest.approx(1 - np.mean(values[k] == 0), abs=1e-12)


@pytest.mark.kernels  # nearest-row distances: `make test-cpus` runs it on other CPUs' kernels
def test_memorisation_sees_copies_and_held_out_rows(wine):
    data, codec = wine
    holdout = torch.cat([data.val, data.test])
    copies = memorisation(data.train, holdout, MetricContext(codec=codec), train=data.train)
    assert copies["exact_copy_fraction"] == 1 and copies["dcr_synthetic_median"] == 0 and copies["dcr_ratio"] == 0
    assert copies["closer_than_holdout_median_fraction"] == 1 and copies["held_out_rows"] == len(holdout)
    fresh = memorisation(holdout, holdout, MetricContext(codec=codec), train=data.train)
    assert fresh["exact_copy_fraction"] == 0 and fresh["dcr_ratio"] == 1
    assert fresh["closer_than_holdout_median_fraction"] == 0.5  # the held-out rows against themselves
    # 36 distinct distances: the 5th percentile lies between the 2nd and 3rd smallest (position 0.05 * 35)
    assert fresh["closer_than_holdout_p5_fraction"] == pytest.approx(2 / 36, abs=1e-12)


def test_utility_of_the_real_rows_equals_the_baseline(wine):
    data, codec = wine
    holdout = torch.cat([data.val, data.test])
    u = utility(data.train, holdout, MetricContext(codec=codec), train=data.train, target="class")
    assert u["tstr_accuracy"] == u["trtr_accuracy"] > 0.85 and u["utility_ratio"] == 1
    reg = utility(data.train, holdout, MetricContext(codec=codec), train=data.train, target="alcohol", model="linear")
    assert reg["tstr_r2"] == reg["trtr_r2"] and 0 < reg["trtr_r2"] <= 1
    noise = torch.randn(len(data.train), codec.width, generator=torch.Generator().manual_seed(0))
    assert utility(noise, holdout, MetricContext(codec=codec), train=data.train, target="class")["tstr_accuracy"] < 0.7
    with pytest.raises(ConfigError, match="needs train="):
        utility(data.train, holdout, MetricContext(codec=codec), target="class")
    with pytest.raises(ConfigError, match="needs codec="):
        marginals(data.train, holdout, MetricContext())


def _read(path):
    names, cells, _ = read_csv(path)
    return names, [infer_column(c, n, str(path), 10) for n, c in zip(names, cells, strict=True)]


def test_short_wine_run_writes_a_csv_closer_than_at_initialisation(tmp_path, wine):
    data, codec = wine
    cfg = load_config("wine", overrides=["train.steps=1000", "train.sample_every=0", "train.checkpoint_every=0"])
    start = {}

    class AtStart:
        def on_start(self, trainer):
            start["x"] = trainer.state.gan.sample(len(data.train), generator=torch.Generator().manual_seed(1)).cpu()

    origan.train(cfg, out=tmp_path / "run", callbacks=[AtStart()])
    run = origan.load_run(tmp_path / "run")
    paths = {}
    for name, x in (("init", start["x"]), ("final", run.sample(len(data.train), seed=1))):
        paths[name] = save_samples(x, tmp_path / f"{name}.csv", "table", codec=run.data_info.codec)
    real = codec.decode(data.train)
    ks = {}
    for name, path in paths.items():
        names, columns = _read(path)
        assert names == codec.names
        assert [dtype for _, dtype, _ in columns] == [col.dtype for col in codec.columns]  # types survive
        ks[name] = np.mean(
            [
                ks_2samp(r.astype(float), v.astype(float)).statistic
                for col, r, (v, _, _) in zip(codec.columns, real, columns, strict=True)
                if col.kind == "numeric"
            ]
        )
    assert ks["final"] < 0.7 * ks["init"], ks  # measured: about 0.49 -> 0.24
    report = fidelity_report(run, data, n=200)
    assert set(report) == {"marginals", "correlation", "real_holdout", "utility", "memorisation"}
    assert all(math.isfinite(v) for section in report.values() for v in section.values())
