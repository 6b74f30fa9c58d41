"""TableGAN as a CTGAN or SDV user expects it: every row trains, any frame of 2+ rows trains, fresh rows on every
``sample`` call, conditions on discrete columns, validation rows that select the weights, and a fit in memory
that writes nothing until ``save``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import origan
from origan.data import build_dataset
from origan.errors import DataError, OptionError, UserError
from origan.io.checkpoint import load_checkpoint

pd = pytest.importorskip("pandas", reason="the tables extra is not installed (pip install 'origan[tables]')")

FAST = {
    "train.log_every": 5,
    "train.sample_every": 0,
    "generator.hidden": [16],
    "discriminator.hidden": [16],
    "train.threads": 1,
}


def _frame(n: int = 60, seed: int = 0) -> Any:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    return pd.DataFrame(
        {
            "x": np.round(x, 3),
            "city": rng.choice(["Lyon", "Paris", "Nice"], n, p=[0.5, 0.3, 0.2]),
            "rooms": rng.integers(1, 5, n).astype(np.int32),
            "member": rng.random(n) < 0.5,
        }
    )


def _one_line(err: pytest.ExceptionInfo[BaseException], *names: str) -> None:
    assert isinstance(err.value, UserError), repr(err.value)
    text = str(err.value)
    assert "\n" not in text, text
    for name in names:
        assert name in text, (name, text)


@pytest.fixture(scope="module")
def conditional() -> origan.TableGAN:
    return origan.TableGAN(steps=60, seed=1, overrides=FAST).fit(_frame(), condition_column="city")


def test_every_row_trains_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    df = _frame(57)
    model = origan.TableGAN(steps=5, overrides=FAST).fit(df)
    assert list(tmp_path.iterdir()) == []  # in memory: no run folder, no runs/
    assert model.run.path is None and "in memory" in repr(model)
    assert model._memory["state"].sampler.n == 57  # every row, not 80 % of them
    cfg = model.config
    assert (cfg.data.val_fraction, cfg.data.test_fraction, cfg.train.select) == (0.0, 0.0, "none")
    saved = model.save(tmp_path / "saved")
    data = build_dataset(origan.load_run(saved).config.data)
    assert (len(data.train), len(data.val), len(data.test)) == (57, 0, 0)


@pytest.mark.parametrize("rows", [2, 3, 7])
def test_any_frame_of_two_or_more_rows_trains(rows):
    model = origan.TableGAN(steps=3, overrides=FAST).fit(_frame(rows))
    assert model.config.train.batch_size == rows  # at most the rows
    out = model.sample(5, seed=0)
    assert out.shape == (5, 4) and list(out.dtypes) == list(_frame(rows).dtypes)


def test_the_batch_and_the_budget_follow_the_rows():
    assert [origan.tablegan._batch_for(n) for n in (2, 40, 178, 569, 5_000, 10**6)] == [2, 32, 32, 64, 256, 256]
    model = origan.TableGAN(overrides=FAST | {"train.epochs": 3}).fit(_frame(100))  # 100 // 32 = 3 batches
    assert model.config.train.batch_size == 32 and model.run.step == 9
    capped = origan.TableGAN(overrides=FAST | {"train.epochs": 3, "train.max_steps": 4}).fit(_frame(100))
    assert capped.run.step == 4
    assert origan.TableGAN().config.train.epochs == 800  # the preset's default budget: 800 passes
    assert origan.TableGAN(steps=7).config.train.epochs == 0  # steps given: that budget


def test_sample_draws_fresh_rows_unless_given_a_seed():
    model = origan.TableGAN(steps=5, overrides=FAST).fit(_frame())
    a, b = model.sample(20), model.sample(20)
    assert not a.equals(b)  # 20 continuous values each: equal only if the noise repeated
    pd.testing.assert_frame_equal(model.sample(20, seed=4), model.sample(20, seed=4), check_exact=True)


def test_a_condition_on_the_conditional_column_goes_to_the_conditional_g(conditional):
    run = conditional.run
    assert run.conditional and run.config.data.target_column == "city"
    index = run.classes.index("Nice")
    out = conditional.sample(40, seed=3, condition_column="city", condition_value="Nice")
    assert (out["city"] == "Nice").all()
    expected = conditional.decode(run.sample(40, seed=3, labels=index)).assign(city="Nice")  # G(z, y = Nice)
    pd.testing.assert_frame_equal(out, expected, check_exact=True)
    same = conditional.sample(40, seed=3, conditions={"city": "Nice"})
    pd.testing.assert_frame_equal(out, same, check_exact=True)


def test_a_condition_on_another_discrete_column_keeps_the_rows_that_meet_it(conditional):
    out = conditional.sample(30, seed=2, conditions={"member": True, "city": "Lyon"})
    assert len(out) == 30 and out["member"].all() and (out["city"] == "Lyon").all()
    assert out["member"].dtype == bool and out.index.equals(pd.RangeIndex(30))
    free = conditional.sample(200, seed=2)  # what the kept rows were drawn from
    assert set(free.columns) == set(out.columns)


def test_a_value_g_never_draws_is_a_one_line_error(conditional, monkeypatch):
    monkeypatch.setattr(origan.tablegan, "REJECTION_DRAWS", 1)  # draw n rows at most
    drawn = conditional.sample(500, seed=0)
    assert not drawn["member"].all()  # so 500 draws hold fewer than 500 members
    with pytest.raises(DataError) as err:
        conditional.sample(500, seed=0, conditions={"member": True})
    _one_line(err, "TableGAN.sample", "member=True", "fewer than the 500 asked for", "condition_column=")


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"condition_column": "city"}, ["condition_column and condition_value go together"]),
        ({"condition_value": "Nice"}, ["condition_column and condition_value go together"]),
        ({"conditions": {"town": "Nice"}}, ["'town', which is not a column", "'city'"]),
        ({"conditions": {"x": 0.5}}, ["'x', a numeric column", "'city'"]),
        ({"conditions": {"city": "Rome"}}, ["no value 'Rome'", "'Lyon'"]),
        ({"conditions": [("city", "Nice")]}, ["conditions: expected a dict"]),
        ({"conditions": {"city": "Nice"}, "condition_column": "city", "condition_value": "Lyon"}, ["two values"]),
    ],
)
def test_bad_conditions_are_one_line_errors(conditional, kwargs, names):
    with pytest.raises(OptionError) as err:
        conditional.sample(5, seed=0, **kwargs)
    _one_line(err, "TableGAN.sample", *names)


def test_condition_column_must_be_a_discrete_column():
    with pytest.raises(OptionError) as err:
        origan.TableGAN(steps=1, overrides=FAST).fit(_frame(), condition_column="x")
    _one_line(err, "condition_column 'x' is a numeric column")
    with pytest.raises(UserError) as err:
        origan.TableGAN(steps=1, overrides=FAST).fit(_frame(), condition_column="town")
    _one_line(err, "condition_column names 'town', which is not a column")
    with pytest.raises(UserError) as err:
        origan.TableGAN(steps=1, overrides=FAST).fit(_frame(), condition_column=["city"])
    _one_line(err, "condition_column names ['city'], which is not a column")


def test_validation_rows_turn_selection_on_and_are_never_trained_on(tmp_path):
    df, held = _frame(60), _frame(20, seed=5)
    model = origan.TableGAN(steps=20, overrides=FAST | {"train.select_every": 5}, out=tmp_path / "m")
    model.fit(df, validation=held)
    cfg = model.config
    assert (cfg.train.select, cfg.train.patience) == ("table", origan.tablegan.DEFAULT_PATIENCE)
    assert (tmp_path / "m" / "validation.csv").is_file() and cfg.data.val_path.endswith("validation.csv")
    data = build_dataset(cfg.data)
    assert (len(data.train), len(data.val), len(data.test)) == (60, 20, 0)
    pd.testing.assert_frame_equal(model.decode(data.val), held, check_exact=True)  # read back from its own file
    shared = origan.TableGAN(steps=20, overrides=FAST | {"train.select_every": 5}).fit(df, validation=0.25)
    assert shared.config.data.val_fraction == 0.25 and shared._memory["state"].sampler.n == 45
    assert shared._memory["state"].selection.best_step > 0
    plain = origan.TableGAN(steps=20, overrides=FAST | {"train.select": "none"}).fit(df, validation=0.25)
    assert plain.config.train.select == "none"  # overrides win


@pytest.mark.parametrize(
    ("validation", "error", "names"),
    [
        (0.0, OptionError, ["validation: expected a share of the rows in (0, 1), got 0.0"]),
        (1.5, OptionError, ["in (0, 1), got 1.5"]),
        (0.01, OptionError, ["validation=0.01 holds out 1 of the frame's 60 rows", "at least 2"]),
        (True, OptionError, ["validation: expected None, a share of the rows in (0, 1) or a DataFrame, got bool"]),
        ("0.2", OptionError, ["got str"]),
    ],
)
def test_bad_validation_is_a_one_line_error(tmp_path, validation, error, names):
    with pytest.raises(error) as err:
        origan.TableGAN(steps=1, overrides=FAST, out=tmp_path / "m").fit(_frame(), validation=validation)
    _one_line(err, "TableGAN.fit", *names)
    assert not (tmp_path / "m").exists()


def test_a_validation_frame_must_match_the_training_frame(tmp_path):
    df = _frame()
    model = origan.TableGAN(steps=1, overrides=FAST, out=tmp_path / "m")
    for bad, names in (
        (df.drop(columns="rooms"), ["validation: expected the columns of df"]),
        (df.astype({"rooms": np.int64}), ["column 'rooms' has dtype int64; expected int32"]),
        (df.iloc[:1], ["expected at least 2 rows, got 1"]),
    ):
        with pytest.raises(DataError) as err:
            model.fit(df, validation=bad)
        _one_line(err, "TableGAN.fit", *names)
    assert not (tmp_path / "m").exists()


def test_a_model_trained_in_memory_saves_as_a_run_that_samples_and_resumes_exactly(tmp_path):
    df = _frame()
    model = origan.TableGAN(steps=10, seed=3, overrides=FAST).fit(df, validation=0.2)
    before = model.sample(25, seed=1)
    path = model.save(tmp_path / "saved")
    assert model.run.path == path and "path=" in repr(model)
    pd.testing.assert_frame_equal(model.sample(25, seed=1), before, check_exact=True)
    loaded = origan.TableGAN.load(path)
    pd.testing.assert_frame_equal(loaded.sample(25, seed=1), before, check_exact=True)
    out = tmp_path / "x.csv"
    env = dict(os.environ, PYTHONPATH=str(Path(origan.__file__).parents[1]))
    done = subprocess.run(
        [sys.executable, "-m", "origan", "sample", str(path), "-n", "7", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 8
    # a longer fit, and the saved one resumed to the same budget, end in the same weights
    longer = origan.TableGAN(steps=20, seed=3, overrides=FAST).fit(df, validation=0.2)
    resumed = origan.resume(path, overrides={"train.steps": 20})
    assert resumed.step == 20
    trained = load_checkpoint(path / "checkpoints" / "last.json").state  # the training state, not the kept G
    for net in ("G", "D"):
        ours = getattr(longer._memory["state"].gan, net).state_dict()
        assert ours.keys() == trained[net].keys()
        for k, v in ours.items():
            assert torch.equal(v, trained[net][k]), (net, k)
    assert "G_best" in trained["select"]  # the kept weights travel too (scored at steps 10 and 20 here)
    rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [5, 10, 15, 20]


def test_save_refuses_an_existing_path_and_leaves_it_as_it_was(tmp_path):
    model = origan.TableGAN(steps=2, overrides=FAST).fit(_frame())
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "keep.txt").write_text("mine")
    with pytest.raises(UserError) as err:
        model.save(tmp_path / "taken")
    _one_line(err, "exists; expected a new folder")
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["keep.txt"]
    assert model.run.path is None  # still in memory, still samples
    assert len(model.sample(3)) == 3
