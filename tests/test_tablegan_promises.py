"""TableGAN keeps the README's reliability promises (issue 18): bad arguments, frames and run files are one-line
UserErrors naming the argument, column or file, raised before anything is written; a fit that fails leaves no
folder behind, so the retry works; sizes are held to the byte budget before anything is drawn or allocated."""

from __future__ import annotations

import copy
import datetime
import decimal
import json
import resource
import shutil
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import origan
from origan.errors import DataError, OptionError, RunDirError, UserError
from origan.limits import ENV_MAX_DATA_BYTES

pd = pytest.importorskip("pandas", reason="the tables extra is not installed (pip install 'origan[tables]')")

FAST = {
    "train.log_every": 1,
    "train.sample_every": 0,
    "train.batch_size": 8,
    "generator.hidden": [8],
    "discriminator.hidden": [8],
}


def _frame(n: int = 40) -> Any:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": np.round(rng.normal(0, 1, n), 3),
            "city": rng.choice(["Lyon", "Paris", "Nice"], n),
            "rooms": rng.integers(1, 5, n).astype(np.int32),
            "grade": pd.Categorical(rng.choice(["a", "b"], n), categories=["b", "a"]),
            "member": rng.random(n) < 0.5,
        }
    )


def _model(out: Path, **kw: object) -> origan.TableGAN:
    return origan.TableGAN(steps=1, overrides=FAST, out=out, **kw)  # type: ignore[arg-type]


def _one_line(err: pytest.ExceptionInfo[BaseException], *names: str) -> str:
    """The message of a UserError that is one line and names each of ``names``."""
    assert isinstance(err.value, UserError), repr(err.value)
    text = str(err.value)
    assert "\n" not in text and "\r" not in text and "\x1b" not in text, text
    for name in names:
        assert name in text, (name, text)
    return text


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> origan.TableGAN:
    return _model(tmp_path_factory.mktemp("promises") / "model").fit(_frame())


# ---------------------------------------------------------------------------------------------------------
# 1, 2: sizes and seeds


@pytest.mark.parametrize("n", [2.5, True, -1, 0, "3", None, 10**30, [3]])
def test_sample_n_is_a_positive_integer_within_the_budget(fitted, n):
    with pytest.raises(OptionError) as err:
        fitted.sample(n)
    _one_line(err, "TableGAN.sample: n")


@pytest.mark.parametrize("seed", [-1, 2**63, 1.0, True, "0"])
def test_sample_seed_is_an_integer_in_range(fitted, seed):
    with pytest.raises(OptionError) as err:
        fitted.sample(3, seed=seed)
    _one_line(err, "TableGAN.sample: seed", "2**63 - 1")


def test_sample_is_held_to_the_byte_budget_and_streams_the_same_rows(fitted, monkeypatch):
    expected = fitted.decode(fitted.run.sample(300, seed=2))  # all at once, as before chunking
    pd.testing.assert_frame_equal(fitted.sample(300, seed=2), expected, check_exact=True)
    assert fitted.sample(np.int64(5), seed=np.uint8(2)).shape == (5, 5)
    monkeypatch.setenv(ENV_MAX_DATA_BYTES, "64K")
    with pytest.raises(OptionError) as err:
        fitted.sample(10**9)  # refused at once: nothing drawn
    _one_line(err, "TableGAN.sample: n", "1,000,000,000 rows", ENV_MAX_DATA_BYTES)
    assert len(fitted.sample(100)) == 100


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"seed": -1}, ("TableGAN: seed", "2**63 - 1")),
        ({"seed": 2**63}, ("TableGAN: seed",)),
        ({"seed": 1.0}, ("TableGAN: seed",)),
        ({"seed": True}, ("TableGAN: seed",)),
        ({"steps": 0}, ("TableGAN: steps", "positive number of G steps")),
        ({"steps": -2}, ("TableGAN: steps",)),
        ({"steps": 10**12}, ("TableGAN: steps", "1,000,000,000")),
        ({"steps": 2.5}, ("TableGAN: steps",)),
        ({"overrides": {"train.steps": 10**30}}, ("train.steps",)),
        ({"overrides": {"train.batch_size": 0}}, ("train.batch_size",)),
        ({"overrides": ["train.steps=3"]}, ("TableGAN: overrides",)),
        ({"overrides": {3: 1}}, ("TableGAN: overrides",)),
        ({"overrides": {"data.drop_columns": ["x"]}}, ("data.drop_columns",)),
        ({"preset": ["csv"]}, ("TableGAN: preset",)),
        ({"preset": "no-such-preset"}, ("no-such-preset",)),
        ({"out": "runs/a\0b"}, ("TableGAN: out", "NUL")),
        ({"out": "~nosuchuser-origan/x"}, ("TableGAN: out", "~nosuchuser-origan")),
        ({"out": 3}, ("TableGAN: out",)),
        ({"overwrite": "yes"}, ("TableGAN: overwrite",)),
    ],
)
def test_constructor_arguments_are_checked_in_one_line(kwargs, names):
    with pytest.raises(UserError) as err:
        origan.TableGAN(**kwargs)
    _one_line(err, *names)


# ---------------------------------------------------------------------------------------------------------
# 3: identifiers and the encoded table's size


def test_an_identifier_column_is_refused_unless_listed(tmp_path, monkeypatch):
    df = _frame().assign(user=[f"u{i:03d}" for i in range(40)])
    model = _model(tmp_path / "m")
    with pytest.raises(DataError) as err:
        model.fit(df)
    _one_line(err, "'user'", "40 distinct values in 40 rows", "identifier", "discrete_columns")
    assert not (tmp_path / "m").exists()
    monkeypatch.setenv(ENV_MAX_DATA_BYTES, "16K")  # rows x (1 + 3 + 1 + 2 + 2 + 400 levels) x 4 bytes: 65 KiB
    wide = _frame(400).assign(user=[f"u{i:03d}" for i in range(400)])
    with pytest.raises(DataError) as err:
        model.fit(wide, discrete_columns=["user"])
    _one_line(err, "TableGAN.fit", "encoded table (400 rows x 409 features)", ENV_MAX_DATA_BYTES)
    assert not (tmp_path / "m").exists()
    monkeypatch.delenv(ENV_MAX_DATA_BYTES)
    model.fit(df, discrete_columns=["user"])  # listed: one-hot encoded anyway
    assert set(model.sample(50)["user"]) <= set(df["user"])


def test_a_wide_categorical_column_is_kept(tmp_path):
    rng = np.random.default_rng(1)
    df = _frame(120).assign(town=rng.choice([f"t{i}" for i in range(30)], 120))  # 30 levels > max_categories=10
    model = _model(tmp_path / "m").fit(df)
    assert model.run.data_info.codec["columns"][-1]["levels"] == sorted(set(df["town"]))


# ---------------------------------------------------------------------------------------------------------
# 5: every check before the run folder, and a clean folder after a failure


def _tz(df):
    return df.assign(when=pd.Timestamp("2020-01-01", tz="UTC"))


BAD_FRAMES = [
    (lambda df: df.assign(x=df["x"].where(df.index != 3, np.inf)), ("'x'", "non-finite value inf", "row 3")),
    (lambda df: df.assign(x=df["x"].where(df.index != 5, -np.inf)), ("'x'", "-inf")),
    (_tz, ("'when'", "datetime64")),
    (lambda df: df.assign(when=datetime.date(2020, 1, 1)), ("'when'", "date value", "row 0")),
    (lambda df: df.assign(when=pd.Series([pd.Timestamp(0)] * len(df), dtype=object)), ("'when'", "Timestamp")),
    (lambda df: df.assign(price=decimal.Decimal("1.5")), ("'price'", "Decimal")),
    (lambda df: df.assign(raw=b"x"), ("'raw'", "bytes")),
    (lambda df: df.assign(mix=[1, "a"] * (len(df) // 2)), ("'mix'", "mixes number values", "text values")),
    (lambda df: df.assign(tags=[["a"]] * len(df)), ("'tags'", "list")),
    (lambda df: df.assign(meta=[{"a": 1}] * len(df)), ("'meta'", "dict")),
    (lambda df: df.assign(big=[2**70, 1] * (len(df) // 2)), ("'big'", "2**63")),
    (lambda df: df.assign(note=["", "a"] * (len(df) // 2)), ("'note'", "empty text")),
    (lambda df: df.assign(note=["\ud800", "a"] * (len(df) // 2)), ("UTF-8",)),
    (lambda df: df.assign(code=["1", "2", "3", "z"] * (len(df) // 4)), ("'code'", "mostly reads as numbers")),
    (lambda df: df.rename(columns={"x": " x"}), ("leading or trailing spaces",)),
    (lambda df: df.set_axis(pd.MultiIndex.from_product([["a"], list(df.columns)]), axis=1), ("tuple",)),
]


@pytest.mark.parametrize(("change", "names"), BAD_FRAMES)
def test_bad_frames_are_refused_before_the_folder_is_made(tmp_path, change, names):
    with pytest.raises(UserError) as err:
        _model(tmp_path / "a" / "m").fit(change(_frame()))
    _one_line(err, "TableGAN.fit", *names)
    assert not (tmp_path / "a").exists()


def test_the_batch_follows_the_rows_and_an_explicit_one_is_checked_before_anything_is_written(tmp_path):
    fitted = origan.TableGAN(steps=1, out=tmp_path / "auto").fit(_frame(40))  # the csv preset's batch is 64
    assert fitted.config.train.batch_size == 32 and fitted.run.config.train.batch_size == 32  # chosen from the rows
    model = origan.TableGAN(steps=1, out=tmp_path / "m", overrides={"train.batch_size": 64})  # asked for: kept
    with pytest.raises(DataError) as err:
        model.fit(_frame(40))
    _one_line(err, "40 rows train", "train.batch_size=64", "at most 40")
    assert not (tmp_path / "m").exists()
    bad = _frame(40).assign(x=np.inf)
    retry = _model(tmp_path / "m")
    with pytest.raises(DataError):
        retry.fit(bad)
    assert not (tmp_path / "m").exists()
    assert len(retry.fit(_frame(40)).sample(3)) == 3  # the same call with the input fixed


def test_a_failure_after_the_folder_is_made_removes_what_fit_wrote(tmp_path):
    class Boom:
        def on_start(self, trainer):
            raise RuntimeError("boom")

    out = tmp_path / "new" / "deeper" / "m"
    with pytest.raises(RuntimeError, match="boom"):
        _model(out).fit(_frame(), callbacks=[Boom()])
    assert not (tmp_path / "new").exists()  # the run folder and the parents fit made
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RuntimeError, match="boom"):
        _model(empty).fit(_frame(), callbacks=[Boom()])
    assert empty.is_dir() and not any(empty.iterdir())  # the user's folder stays, as it was
    _model(out).fit(_frame())  # the retry is not refused with "exists"


def test_a_refused_overwrite_leaves_the_old_run_byte_identical(fitted, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(fitted.run.path, run)
    before = _files(run)
    for bad in (_frame().assign(x=np.inf), _frame(4)):
        with pytest.raises(UserError) as err:
            _model(run, overwrite=True).fit(bad)
        _one_line(err, "TableGAN.fit")
    with pytest.raises(RunDirError) as err:
        _model(run).fit(_frame())
    _one_line(err, str(run), "overwrite=True")
    assert _files(run) == before


@pytest.mark.parametrize(
    ("discrete", "error", "names"),
    [
        ("city", OptionError, ("discrete_columns", "the text 'city'", "['city']")),
        (5, OptionError, ("discrete_columns", "int")),
        (["rooms", "rooms"], OptionError, ("'rooms' twice",)),
        (["nope\n"], DataError, ("'nope\\n', which is not a column",)),
        ([0], DataError, ("names 0, which is not a column",)),
    ],
)
def test_discrete_columns_are_a_list_of_known_columns(tmp_path, discrete, error, names):
    with pytest.raises(error) as err:
        _model(tmp_path / "m").fit(_frame(), discrete_columns=discrete)
    _one_line(err, *names)
    assert not (tmp_path / "m").exists()


def test_integer_column_labels_and_control_characters_round_trip(tmp_path):
    df = _frame()
    df["note"] = np.where(df.index % 2, "two\r\nlines", "tab\there \x1b[31m")
    df.columns = [0, 1, 2, 3, 4, "new\nline"]
    model = _model(tmp_path / "m").fit(df, discrete_columns=[2])  # by label: the integer 2
    assert model.schema is not None
    assert [c["discrete"] for c in model.schema["columns"]] == [False, True, True, True, True, True]
    s = origan.TableGAN.load(tmp_path / "m").sample(60, seed=1)
    assert list(s.columns) == list(df.columns) and s.dtypes.equals(df.dtypes)
    assert set(s["new\nline"]) <= {"two\r\nlines", "tab\there \x1b[31m"}
    with pytest.raises(DataError) as err:
        _model(tmp_path / "n").fit(df.assign(**{"new\nline": np.inf}))
    _one_line(err, "'new\\nline'")


# ---------------------------------------------------------------------------------------------------------
# 4: run files


def _edit(fitted: origan.TableGAN, tmp_path: Path, change) -> Path:
    run = tmp_path / "run"
    shutil.copytree(fitted.run.path, run)
    schema = json.loads((run / "table.json").read_text())
    text = change(schema)
    (run / "table.json").write_text(text if isinstance(text, str) else json.dumps(schema))
    return run


def _set(i, **kw):
    return lambda s: s["columns"][i].update(kw)


TABLE_JSON_EDITS = [
    (lambda s: s["columns"].pop(), "columns: expected the columns of the run's checkpoint"),
    (lambda s: s["columns"].append(dict(s["columns"][0], name="y", label="y")), "columns: expected the columns"),
    (_set(0, name="z", label="z"), "columns: expected the columns"),
    (_set(0, dtype=5), "columns[0].dtype"),
    (_set(0, dtype="no-such-dtype"), "columns[0].dtype"),
    (_set(0, dtype="datetime64[ns]"), "columns[0].dtype"),
    (_set(0, dtype="int64[pyarrow]"), "columns[0].dtype"),
    (_set(1, dtype="int64"), "columns[1] ('city').dtype"),
    (_set(1, levels="Paris"), "columns[1].levels"),
    (_set(1, levels=[["Lyon", "Lyon"], ["Rome", "Rome"], ["Nice", "Nice"]]), "columns[1] ('city').levels"),
    (_set(1, discrete=False), "columns[1]"),
    (_set(0, discrete="no"), "columns[0].discrete"),
    (_set(3, categories=7), "columns[3].categories"),
    (_set(3, categories=["b"]), "columns[3].levels"),
    (_set(3, ordered="yes"), "columns[3].ordered"),
    (lambda s: s["columns"][3].pop("ordered"), "columns[3]"),
    (_set(0, label=[1]), "columns[0].label"),
    (_set(0, extra=1), "columns[0]"),
    (lambda s: s.update(columns={}), "columns"),
    (lambda s: '{"format": "origan-dataframe/1", "columns": [NaN]}', "NaN"),
    (lambda s: "[" * 50_000 + "]" * 50_000, "cannot read"),
    (lambda s: "{", "cannot read"),
    (lambda s: '{"format": "other"}', "unknown format"),
]


@pytest.mark.parametrize(("change", "field"), TABLE_JSON_EDITS)
def test_an_edited_table_json_is_refused_at_load_naming_the_field(fitted, tmp_path, change, field):
    run = _edit(fitted, tmp_path, change)
    with pytest.raises(RunDirError) as err:
        origan.TableGAN.load(run)
    _one_line(err, str(run / "table.json"), field)


def test_load_paths_are_checked_in_one_line(fitted, tmp_path):
    for path, names in [
        (tmp_path / "missing", ("no such run directory",)),
        (fitted.run.path / "config.json", ("a file, not a folder",)),
        ("~nosuchuser-origan/x", ("~nosuchuser-origan",)),
        ("run\0s", ("NUL",)),
        (tmp_path / ("x" * 5000), ("cannot be used",)),
        (7, ("TableGAN.load: path",)),
        (tmp_path / "two\nlines", ("two\\nlines",)),
    ]:
        with pytest.raises(UserError) as err:
            origan.TableGAN.load(path)
        _one_line(err, *names)


# ---------------------------------------------------------------------------------------------------------
# 7: hostile arguments, thrown at random


HOSTILE = [None, True, -1, 0, 1, 3, 2.5, float("nan"), float("inf"), 10**30, -(10**30), 2**63, np.int64(4),
           np.float32(2), "", "3", "a\nb", "\x1b[2J", "~nosuchuser/x", "x\0y", [], [1], {}, {"a": 1}, ("csv",),
           b"csv", object(), Path("/"), 1 + 2j]  # fmt: skip


def _hostile_column(rng: np.random.Generator, n: int) -> object:
    choices = [
        lambda: rng.normal(size=n),
        lambda: rng.integers(-5, 5, n),
        lambda: rng.choice(["a", "b", "c\nd", " e", "7", "07"], n),
        lambda: rng.random(n) < 0.5,
        lambda: pd.Categorical(rng.choice(["p", "q"], n)),
        lambda: [HOSTILE[int(i)] for i in rng.integers(0, len(HOSTILE), n)],
        lambda: np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)),
        lambda: pd.date_range("2020", periods=n),
        lambda: [f"id{i}" for i in range(n)],
        lambda: rng.integers(0, 2**62, n).astype(np.uint64) * 4,
    ]
    benign = rng.random() < 0.6  # the first five: columns fit takes
    return choices[int(rng.integers(5 if benign else len(choices)))]()


def _attempt(call) -> bool:
    """Run ``call``: success (True), or a one-line UserError (False); any other exception fails the test."""
    try:
        call()
    except UserError as e:
        assert "\n" not in str(e) and "\r" not in str(e), str(e)
        return False
    return True


def test_hostile_arguments_give_success_or_one_line_user_errors(fitted, tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_MAX_DATA_BYTES, "4M")  # a huge request is refused before it costs anything
    rng = np.random.default_rng(18)

    def pick() -> Any:
        return HOSTILE[int(rng.integers(len(HOSTILE)))]

    tracemalloc.start()
    try:
        for _ in range(60):
            kw = {k: pick() for k in ("preset", "steps", "seed", "overrides", "out", "overwrite") if rng.random() < 0.4}
            _attempt(lambda kw=kw: origan.TableGAN(**kw))
            _attempt(lambda: fitted.sample(pick(), seed=pick() if rng.random() < 0.5 else 0))
            _attempt(lambda: fitted.decode(pick()))
            _attempt(lambda: origan.TableGAN.load(pick()))
        schema = json.loads((fitted.run.path / "table.json").read_text())
        for i in range(15):  # table.json with one field replaced or removed
            s = copy.deepcopy(schema)
            spec = s["columns"][int(rng.integers(len(s["columns"])))]
            key = sorted(spec)[int(rng.integers(len(spec)))]
            if rng.random() < 0.3:
                del spec[key]
            else:
                spec[key] = pick() if rng.random() < 0.7 else [pick(), pick()]
            run = tmp_path / f"run{i}"
            shutil.copytree(fitted.run.path, run)
            (run / "table.json").write_text(json.dumps(s, default=repr))
            _attempt(lambda run=run: origan.TableGAN.load(run).sample(5))
        fits = []
        for i in range(6):  # frames with hostile columns and hostile discrete_columns
            n = int(rng.integers(2, 60))
            df = pd.DataFrame({f"c{j}": _hostile_column(rng, n) for j in range(int(rng.integers(1, 4)))})
            discrete = [[], [], [f"c{int(rng.integers(3))}"], pick()][int(rng.integers(4))]
            fits.append(
                _attempt(lambda df=df, d=discrete, i=i: _model(tmp_path / f"fit{i}").fit(df, discrete_columns=d))
            )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert True in fits and False in fits  # the draw covers frames that fit and frames that are refused
    assert peak < 2**30, peak
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 < 4 * 2**30  # Linux reports KiB
