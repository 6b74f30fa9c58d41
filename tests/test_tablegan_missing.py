"""TableGAN with missing values: NaN, None and pd.NA in any column are modelled, and come back as the dtype's own
missing value (NaN for float, object and categorical columns, pd.NA for pandas' masked dtypes)."""

import json
import math
import shutil

import numpy as np
import pytest

import origan
from origan.data.tables import TableCodec, infer_column, read_csv
from origan.errors import DataError, RunDirError

pd = pytest.importorskip("pandas", reason="the tables extra is not installed (pip install 'origan[tables]')")

FAST = {"train.log_every": 10, "train.sample_every": 0, "generator.hidden": [16], "discriminator.hidden": [16],
        "train.batch_size": 16}  # fmt: skip
N = 120


def _holes(rng, n, rate):
    return rng.random(n) < rate


def _frame(n=N):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "income": np.where(_holes(rng, n, 0.2), np.nan, np.round(rng.normal(50, 10, n), 2)),
            "city": pd.Series(np.where(_holes(rng, n, 0.25), None, rng.choice(["Paris", "Lyon"], n)), dtype=object),
            "grade": pd.Categorical(np.where(_holes(rng, n, 0.15), None, rng.choice(["a", "b"], n)), ["c", "b", "a"]),
            "kids": pd.array(np.where(_holes(rng, n, 0.1), None, rng.integers(0, 30, n)), dtype="Int64"),
            "floors": np.where(_holes(rng, n, 0.2), np.nan, rng.integers(1, 4, n).astype(np.float64)),  # discrete
            "name": pd.Series(np.where(_holes(rng, n, 0.3), None, rng.choice(["x", "y", "z"], n)), dtype="string"),
            "member": pd.array(np.where(_holes(rng, n, 0.2), None, rng.random(n) < 0.5), dtype="boolean"),
            "age": rng.integers(18, 90, n),  # no missing values: int64 as ever
        }
    )


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    df = _frame()
    out = tmp_path_factory.mktemp("missing") / "model"
    model = origan.TableGAN(steps=20, seed=0, overrides=FAST, out=out).fit(df, discrete_columns=["floors"])
    return df, model


def _training_rows(model):
    path = model.run.path / "table.csv"  # the table the run trained on, encoded by the run's codec
    names, cells, _ = read_csv(path)
    values = [
        infer_column(c, n, str(path), model.config.data.max_categories)[0] for n, c in zip(names, cells, strict=True)
    ]
    return TableCodec.from_json(model.run.data_info.codec).encode(values)


def test_the_training_table_decodes_back_to_the_frame_with_its_missing_values(fitted):
    df, model = fitted
    back = model.decode(_training_rows(model))
    assert back.dtypes.equals(df.dtypes)
    pd.testing.assert_frame_equal(back, df, check_exact=True)
    assert back.isna().sum().tolist() == df.isna().sum().tolist()  # the real missing counts, exactly
    gone = df.isna()
    for col in ("income", "floors", "city"):  # NaN: float columns, and object columns as pandas writes them
        assert all(isinstance(v, float) and math.isnan(v) for v in back[col][gone[col]]), col
    assert back["grade"].cat.codes[gone["grade"]].eq(-1).all()  # a categorical's missing value
    for col in ("kids", "name", "member"):  # pandas' masked dtypes: pd.NA
        assert all(v is pd.NA for v in back[col][gone[col]]), col


def test_the_codec_and_the_schema_record_the_missing_values(fitted):
    _, model = fitted
    codec = TableCodec.from_json(model.run.data_info.codec)
    kinds = {c.name: (c.kind, c.missing, c.levels[-1:]) for c in codec.columns}
    assert kinds["income"] == ("numeric", True, ()) and kinds["kids"] == ("numeric", True, ())
    assert kinds["age"] == ("numeric", False, ())
    for col in ("city", "grade", "floors", "name", "member"):
        assert kinds[col] == ("categorical", False, (None,)), col
    schema = json.loads((model.run.path / "table.json").read_text())
    levels = {s["name"]: s.get("levels") for s in schema["columns"]}
    assert levels["floors"][-1] == [None, None] and sorted(levels["floors"][:-1]) == [[1, 1.0], [2, 2.0], [3, 3.0]]
    assert levels["grade"][-1] == [None, None] and levels["income"] is None


def test_rows_that_carry_a_missing_rate_decode_to_it_in_each_dtype(fitted):
    df, model = fitted
    codec = TableCodec.from_json(model.run.data_info.codec)
    rng = np.random.default_rng(1)
    rows = _training_rows(model)[rng.integers(0, N, 1000)]  # (1000, width)
    flag = rng.random(1000) < 0.35
    sl = codec.slices()
    for name in ("income", "kids"):  # the pair [present, missing]
        rows[:, sl[name].start + 1], rows[:, sl[name].start + 2] = ~flag, flag
    for name in ("city", "grade", "name", "member"):  # the last level (None), or the first
        rows[:, sl[name]] = 0.0
        rows[flag, sl[name].stop - 1], rows[~flag, sl[name].start] = 1.0, 1.0
    back = model.decode(rows)
    assert back.dtypes.equals(df.dtypes)
    for name in ("income", "kids", "city", "grade", "name", "member"):
        assert back[name].isna().tolist() == flag.tolist(), name


def test_samples_keep_the_dtypes_and_only_the_frames_values(fitted, tmp_path):
    df, model = fitted
    s = model.sample(400, seed=3)
    assert s.dtypes.equals(df.dtypes) and list(s.columns) == list(df.columns)
    for col in ("city", "grade", "floors", "name", "member"):  # one-hot columns: values the data had, or missing
        assert set(s[col].dropna()) <= set(df[col].dropna()), col
    loaded = origan.TableGAN.load(model.save(tmp_path / "copy"))  # table.json with missing levels passes load
    pd.testing.assert_frame_equal(loaded.sample(50, seed=1), model.sample(50, seed=1), check_exact=True)


def test_load_refuses_a_dtype_that_cannot_hold_the_missing_values(fitted, tmp_path):
    _, model = fitted
    run = tmp_path / "edited"
    shutil.copytree(model.run.path, run)
    schema = json.loads((run / "table.json").read_text())
    j = next(i for i, s in enumerate(schema["columns"]) if s["name"] == "kids")
    schema["columns"][j]["dtype"] = "int64"  # numpy int64 has no missing value
    (run / "table.json").write_text(json.dumps(schema))
    with pytest.raises(RunDirError, match=rf"columns\[{j}\] \('kids'\)\.dtype: .*cannot hold a missing value"):
        origan.TableGAN.load(run)
    schema["columns"][j]["dtype"] = "Int64"
    k = next(i for i, s in enumerate(schema["columns"]) if s["name"] == "city")
    schema["columns"][k]["levels"][-1] = [None, "Paris"]  # the missing level's pair is [null, null]
    (run / "table.json").write_text(json.dumps(schema))
    with pytest.raises(RunDirError, match=rf"columns\[{k}\]\.levels: expected a non-empty list of pairs"):
        origan.TableGAN.load(run)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda df: df.assign(city=None), "column 'city' has no values \\(every one is missing\\)"),
        (lambda df: df.assign(kids=pd.array([None] * len(df), dtype="Int64")), "column 'kids' has no values"),
        (lambda df: df.assign(income=df["income"].where(df.index != 3, np.inf)), "column 'income' has the non-finite"),
        (lambda df: df.assign(city=df["city"].where(df.index != 3, "")), "column 'city' holds an empty text value"),
    ],
)
def test_frames_that_still_cannot_be_stored_are_refused_in_one_line(tmp_path, change, message):
    with pytest.raises(DataError, match=message) as err:
        origan.TableGAN(steps=2, overrides=FAST, out=tmp_path / "m").fit(change(_frame(40)))
    assert "\n" not in str(err.value)
    assert not (tmp_path / "m").exists()
