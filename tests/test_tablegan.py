"""TableGAN: DataFrames in and out (dtypes, column order, categorical values), save/load as run directories."""

import json

import numpy as np
import pytest

import origan
from origan.cli import main
from origan.data.tables import TableCodec, infer_column, read_csv
from origan.errors import DataError, RunDirError

pd = pytest.importorskip("pandas", reason="the tables extra is not installed (pip install 'origan[tables]')")

FAST = {"train.log_every": 10, "train.sample_every": 0, "generator.hidden": [16], "discriminator.hidden": [16]}


def _frame(n=120):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n).astype(np.int32),
            "income": np.round(rng.normal(50, 10, n), 2),
            "code": rng.choice(["007", "010", "12"], n),  # text that reads as integers
            "member": rng.random(n) < 0.3,
            "grade": pd.Categorical(rng.choice(["b", "a", "c"], n), categories=["c", "b", "a", "z"], ordered=True),
            "rooms": rng.integers(1, 40, n),  # listed as discrete: one-hot over its 39 values
            "score": rng.normal(0, 1, n).astype(np.float32),
            "city": pd.Series(rng.choice(["Paris", "Lyon"], n), dtype="string"),
            "floors": rng.integers(1, 4, n).astype(np.float64),  # whole numbers stored as floats, listed discrete
            7: rng.integers(0, 2, n).astype(np.uint8),  # a column labelled by an integer
        }
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    df = _frame()
    out = tmp_path_factory.mktemp("tables") / "model"
    model = origan.TableGAN(steps=20, seed=0, overrides=FAST, out=out).fit(df, discrete_columns=["rooms", "floors"])
    return df, model


def test_the_training_table_decodes_back_to_the_frame_exactly(fitted):
    df, model = fitted
    path = model.run.path / "table.csv"  # the table the run trained on, encoded in float64 by the run's codec
    names, cells, _ = read_csv(path)
    values = [
        infer_column(c, n, str(path), model.config.data.max_categories)[0] for n, c in zip(names, cells, strict=True)
    ]
    back = model.decode(TableCodec.from_json(model.run.data_info.codec).encode(values))
    assert list(back.columns) == list(df.columns) and back.dtypes.equals(df.dtypes)
    pd.testing.assert_frame_equal(back, df, check_exact=True)


def test_samples_keep_columns_order_dtypes_and_values(fitted):
    df, model = fitted
    s = model.sample(500, seed=3)
    assert len(s) == 500 and list(s.columns) == list(df.columns)
    assert s.dtypes.equals(df.dtypes)  # int32 stays int32, bool bool, the categorical its categories and order
    assert s["grade"].cat.categories.tolist() == ["c", "b", "a", "z"] and s["grade"].cat.ordered
    for col in ("code", "member", "rooms", "city", "floors"):  # one-hot columns: only values the data had
        assert set(s[col]) <= set(df[col]), col
    assert set(map(type, s["code"])) == {str}
    assert model.sample(500, seed=3).equals(s)  # a seed fixes the draw


def test_the_model_is_an_origan_run_and_survives_save_and_load(fitted, tmp_path, capsys):
    df, model = fitted
    run = model.run.path
    assert main(["inspect", str(run)]) == 0
    copy = model.save(tmp_path / "copy")
    assert model.save(run) == run  # already there: nothing to do
    for path in (run, copy):
        loaded = origan.TableGAN.load(path)
        pd.testing.assert_frame_equal(loaded.sample(200, seed=1), model.sample(200, seed=1), check_exact=True)
    assert main(["sample", str(copy), "-n", "5", "--out", str(tmp_path / "s.csv")]) == 0
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == ",".join(map(str, df.columns))
    with pytest.raises(RunDirError, match="exists; expected a new folder"):
        model.save(copy)


def test_load_refuses_a_run_that_fit_did_not_write(tmp_path):
    cfg = origan.load_config("wine", overrides={"train.steps": 2, **FAST})
    origan.train(cfg, out=tmp_path / "wine")
    with pytest.raises(RunDirError, match=r"no table.json; expected a run written by TableGAN.fit"):
        origan.TableGAN.load(tmp_path / "wine")
    (tmp_path / "wine" / "table.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(RunDirError, match="unknown format; expected origan-dataframe/1"):
        origan.TableGAN.load(tmp_path / "wine")


@pytest.mark.parametrize(
    "change, discrete, message",
    [
        (lambda df: df.assign(income=np.nan), (), "column 'income' has no values \\(every one is missing\\)"),
        (lambda df: df, ("nope",), "discrete_columns names 'nope', which is not a column"),
        (lambda df: df, ("income",), "discrete column 'income' holds decimal numbers"),
        (lambda df: df.assign(code=np.where(df.index % 2, "7", "07")), (), "values '07' and '7' read as the same"),
        (lambda df: df.assign(when=pd.Timestamp(0)), (), "column 'when' has dtype datetime64"),
        (lambda df: df.iloc[:1], (), "expected at least 2 rows"),
    ],
)
def test_bad_frames_are_refused_before_anything_is_written(tmp_path, change, discrete, message):
    model = origan.TableGAN(steps=2, out=tmp_path / "m")
    with pytest.raises(DataError, match=message):
        model.fit(change(_frame(20)), discrete_columns=discrete)
    assert not (tmp_path / "m").exists()
    with pytest.raises(RunDirError, match="not fitted yet"):
        model.sample(3)


def test_scikit_learn_estimator_contract(tmp_path):
    """The constructor stores its arguments as given; get_params/set_params/clone work as scikit-learn's do,
    and a refused set_params leaves the model as it was."""
    from sklearn.base import clone

    from origan.errors import OptionError

    overrides = {"train.batch_size": 8}
    model = origan.TableGAN(steps=3, seed=7, overrides=overrides, out=tmp_path / "t")
    params = model.get_params()
    assert params == {
        "preset": "csv",
        "steps": 3,
        "seed": 7,
        "overrides": overrides,
        "out": tmp_path / "t",
        "overwrite": False,
    }
    assert params["overrides"] is overrides  # stored as given, not a copy
    twin = clone(model)
    assert twin is not model and twin.get_params() == params and twin.run is None
    assert twin.config == model.config
    assert model.set_params(seed=9, steps=5) is model
    assert (model.seed, model.config.seed, model.config.train.steps) == (9, 9, 5)
    with pytest.raises(OptionError, match="seed"):
        model.set_params(seed=-1)
    assert (model.seed, model.config.seed) == (9, 9)  # unchanged by the refused change
    with pytest.raises(OptionError, match="unknown parameter 'sede'"):
        model.set_params(sede=1)
