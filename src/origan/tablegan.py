"""DataFrames in and out: an estimator over origan's table runs (optional extra: ``pip install 'origan[tables]'``).

```python
import origan
model = origan.TableGAN(seed=0).fit(df, discrete_columns=["city", "rooms"])   # every row, in memory
synthetic = model.sample(1000)                    # a DataFrame: df's columns, order and dtypes; fresh rows
model.save("models/houses")                       # an origan run directory (no pickle)
model = origan.TableGAN.load("models/houses")
```

``fit`` writes the DataFrame as CSV text and trains on it with the ``csv`` dataset, in memory or (with ``out``)
in a run folder, ``RUN/table.csv``; either way ``save`` leaves a normal run: ``origan sample``, ``origan eval``,
``origan inspect`` and ``origan train --resume`` work on it. ``RUN/table.json`` records each column's pandas
dtype and, for discrete columns, which value each encoded level stands for, so ``sample`` gives back the
original types: integers stay integers, booleans booleans, categoricals keep their categories and text its
values. Validation rows (``fit(validation=...)``) choose G's weights (:mod:`origan.training.select`); a
``condition_column`` makes G conditional, so ``sample`` draws rows of one of its values directly.

Columns follow the CTGAN convention: the ``discrete_columns`` (and every text, boolean or categorical column)
are one-hot encoded; the other numeric columns are standardised, integers rounded back on sampling.

Missing values (NaN, None, ``pd.NA``) are allowed in any column but one that is all missing: ``table.csv`` holds
them as empty cells, the codec as one more level of a discrete column or as a ``[value, present, missing]``
block of a numeric one (see :mod:`origan.data.tables`), so G draws them about as often as the frame has them.
``sample`` gives them back as the dtype's own missing value: NaN for float, object and categorical columns,
``pd.NA`` for pandas' masked dtypes (Int64, boolean, string, ...).

Bad input is a one-line :class:`~origan.errors.UserError` naming the argument, column or file, raised before
anything is written: ``fit`` checks the frame, builds the table exactly as the run will read it (codec, split,
batch size, byte budget) and only then creates the run folder; should a later step fail before the first
checkpoint, the folder is removed again, so the same call can be retried. ``load`` checks ``table.json``
field by field and against the codec in the run's checkpoint.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import numbers
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import CheckpointError, DataError, OptionError, RunDirError
from .io.files import write_atomic
from .limits import check_decoded_size, check_int, check_request, regular_file
from .seeding import derive_seed

__all__ = ["SCHEMA_FILE", "TABLE_FILE", "VALIDATION_FILE", "TableGAN"]

TABLE_FILE = "table.csv"
VALIDATION_FILE = "validation.csv"  # fit's validation rows, when given as a DataFrame
DEFAULT_PATIENCE = 10  # fit with validation rows: scores without a better one before it stops
REJECTION_DRAWS = 100  # sample with a condition G does not draw directly: at most this many rows per row asked
_NO_VALUE: Any = object()  # sample(condition_value=...) not given (None asks for missing values)
SCHEMA_FILE = "table.json"
SCHEMA_FORMAT = "origan-dataframe/1"
CHUNK_BYTES = 64 * 2**20  # encoded samples decoded at a time (at most 4096 rows: run.SAMPLE_CHUNK)
_SPEC_KEYS = {"name", "label", "dtype", "discrete", "categories", "ordered", "levels"}


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise DataError("TableGAN: needs the package pandas (pip install 'origan[tables]')") from None
    return pd


def _plain(v: Any) -> Any:
    """A JSON-able Python value of a cell (numpy scalars unwrapped)."""
    return v.item() if isinstance(v, np.generic) else v


def _listing(values: Iterable[Any], most: int = 10) -> str:
    items = list(values)
    shown = ", ".join(repr(v) for v in items[:most])
    return shown + (f", ... ({len(items):,} in all)" if len(items) > most else "")


def _user_path(value: Any, what: str) -> Path:
    """``value`` as a Path (``~`` expanded); a type, a NUL byte or an unknown ``~user`` is a one-line error."""
    if not isinstance(value, (str, os.PathLike)):
        raise OptionError(f"{what}: expected a path (str or os.PathLike), got {type(value).__name__}")
    try:
        text = os.fspath(value)
    except TypeError as e:
        raise OptionError(f"{what}: expected a path, got {type(value).__name__} ({e})") from None
    if not isinstance(text, str) or not text:
        raise OptionError(f"{what}: expected a non-empty path as text, got {text!r:.60}")
    if "\0" in text:
        raise RunDirError(f"{what}: the path {text!r:.60} contains a NUL byte")
    try:
        return Path(text).expanduser()
    except RuntimeError as e:  # ~nosuchuser
        raise RunDirError(f"{what}: cannot expand {text!r:.60} ({e})") from None


def _kind_of(path: Path) -> str:
    """``missing``, ``folder`` or ``other`` (links followed); an unreadable path is a RunDirError."""
    try:
        return "folder" if path.is_dir() else "other" if path.exists() else "missing"
    except OSError as e:  # a name too long, a loop of links, no permission
        raise RunDirError(f"{_short(path)}: cannot be used ({e.strerror or e})") from None


def _short(path: Path) -> str:
    """A path for a one-line message: at most 200 characters (the middle of a longer one elided)."""
    text = str(path)
    return text if len(text) <= 200 else f"{text[:120]}...{text[-60:]}"


# ---------------------------------------------------------------------------------------------------------
# Checking a frame


def _supported_dtype(dtype: Any) -> bool:
    """Whether ``fit`` can store a column of ``dtype``: numbers, booleans, text, objects, categories."""
    pd = _pandas()
    if isinstance(dtype, np.dtype):
        return dtype.kind in "biufO"
    masked = (pd.BooleanDtype, pd.Int8Dtype, pd.Int16Dtype, pd.Int32Dtype, pd.Int64Dtype, pd.UInt8Dtype,
              pd.UInt16Dtype, pd.UInt32Dtype, pd.UInt64Dtype, pd.Float32Dtype, pd.Float64Dtype)  # fmt: skip
    return isinstance(dtype, (pd.CategoricalDtype, pd.StringDtype, *masked))


def _value_kind(v: Any) -> str | None:
    """``text``, ``boolean`` or ``number`` for a value ``fit`` can store; None for any other."""
    if isinstance(v, (str, np.str_)):
        return "text"
    if isinstance(v, (bool, np.bool_)):
        return "boolean"
    if isinstance(v, (numbers.Integral, float, np.floating)) and not isinstance(v, (np.complexfloating,)):
        return "number"
    return None


def _check_values(name: str, values: list[Any], index: Any, what: str) -> None:
    """The values of an object column (or the categories of a categorical one): one kind, storable, finite."""
    kinds: dict[str, int] = {}
    for i, v in enumerate(values):
        kind = _value_kind(v)
        if kind is None:
            raise DataError(
                f"TableGAN.fit: column {name!r} holds a {type(v).__name__} {what} ({_row(index, i)}: {v!r:.60}); "
                "expected numbers, booleans or text (convert the column, e.g. with .astype(str))"
            )
        kinds.setdefault(kind, i)
        if kind == "number":
            if isinstance(v, numbers.Integral) and not -(2**63) <= int(v) < 2**63:
                raise DataError(
                    f"TableGAN.fit: column {name!r} holds the integer {v} ({_row(index, i)}); "
                    "expected integers from -2**63 to 2**63-1"
                )
            if not isinstance(v, numbers.Integral) and not math.isfinite(v):
                raise DataError(
                    f"TableGAN.fit: column {name!r} holds the non-finite value {v!r} ({_row(index, i)}); "
                    "expected finite numbers"
                )
        elif kind == "text" and not str(v).strip():
            raise DataError(
                f"TableGAN.fit: column {name!r} holds an empty text {what} ({_row(index, i)}); expected non-empty text"
            )
    if len(kinds) > 1:
        (a, i), (b, j) = sorted(kinds.items(), key=lambda kv: kv[1])[:2]
        raise DataError(
            f"TableGAN.fit: column {name!r} mixes {a} {what}s ({_row(index, i)}) and {b} {what}s ({_row(index, j)}); "
            "expected one kind per column (convert it, e.g. with .astype(str))"
        )


def _row(index: Any, i: int) -> str:
    return f"row {_plain(index[i])!r:.40}" if index is not None else f"category {i}"


def _label_ok(label: Any) -> bool:
    v = _plain(label)
    return isinstance(v, (str, int, bool)) or (isinstance(v, float) and math.isfinite(v))


def _discrete_names(df: Any, discrete_columns: Any) -> list[str]:
    """The names (``str`` of the labels) of the columns ``discrete_columns`` lists, each by its label or by its
    name; a plain string, an unknown or repeated column is a one-line error."""
    if discrete_columns is None:
        return []
    if isinstance(discrete_columns, (str, bytes)):
        raise OptionError(
            f"TableGAN.fit: discrete_columns: expected a list of column labels, got the text "
            f"{discrete_columns!r:.60} (write [{discrete_columns!r:.60}])"
        )
    try:
        items = list(discrete_columns)
    except TypeError:
        raise OptionError(
            f"TableGAN.fit: discrete_columns: expected a list of column labels, got {type(discrete_columns).__name__}"
        ) from None
    labels = [_plain(c) for c in df.columns]
    names = [str(c) for c in labels]
    out: list[str] = []
    for item in items:
        v = _plain(item)
        if isinstance(v, str) and v in names:
            name = v
        else:
            hits = [n for n, lb in zip(names, labels, strict=True) if type(lb) is type(v) and lb == v]
            if not hits:
                raise DataError(
                    f"TableGAN.fit: discrete_columns names {v!r:.60}, which is not a column ({_listing(names, 20)})"
                )
            name = hits[0]
        if name in out:
            raise OptionError(f"TableGAN.fit: discrete_columns names {name!r} twice; expected each column once")
        out.append(name)
    return out


def _check_frame(df: Any, discrete_columns: Any) -> list[str]:
    """Refuse a frame ``fit`` cannot store and train on (one line naming the column); return the names of
    the listed discrete columns."""
    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"TableGAN.fit: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) < 2 or df.shape[1] < 1:
        raise DataError(f"TableGAN.fit: expected at least 2 rows and 1 column, got shape {df.shape}")
    for label in df.columns:
        if not _label_ok(label):
            raise DataError(
                f"TableGAN.fit: column label {label!r:.60} is a {type(label).__name__}; expected text or a number "
                "(a MultiIndex of columns: flatten it)"
            )
    names = [str(_plain(c)) for c in df.columns]
    if len(set(names)) != len(names) or any(not n.strip() or n != n.strip() for n in names):
        raise DataError(
            f"TableGAN.fit: column names must be unique and non-empty, without leading or trailing spaces, "
            f"got [{_listing(names, 20)}]"
        )
    explicit = _discrete_names(df, discrete_columns)
    for j, name in enumerate(names):
        series = df.iloc[:, j]
        dtype = series.dtype
        if not _supported_dtype(dtype):
            raise DataError(
                f"TableGAN.fit: column {name!r} has dtype {dtype}; expected real numbers, booleans, text or categories"
            )
        missing = series.isna().to_numpy()  # NaN, None, pd.NA: a missing value, stored as an empty cell
        if missing.all():
            raise DataError(
                f"TableGAN.fit: column {name!r} has no values (every one is missing); expected at least one "
                "(drop the column)"
            )
        present = series[~missing] if missing.any() else series
        if isinstance(dtype, pd.CategoricalDtype):
            cats = dtype.categories
            if not _supported_dtype(cats.dtype) or cats.dtype.kind == "O":
                _check_values(name, [_plain(c) for c in cats], None, "category")
        elif pd.api.types.is_object_dtype(dtype) or isinstance(dtype, pd.StringDtype):
            _check_values(name, present.tolist(), present.index, "value")
        elif pd.api.types.is_float_dtype(dtype):
            finite = np.isfinite(present.to_numpy(dtype=np.float64))
            if not finite.all():
                i = int(np.argmin(finite))
                raise DataError(
                    f"TableGAN.fit: column {name!r} has the non-finite value {_plain(present.iloc[i])!r} "
                    f"(row {_plain(present.index[i])!r:.40}); expected finite numbers (NaN for a missing value)"
                )
    return explicit


# ---------------------------------------------------------------------------------------------------------
# The table and its schema


def _column_spec(name: str, series: Any, discrete: bool) -> tuple[list[str], dict[str, Any]]:
    """The CSV cells of one column (a missing value: an empty cell) and its schema entry."""
    pd = _pandas()
    dtype = series.dtype
    spec: dict[str, Any] = {"name": name, "label": _plain(series.name), "dtype": str(dtype), "discrete": discrete}
    if isinstance(dtype, pd.CategoricalDtype):
        spec["categories"] = [_plain(c) for c in dtype.categories]
        spec["ordered"] = bool(dtype.ordered)
    missing = series.isna().to_numpy()
    values = [None if m else _plain(v) for v, m in zip(series.tolist(), missing, strict=True)]

    def cells(text: Any, items: Iterable[Any] = values) -> list[str]:
        return ["" if m else text(v) for v, m in zip(items, missing, strict=True)]

    if discrete and pd.api.types.is_float_dtype(dtype) and all(float(v).is_integer() for v in values if v is not None):
        return cells(lambda v: str(int(v))), spec  # whole numbers stored as floats: levels 1, 2, 3
    if not discrete:
        if pd.api.types.is_integer_dtype(dtype):  # written as floats so the codec keeps them numeric
            return cells(lambda v: f"{int(v)}.0"), spec
        return cells(str, series.to_numpy()), spec  # the shortest text that reads back as the same value
    return cells(str), spec


def _levels(
    cells: list[str], values: list[Any], spec: dict[str, Any], max_categories: int, index: Any, hint: str
) -> list[list[Any]]:
    """Pairs ``[level as the codec reads it, original value]`` of a discrete column; ``[None, None]`` stands for
    its missing values (the codec's last level), whatever their kind (:func:`_restore` gives it back)."""
    from .data.tables import infer_column

    name = spec["name"]
    stripped = [c.strip() for c in cells]  # as the CSV reader gives them
    try:
        read, dtype, _ = infer_column(stripped, name, "TableGAN.fit", max_categories)
    except DataError as e:  # text that mostly reads as numbers: the CSV reader would see a numeric column
        bad = next((i for i, c in enumerate(stripped) if c and not _number_like(c)), None)
        if bad is None:
            raise
        raise DataError(
            f"TableGAN.fit: column {name!r} holds text that mostly reads as numbers, and {values[bad]!r:.40} "
            f"(row {_plain(index[bad])!r:.40}) that does not; expected all numbers or mostly text (map the values "
            "to text labels, e.g. 'n1', 'n2')"
        ) from e
    if dtype == "float":
        raise DataError(
            f"TableGAN.fit: discrete column {name!r} holds decimal numbers; expected integers, text, "
            f"booleans or categories ({hint} to model it as a number)"
        )
    pairs: dict[Any, Any] = {}
    for level, value in zip(read.tolist(), values, strict=True):
        if level is None:  # an empty cell: the missing level, the pair [None, None] (restored by dtype)
            pairs.setdefault(None, None)
            continue
        if pairs.setdefault(level, value) != value:
            raise DataError(
                f"TableGAN.fit: column {name!r}: values {pairs[level]!r:.40} and {value!r:.40} read as the same "
                "level; expected distinct text"
            )
    return [[k, v] for k, v in pairs.items() if k is not None] + ([[None, None]] if None in pairs else [])


def _number_like(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _table(df: Any, explicit: list[str], max_categories: int) -> tuple[str, dict[str, Any], int]:
    """The CSV text, the schema and the ``data.max_categories`` that makes every discrete column one-hot.

    Text, boolean and categorical columns with more levels than ``max_categories`` widen it, as do the
    ``explicit`` discrete columns, except an *identifier*: a text column not listed in ``discrete_columns``
    whose distinct values are more than ``max_categories`` and more than half the rows (a name, an e-mail, a
    key) is refused, since one-hot encoding it costs ``rows x rows`` and teaches G nothing; drop it, or list
    it in ``discrete_columns`` (or give it a categorical dtype) to force it.
    The encoded table (rows x features, float32) is held to the byte budget before any text is made.
    """
    names = [str(_plain(c)) for c in df.columns]
    n = len(df)
    discrete = [name in explicit or _discrete_kind(df.iloc[:, j]) for j, name in enumerate(names)]
    width = 0
    widest = 2
    for j, name in enumerate(names):
        if not discrete[j]:
            width += 1
            continue
        k = int(df.iloc[:, j].nunique())
        width += k
        widest = max(widest, k)
        typed = isinstance(df.iloc[:, j].dtype, _pandas().CategoricalDtype)  # declared categorical: kept
        if name not in explicit and not typed and k > max_categories and 2 * k > n:
            raise DataError(
                f"TableGAN.fit: column {name!r} has {k:,} distinct values in {n:,} rows, like an identifier; "
                f"expected a categorical column (drop it, e.g. df.drop(columns=[{df.columns[j]!r:.40}]), or list "
                "it in discrete_columns to one-hot encode it anyway)"
            )
    check_decoded_size(4 * n * width, "TableGAN.fit", f"the encoded table ({n:,} rows x {width:,} features)")
    max_categories = max(max_categories, widest)
    columns, specs = [], []
    for j, name in enumerate(names):
        series = df.iloc[:, j]
        cells, spec = _column_spec(name, series, discrete[j])
        if spec["discrete"]:
            values = [_plain(v) for v in series.tolist()]
            hint = "leave it out of discrete_columns" if name in explicit else "convert it with .astype(float)"
            spec["levels"] = _levels(cells, values, spec, max_categories, series.index, hint)
        columns.append(cells)
        specs.append(spec)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)  # quoted: no cell can look like a delimiter
    writer.writerow(names)
    writer.writerows(zip(*columns, strict=True))
    schema = {"format": SCHEMA_FORMAT, "columns": specs}
    for spec in specs:  # table.json must be plain JSON: refused here, not half-written later
        try:
            json.dumps(spec, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise DataError(
                f"TableGAN.fit: column {spec['name']!r} cannot be stored in {SCHEMA_FILE} ({e}); "
                "expected numbers, booleans or text"
            ) from None
    return buf.getvalue(), schema, max_categories


def _discrete_kind(series: Any) -> bool:
    """Whether a column can only be discrete: text, booleans, categories."""
    pd = _pandas()
    return not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)


def _encoded(text: str, names: list[str]) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = next((n for n in names if not _utf8(n)), None)
        where = f"the column name {bad!r}" if bad is not None else "a text value"
        raise DataError(
            f"TableGAN.fit: {where} holds {text[e.start : e.end]!r}, which UTF-8 cannot store; expected valid Unicode"
        ) from None


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_table(data: Any, cfg: Any, schema: dict[str, Any]) -> None:
    """Check the dataset built from the table's text exactly as the run reads ``table.csv`` (codec, split, byte
    budget) against the schema, and run the checks training starts with (batch size, finite values, the
    model), before anything is written."""
    from .training.build import build_gan, check_data

    codec = data.info["codec"]["columns"]
    for spec, col in zip(schema["columns"], codec, strict=False):
        if (
            spec["name"] != col["name"]
            or spec["discrete"] != (col["kind"] == "categorical")
            or (spec["discrete"] and {lv for lv, _ in spec["levels"]} != set(col["levels"]))
        ):
            raise DataError(f"TableGAN.fit: column {spec['name']!r} does not read back from CSV as written")
    if len(codec) != len(schema["columns"]):
        raise DataError("TableGAN.fit: the table does not read back from CSV with the columns it was written with")
    train, batch = len(data.train), cfg.train.batch_size
    if batch > train:
        raise DataError(
            f"TableGAN.fit: {train:,} rows train, fewer than train.batch_size={batch} in overrides; expected a "
            f"batch of at most {train:,} (or leave train.batch_size out: it is chosen from the rows)"
        )
    check_data(cfg, data)
    build_gan(cfg, data.shape, data.bounded, n_classes=len(data.classes))


def _undo(path: Path, existed: bool, marker_existed: bool, parents: list[Path]) -> None:
    """Remove what a failed ``fit`` wrote at ``path``: the folder it created (and the empty parents it made),
    or, in a folder that was there before, everything in it but a marker that was there before."""
    from .io.rundir import MARKER

    if not existed:
        shutil.rmtree(path, ignore_errors=True)
        for parent in parents:  # deepest first; only empty ones go
            with contextlib.suppress(OSError):
                parent.rmdir()
        return
    with contextlib.suppress(OSError):
        for child in path.iterdir():
            if child.name == MARKER and marker_existed:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# Restoring the columns


def _restore(values: np.ndarray, spec: dict[str, Any]) -> Any:
    """A pandas Series of decoded values with the column's original dtype.

    Missing values (the level None of a discrete column, NaN of a numeric one) come back as the dtype's own:
    NaN for float, object and categorical columns, ``pd.NA`` for pandas' masked dtypes (Int64, boolean,
    string, ...). A numpy integer or boolean dtype cannot hold one: a ValueError.
    """
    pd = _pandas()
    if spec["discrete"]:
        lookup = {level: value for level, value in spec["levels"]}
        values = np.array([lookup[_plain(v)] for v in values], dtype=object)
        absent = np.array([v is None for v in values], dtype=bool)
    else:
        absent = np.isnan(values.astype(np.float64))
    if "categories" in spec:
        return pd.Series(
            pd.Categorical(values, categories=spec["categories"], ordered=spec["ordered"]), name=spec["label"]
        )
    dtype = pd.api.types.pandas_dtype(spec["dtype"]) if spec["dtype"] != "str" else "str"
    if absent.any() and isinstance(dtype, np.dtype) and dtype.kind in "biu":
        raise ValueError(f"a {dtype} column cannot hold a missing value")
    if not spec["discrete"] and pd.api.types.is_integer_dtype(dtype):  # rounded into the dtype's range
        info = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
        values = np.clip(np.rint(values.astype(np.float64)), info.min, info.max)
    series = pd.Series(values, name=spec["label"]).astype(dtype)
    return series.where(~absent) if absent.any() else series  # the dtype's missing value: NaN or pd.NA


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (str, int, bool)) or (isinstance(v, float) and math.isfinite(v))


def _check_schema(schema: Any, where: str, codec: Any) -> None:
    """Refuse a ``table.json`` that ``fit`` did not write for the run's ``codec``: a RunDirError naming
    ``where`` and the field (``columns[i].dtype``, ...)."""
    pd = _pandas()
    if not isinstance(schema, dict) or schema.get("format") != SCHEMA_FORMAT:
        raise RunDirError(f"{where}: unknown format; expected {SCHEMA_FORMAT}")
    if set(schema) != {"format", "columns"} or not isinstance(schema["columns"], list) or not schema["columns"]:
        raise RunDirError(f"{where}: expected the keys format and columns (a non-empty list of columns)")
    specs = schema["columns"]
    for i, spec in enumerate(specs):
        _check_spec(spec, f"{where}: columns[{i}]", pd)
    names = [s["name"] for s in specs]
    if len(set(names)) != len(names):
        raise RunDirError(f"{where}: columns: names must be unique, got [{_listing(names, 20)}]")
    if names != codec.names:
        raise RunDirError(
            f"{where}: columns: expected the columns of the run's checkpoint ({_listing(codec.names, 20)}), "
            f"got ({_listing(names, 20)})"
        )
    for i, (spec, col) in enumerate(zip(specs, codec.columns, strict=True)):
        field = f"{where}: columns[{i}] ({spec['name']!r})"
        if spec["discrete"] != (col.kind == "categorical"):
            raise RunDirError(
                f"{field}.discrete: expected {col.kind == 'categorical'} (the checkpoint's codec encodes it as "
                f"{col.kind}), got {spec['discrete']}"
            )
        if spec["discrete"]:
            levels = [lv for lv, _ in spec["levels"]]
            if len(levels) != len(col.levels) or set(levels) != set(col.levels):
                raise RunDirError(
                    f"{field}.levels: expected the checkpoint's levels ({_listing(col.levels)}), "
                    f"got ({_listing(levels)})"
                )
            values = np.array(col.levels, dtype=object if col.dtype == "str" or None in col.levels else np.int64)
        else:
            values = np.array([0.0, 1.0, np.nan] if col.missing else [0.0, 1.0])  # NaN: a missing value
        try:  # the values must fit the dtype: what sample would do, on one value per level
            _restore(values, spec)
        except (ValueError, TypeError, KeyError, OverflowError, AttributeError) as e:
            first = (str(e).splitlines() or [type(e).__name__])[0]
            raise RunDirError(f"{field}.dtype: the values do not fit dtype {spec['dtype']!r} ({first:.120})") from None


def _check_spec(spec: Any, field: str, pd: Any) -> None:
    """One column entry of ``table.json``: its keys and the type of each."""
    if not isinstance(spec, dict):
        raise RunDirError(f"{field}: expected an object, got {type(spec).__name__}")
    required = {"name", "label", "dtype", "discrete"}
    if not required <= set(spec) or not set(spec) <= _SPEC_KEYS:
        raise RunDirError(
            f"{field}: expected the keys {', '.join(sorted(_SPEC_KEYS))}, got {', '.join(map(str, spec))}"
        )

    def bad(key: str, expected: str) -> RunDirError:
        return RunDirError(f"{field}.{key}: expected {expected}, got {spec.get(key)!r:.60}")

    if not isinstance(spec["name"], str) or not spec["name"]:
        raise bad("name", "a non-empty string")
    if not _is_scalar(spec["label"]) or str(spec["label"]) != spec["name"]:
        raise bad("label", f"text or a number whose text is the name {spec['name']!r}")
    if not isinstance(spec["discrete"], bool):
        raise bad("discrete", "true or false")
    if not isinstance(spec["dtype"], str):
        raise bad("dtype", "a pandas dtype name")
    if spec["dtype"] != "str":
        try:
            dtype = pd.api.types.pandas_dtype(spec["dtype"])
        except Exception:  # untrusted text: pandas raises TypeError, ImportError, even NameError (no pyarrow)
            raise bad("dtype", "a pandas dtype name such as int64, float32, bool, object or category") from None
        if not _supported_dtype(dtype):
            raise bad("dtype", "the dtype of numbers, booleans, text or categories")
        if not spec["discrete"] and not (
            pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        ):
            raise bad("dtype", "a numeric dtype (the column is not discrete)")
        if isinstance(dtype, pd.CategoricalDtype) != ("categories" in spec):
            raise bad("dtype", "category exactly when the column has categories")
    elif "categories" in spec:
        raise bad("dtype", "category (the column has categories)")
    if ("categories" in spec) != ("ordered" in spec):
        raise RunDirError(f"{field}: expected both categories and ordered, or neither")
    if "categories" in spec:
        cats = spec["categories"]
        if not isinstance(cats, list) or not all(_is_scalar(c) for c in cats) or len(set(map(repr, cats))) != len(cats):
            raise bad("categories", "a list of distinct numbers, booleans or strings")
        if not isinstance(spec["ordered"], bool):
            raise bad("ordered", "true or false")
    if spec["discrete"] != ("levels" in spec):
        raise RunDirError(f"{field}: expected levels exactly when discrete is true")
    if "levels" in spec:
        levels = spec["levels"]
        if (
            not isinstance(levels, list)
            or not levels
            or not all(
                isinstance(p, list)
                and len(p) == 2
                and (
                    p == [None, None]  # the missing level
                    or (isinstance(p[0], (str, int)) and not isinstance(p[0], bool) and _is_scalar(p[1]))
                )
                for p in levels
            )
        ):
            raise bad("levels", "a non-empty list of pairs [level (integer or text), value] ([null, null]: missing)")
        keys = [p[0] for p in levels]
        if len(set(keys)) != len(keys):
            raise bad("levels", "distinct levels")
        if "categories" in spec:
            cats = {repr(c) for c in spec["categories"]}
            outside = next((v for k, v in levels if k is not None and repr(v) not in cats), None)
            if outside is not None:
                raise RunDirError(f"{field}.levels: value {outside!r:.60} is not one of the categories")


# ---------------------------------------------------------------------------------------------------------
# The estimator


PARAMS = ("preset", "steps", "seed", "overrides", "out", "overwrite")  # the constructor's, in its order


class TableGAN:
    """An origan GAN for a DataFrame: ``fit``, ``sample``, ``save``, ``load``.

    Args:
        preset: the config to start from (``csv``: MLP G and D for tables; see ``origan presets``).
        steps: the training budget in G steps, at least 1 (default: the preset's; the table presets train 800
            passes over the rows, at most 20,000 steps). The batch is chosen from the rows (an eighth of them,
            a power of 2 from 32 to 256, at most the rows) unless ``overrides`` set ``train.batch_size``.
        seed: the run's seed, an integer in ``[0, 2**63 - 1]`` (a seed fixes the run).
        overrides: further ``{"dotted.key": value}`` config overrides, e.g. ``{"train.batch_size": 128}``.
        out: the run directory ``fit`` writes; None (the default) trains in memory and writes nothing until
            :meth:`save`.
        overwrite: replace an existing run directory at ``out``.

    Every argument is checked here, in one line naming it (:data:`origan.limits.BOUNDS`).

    A text column with more distinct values than ``data.max_categories`` and than half the rows looks like an
    identifier and is refused by ``fit``: drop it, or name it in ``discrete_columns`` to one-hot encode it anyway
    (the encoded table, rows x levels, is still held to ``$ORIGAN_MAX_DATA_BYTES``).
    """

    def __init__(
        self,
        preset: str = "csv",
        steps: int | None = None,
        seed: int = 0,
        overrides: Mapping[str, Any] | None = None,
        out: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
    ) -> None:
        # scikit-learn's estimator contract: the constructor stores its arguments as given (get_params returns
        # them, clone rebuilds the model from them); they are also checked here, so a bad one fails at once
        self.preset, self.steps, self.seed, self.overrides = preset, steps, seed, overrides
        self.out, self.overwrite = out, overwrite
        self.config = self._resolve()
        self.run: Any = None
        self.schema: dict[str, Any] | None = None
        self.codec: Any = None
        self._memory: dict[str, Any] | None = None  # a fit in memory: what save() writes (state, table, rows)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's arguments, by name (scikit-learn's ``get_params``; ``deep`` has nothing to reach)."""
        return {name: getattr(self, name) for name in PARAMS}

    def set_params(self, **params: Any) -> TableGAN:
        """Change constructor arguments (checked as the constructor checks them); a later ``fit`` uses them."""
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise OptionError(
                f"TableGAN.set_params: unknown parameter {unknown[0]!r}; expected one of {', '.join(PARAMS)}"
            )
        before = self.get_params()
        for name, value in params.items():
            setattr(self, name, value)
        try:
            self.config = self._resolve()
        except BaseException:
            for name, value in before.items():  # a refused change leaves the model as it was
                setattr(self, name, value)
            raise
        return self

    def _resolve(self) -> Any:
        """The config of the constructor's arguments, each checked in one line naming it."""
        from .config import load_config

        preset, steps, seed, overrides = self.preset, self.steps, self.seed, self.overrides
        out, overwrite = self.out, self.overwrite

        if not isinstance(preset, str):
            raise OptionError(f"TableGAN: preset: expected a preset name, got {type(preset).__name__}")
        seed = check_int(seed, "TableGAN: seed", "seed")
        budget: dict[str, int] = {}
        if steps is not None:
            budget["train.steps"] = check_int(steps, "TableGAN: steps", "steps")
            if budget["train.steps"] == 0:
                raise OptionError("TableGAN: steps: expected a positive number of G steps to train, got 0")
        if overrides is not None and (
            not isinstance(overrides, Mapping) or not all(isinstance(k, str) for k in overrides)
        ):
            raise OptionError(
                'TableGAN: overrides: expected a dict of dotted keys to values, e.g. {"train.batch_size": 128}'
            )
        if not isinstance(overwrite, bool):
            raise OptionError(f"TableGAN: overwrite: expected True or False, got {overwrite!r:.60}")
        if out is not None:
            _user_path(out, "TableGAN: out")
        cfg = load_config(preset, overrides={"seed": seed, **budget, **dict(overrides or {})})
        check_int(cfg.train.steps, "TableGAN: train.steps", "steps")
        check_int(cfg.train.batch_size, "TableGAN: train.batch_size", "batch_size")
        if cfg.data.drop_columns:
            raise OptionError(
                "TableGAN: data.drop_columns: not supported (the model's columns are the frame's); "
                "drop the columns from the DataFrame instead"
            )
        return cfg

    def fit(
        self,
        df: Any,
        discrete_columns: Iterable[Any] | None = (),
        callbacks: Iterable[Any] = (),
        *,
        validation: Any = None,
        condition_column: Any = None,
    ) -> TableGAN:
        """Train on every row of ``df``; ``discrete_columns`` (labels or their text) are one-hot encoded besides
        text, boolean and category columns.

        Args:
            validation: None (every row trains, no selection), a share in (0, 1) of ``df``'s rows held out by a
                fixed permutation (``data.split_seed``), or a DataFrame of validation rows with ``df``'s columns
                and dtypes. With validation rows the fit scores G on them every ``train.select_every`` steps and
                keeps the weights of the best score (``train.select = "table"``: fidelity less a penalty for rows
                closer to the training rows than held-out rows are), stopping after ``train.patience`` scores
                without a better one, unless ``overrides`` set these keys.
            condition_column: a discrete column to train G conditioned on (``train.conditional``), so that
                ``sample(n, condition_column=..., condition_value=...)`` draws rows of one value directly.

        Without ``out`` the model trains in memory and writes nothing (``save`` writes it as a run folder);
        with ``out`` it is a run folder from the start. Every check passes before anything is written.
        """
        return self._fit(df, discrete_columns, callbacks, validation, condition_column)

    def _fit(self, df: Any, discrete_columns: Any, callbacks: Any, validation: Any, condition_column: Any) -> TableGAN:
        from .data.tables import csv_dataset
        from .io import tensorboard
        from .training.build import check_registered, resolve_device
        from .training.session import resolve_precision

        try:
            callbacks = list(callbacks)
        except TypeError:
            raise OptionError(f"TableGAN.fit: callbacks: expected a list, got {type(callbacks).__name__}") from None
        path = self._check_out() if self.out is not None else None
        explicit = _check_frame(df, discrete_columns)
        val_frame, fraction = _check_validation(df, validation, discrete_columns)
        full = df if val_frame is None else _pandas().concat([df, val_frame])
        text, schema, max_categories = _table(full, explicit, self.config.data.max_categories)
        train_text, val_text = _split_csv(text, len(df)) if val_frame is not None else (text, None)
        del text
        condition = _condition_name(df, condition_column, schema)
        n_train = len(df) - (round(len(df) * fraction) if fraction else 0)
        cfg = self.config.replace(**self._fit_overrides(max_categories, fraction, val_frame, condition, n_train))
        if path is not None:
            try:
                where = path.resolve()
            except (OSError, RuntimeError) as e:  # a loop of links
                raise RunDirError(f"{_short(path)}: cannot be used ({e})") from None
            files = {"data.path": str(where / TABLE_FILE)}
            if val_text is not None:
                files["data.val_path"] = str(where / VALIDATION_FILE)
            cfg = cfg.replace(**files)
        cfg = check_registered(cfg.validate())
        tensorboard.enabled(cfg.train.tensorboard)  # on without the package: refused before writing
        device = resolve_device(cfg.train.device)
        cfg = resolve_precision(cfg, device)  # train.autocast = auto decided, as the run records it
        data = csv_dataset(train_text, cfg.data, "TableGAN.fit", val_text, "TableGAN.fit: validation")
        _check_table(data, cfg, schema)
        texts = {TABLE_FILE: _encoded(train_text, [s["name"] for s in schema["columns"]])}
        if val_text is not None:
            texts[VALIDATION_FILE] = _encoded(val_text, [s["name"] for s in schema["columns"]])
        del train_text, val_text
        if path is None:
            self._fit_in_memory(cfg, data, device, schema, texts, callbacks)
        else:
            self._fit_folder(cfg, data, device, schema, texts, callbacks, path)
        return self

    def _check_out(self) -> Path:
        """``out`` as a path a new run may be written to (checked before anything is read or written)."""
        from .io.rundir import RunDir

        path = _user_path(self.out, "TableGAN: out")
        if _kind_of(path) == "other":
            raise RunDirError(f"{path}: exists and is not a folder; expected a new run directory (TableGAN: out)")
        try:
            RunDir.check_new(path, self.overwrite)
        except RunDirError as e:  # worded for the API, not the command line
            if "run directory exists" in str(e):
                raise RunDirError(f"{path}: run directory exists; pass overwrite=True to replace it") from None
            if "holds no origan run" in str(e):
                raise RunDirError(
                    f"{path}: overwrite=True refused: the folder is not empty and holds no origan run; "
                    "expected a new folder or a run to replace"
                ) from None
            raise
        return path

    def _fit_overrides(
        self, max_categories: int, fraction: float, val_frame: Any, condition: str | None, n_train: int
    ) -> dict[str, Any]:
        """The config keys a fit sets: the table, its split, selection with validation rows, the condition, and a
        batch no larger than the training rows (unless ``overrides`` name these keys)."""
        given = set(_flat_keys(self.overrides or {}))
        keys: dict[str, Any] = {
            "data.name": "csv",
            "data.path": "",
            "data.max_categories": max_categories,
            "data.val_fraction": fraction,
            "data.test_fraction": 0.0,
        }
        if condition is not None:
            keys |= {"data.target_column": condition, "train.conditional": True}
        if "train.batch_size" not in given:  # any frame of 2+ rows trains
            keys["train.batch_size"] = _batch_for(n_train)
        if (fraction or val_frame is not None) and "train.select" not in given:
            keys["train.select"] = "table"
            if "train.patience" not in given:
                keys["train.patience"] = DEFAULT_PATIENCE
        return keys

    def _fit_in_memory(
        self, cfg: Any, data: Any, device: Any, schema: dict[str, Any], texts: dict[str, bytes], callbacks: list[Any]
    ) -> None:
        from .data import DataInfo
        from .run import Run
        from .training.build import build_state
        from .training.select import Selector, best_sampler
        from .training.trainer import Trainer

        built = build_state(cfg, device, 0, data=data)
        rows: list[dict[str, Any]] = []
        selector = Selector(cfg, data, built.state) if cfg.train.select != "none" else None
        Trainer(cfg, built.state, write_row=rows.append, callbacks=callbacks, selector=selector).fit()
        info = DataInfo.of(data)
        gan = best_sampler(built.state.gan, built.state.selection)
        self.config, self.schema = cfg, schema
        self.run = Run(None, cfg, gan, built.state.step, info, None)
        self.codec = self._codec_of(self.run)
        self._memory = {"state": built.state, "info": info, "texts": texts, "rows": rows}

    def _fit_folder(
        self,
        cfg: Any,
        data: Any,
        device: Any,
        schema: dict[str, Any],
        texts: dict[str, bytes],
        callbacks: list[Any],
        path: Path,
    ) -> None:
        from . import run as run_api
        from .io.checkpoint import ever_checkpointed
        from .io.rundir import MARKER
        from .training.build import build_state
        from .training.session import create_run, fit_run

        parents = []
        for parent in path.absolute().parents:
            if _kind_of(parent) != "missing":
                break
            parents.append(parent)
        existed = _kind_of(path) == "folder"
        marker_existed = existed and (path / MARKER).exists()
        try:
            run = create_run(path, cfg, overwrite=self.overwrite)  # the table lives in the run it trains
            try:
                for name, blob in texts.items():
                    write_atomic(path / name, blob)
                run.write_json(SCHEMA_FILE, schema)
            except OSError as e:
                raise RunDirError(f"{path}: cannot write the table ({e.strerror or e})") from None
            fit_run(cfg, run, build_state(cfg, device, 0, data=data), callbacks)
        except BaseException:
            if not ever_checkpointed(path / "checkpoints"):  # nothing to resume: leave the folder as it was
                _undo(path, existed, marker_existed, parents)
            raise
        self.config, self.schema = cfg, schema
        self.run = run_api.load_run(path)  # as load() reads it: sampling after fit and after load agree
        self.codec = self._codec_of(self.run)
        self._memory = None

    def _fitted(self) -> tuple[Any, dict[str, Any], Any]:
        if self.run is None or self.schema is None:
            raise RunDirError("TableGAN: not fitted yet; call fit(df) or TableGAN.load(path) first")
        if self.codec is None:
            self.codec = self._codec_of(self.run)
        return self.run, self.schema, self.codec

    @staticmethod
    def _codec_of(run: Any) -> Any:
        from .data.tables import TableCodec

        try:
            return TableCodec.from_json(run.data_info.codec)
        except DataError as e:
            raise CheckpointError(f"{run.checkpoint}: not a TableGAN run ({e})") from None

    def sample(
        self,
        n: int,
        seed: int | None = None,
        condition_column: Any = None,
        condition_value: Any = _NO_VALUE,
        conditions: Mapping[Any, Any] | None = None,
    ) -> Any:
        """``n`` synthetic rows as a DataFrame with the training frame's columns, order and dtypes.

        Args:
            n: rows to draw, held to the byte budget before the first one is drawn.
            seed: None draws fresh rows on every call; an integer draws the same rows every time.
            condition_column, condition_value: rows whose discrete column holds this value (CTGAN's form).
            conditions: ``{column: value}`` for one or more discrete columns (with the pair above, both hold).

        A condition on the column ``fit`` was given as ``condition_column`` goes to the conditional G, which
        draws rows of that value directly (the column holds the value asked for); conditions on other discrete
        columns keep the drawn rows that meet them, drawing up to ``REJECTION_DRAWS`` times ``n`` rows before a
        DataError says how rare they are. Rows are drawn and decoded in chunks, so memory follows one chunk and
        the output frame.
        """
        n = check_int(n, "TableGAN.sample: n", "samples")
        seed = _fresh_seed() if seed is None else check_int(seed, "TableGAN.sample: seed", "seed")
        run, schema, codec = self._fitted()
        wanted = _conditions(schema, codec, condition_column, condition_value, conditions)
        check_request(n, _row_bytes(codec, schema), "TableGAN.sample: n", "rows")
        chunk = max(16, min(4096, CHUNK_BYTES // (4 * codec.width)))
        labels = None
        fixed: dict[int, Any] = {}
        target = codec.names.index(run.config.data.target_column) if run.conditional else -1
        if target in wanted:  # the conditional G draws this value directly
            fixed[target] = wanted.pop(target)
            labels = codec.columns[target].levels.index(fixed[target])
        if not wanted:
            return self._frame(run.sample_chunks(n, seed=seed, chunk=chunk, labels=labels), fixed=fixed)
        parts, found, drawn, i = [], 0, 0, 0
        while found < n and drawn < REJECTION_DRAWS * n:
            rows = min(max(2 * (n - found), chunk), REJECTION_DRAWS * n - drawn)
            draw_seed = derive_seed(seed, f"condition-{i}") if i else seed
            part = self._frame(run.sample_chunks(rows, seed=draw_seed, chunk=chunk, labels=labels), fixed, wanted)
            parts.append(part)
            found, drawn, i = found + len(part), drawn + rows, i + 1
        if found < n:
            what = ", ".join(f"{codec.names[j]}={_shown(schema, j, lv)}" for j, lv in wanted.items())
            raise DataError(
                f"TableGAN.sample: {found:,} of {drawn:,} drawn rows have {what} ({found / drawn:.2%}), fewer than "
                f"the {n:,} asked for; expected a value G draws more often (fit with condition_column= to draw it "
                "directly)"
            )
        return _pandas().concat(parts, ignore_index=True).iloc[:n]

    def decode(self, x: Any) -> Any:
        """A DataFrame of encoded rows ``x`` ``(n, width)`` (samples of G, or rows of the training table)."""
        return self._frame([x])

    def _frame(
        self, chunks: Iterable[Any], fixed: dict[int, Any] | None = None, keep: dict[int, Any] | None = None
    ) -> Any:
        """The DataFrame of encoded chunks, decoded chunk by chunk and restored column by column; ``fixed``: columns
        (by index) set to one codec level; ``keep``: only the rows whose columns hold these levels."""
        _, schema, codec = self._fitted()
        pd = _pandas()
        parts: list[list[np.ndarray]] = [[] for _ in codec.columns]
        for chunk in chunks:
            x = _rows_of(chunk, codec.width)
            if not np.isfinite(x).all():
                raise DataError(
                    "TableGAN: the encoded rows hold NaN or Inf values; expected finite numbers (samples of a G "
                    "whose training diverged hold them: train again, e.g. with a smaller learning rate)"
                )
            columns = codec.decode(x)
            for j, level in (fixed or {}).items():
                columns[j] = _filled(columns[j], level)
            if keep:
                mask = np.ones(len(x), dtype=bool)
                for j, level in keep.items():
                    mask &= _matches(columns[j], level)
                columns = [values[mask] for values in columns]
            for j, values in enumerate(columns):
                parts[j].append(values)
        series = []
        for j, spec in enumerate(schema["columns"]):
            values = np.concatenate(parts[j])
            parts[j] = []
            series.append(_restore(values, spec))
        return pd.concat(series, axis=1)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the model as a run directory at ``path`` (a copy of its run folder, or, for a model trained in
        memory, the folder ``fit(out=...)`` would have written: table, schema, config, metrics, checkpoint);
        nothing to do when it is already there. Returns ``path``."""
        run, schema, _ = self._fitted()
        dest = _user_path(path, "TableGAN.save: path")
        memory = self._memory
        if memory is None and run.path is not None:
            source = Path(run.path).resolve()
            if _kind_of(dest) == "folder" and dest.resolve() == source:
                return dest
        if _kind_of(dest) != "missing":
            raise RunDirError(f"{dest}: exists; expected a new folder to save the model to")
        if memory is not None:
            return self._save_memory(dest, memory, schema)
        if dest.absolute().resolve().is_relative_to(source):
            raise RunDirError(f"{dest}: inside the run folder {source}; expected a folder outside it")
        try:
            shutil.copytree(source, dest)
        except (OSError, shutil.Error) as e:
            shutil.rmtree(dest, ignore_errors=True)
            raise RunDirError(f"{dest}: cannot save the model ({_first_line(e)})") from None
        return dest

    def _save_memory(self, dest: Path, memory: dict[str, Any], schema: dict[str, Any]) -> Path:
        """Write a model trained in memory as a run folder at ``dest``; the model then samples from it."""
        from . import run as run_api
        from .training.session import create_run, write_checkpoint

        try:
            where = dest.absolute().resolve()
        except (OSError, RuntimeError) as e:
            raise RunDirError(f"{_short(dest)}: cannot be used ({e})") from None
        files = {"data.path": str(where / TABLE_FILE)}
        if VALIDATION_FILE in memory["texts"]:
            files["data.val_path"] = str(where / VALIDATION_FILE)
        cfg = self.config.replace(**files)
        try:
            try:
                run = create_run(dest, cfg)
                for name, blob in memory["texts"].items():
                    write_atomic(dest / name, blob)
                run.write_json(SCHEMA_FILE, schema)
                for row in memory["rows"]:
                    run.append_metrics(row)
            except OSError as e:
                raise RunDirError(f"{dest}: cannot save the model ({e.strerror or e})") from None
            write_checkpoint(run, cfg, memory["info"], memory["state"], "end")
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
        self.config = cfg
        self.run = run_api.load_run(dest)
        self.codec = self._codec_of(self.run)
        self._memory = None
        return dest

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TableGAN:
        """A fitted TableGAN from a run directory ``fit`` (or :meth:`save`) wrote.

        ``table.json`` is checked field by field and against the codec in the run's newest checkpoint, so an
        edited or foreign file is a one-line RunDirError naming it and the field, never a failure in ``sample``.
        """
        return cls._load(path)

    @classmethod
    def _load(cls, path: Any) -> TableGAN:
        from .run import load_run

        path = _user_path(path, "TableGAN.load: path")
        kind = _kind_of(path)
        if kind == "missing":
            raise RunDirError(f"{path}: no such run directory")
        if kind != "folder":
            raise RunDirError(f"{path}: a file, not a folder; expected a run directory written by TableGAN.fit")
        where = path / SCHEMA_FILE
        if _kind_of(where) == "missing":
            raise RunDirError(f"{path}: no {SCHEMA_FILE}; expected a run written by TableGAN.fit")
        try:
            check_decoded_size(regular_file(where, f"the {SCHEMA_FILE} of a TableGAN run"), where, SCHEMA_FILE)
        except DataError as e:
            raise RunDirError(str(e)) from None
        try:
            schema = json.loads(where.read_text(encoding="utf-8"), parse_constant=_no_constant)
        except (OSError, ValueError, RecursionError) as e:
            raise RunDirError(f"{where}: cannot read ({_first_line(e)})") from None
        if not isinstance(schema, dict) or schema.get("format") != SCHEMA_FORMAT:
            raise RunDirError(f"{where}: unknown format; expected {SCHEMA_FORMAT}")
        run = load_run(path)
        codec = cls._codec_of(run)
        _check_schema(schema, str(where), codec)
        model = cls.__new__(cls)  # the run's own config, not a preset's: get_params gives its seed, budget, place
        model.preset, model.steps, model.seed, model.overrides = "csv", run.config.train.steps, run.config.seed, None
        model.config, model.out, model.overwrite = run.config, run.path, False
        model.run, model.schema, model.codec = run, schema, codec
        model._memory = None
        return model

    def __repr__(self) -> str:
        if self.run is None:
            where = "not fitted"
        elif self.run.path is None:
            where = f"in memory, step={self.run.step}"
        else:
            where = f"path={str(self.run.path)!r}, step={self.run.step}"
        return f"TableGAN({where})"


def _rows_of(x: Any, width: int) -> np.ndarray:
    """``x`` (a tensor or array of encoded rows) as float64; anything else is a one-line DataError."""
    import torch

    try:
        return x.detach().cpu().double().numpy() if isinstance(x, torch.Tensor) else np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise DataError(f"TableGAN.decode: expected an (n, {width}) array of numbers, got {type(x).__name__}") from None


def _row_bytes(codec: Any, schema: dict[str, Any]) -> int:
    """Bytes one sampled row may take: its encoded features (float32) and, per column, the decoded value and
    the frame's copy (8 bytes each) and the longest text among its values."""
    total = 4 * codec.width
    for spec in schema["columns"]:
        text = max((len(str(v).encode("utf-8", "replace")) for _, v in spec.get("levels", ())), default=0)
        total += 16 + text
    return total


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return (text.splitlines() or [type(e).__name__])[0][:200]


def _batch_for(rows: int) -> int:
    """The batch of a fit on ``rows`` training rows: about an eighth of them, as a power of 2 from 32 to 256
    (wine's 178 rows: 32, breast-cancer's 569: 64, 5,000 rows: 256), never more than the rows."""
    power = 2 ** round(math.log2(max(rows, 1) / 8))
    return min(rows, max(32, min(256, power)))


def _fresh_seed() -> int:
    """A seed no call has used: fresh rows for ``sample`` without a seed."""
    return int.from_bytes(os.urandom(8), "big") >> 1


def _flat_keys(overrides: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    """The dotted keys ``overrides`` sets (nested dicts flattened)."""
    for key, value in overrides.items():
        if isinstance(value, Mapping):
            yield from _flat_keys(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def _check_validation(df: Any, validation: Any, discrete_columns: Any) -> tuple[Any, float]:
    """``fit``'s validation rows: (a DataFrame or None, the share of ``df`` held out); a one-line error else."""
    pd = _pandas()
    if validation is None:
        return None, 0.0
    if isinstance(validation, pd.DataFrame):
        if [str(_plain(c)) for c in validation.columns] != [str(_plain(c)) for c in df.columns]:
            raise DataError(
                f"TableGAN.fit: validation: expected the columns of df ({_listing(list(df.columns), 20)}), "
                f"got ({_listing(list(validation.columns), 20)})"
            )
        for (name, a), b in zip(df.dtypes.items(), validation.dtypes, strict=True):
            if a != b:
                raise DataError(f"TableGAN.fit: validation: column {name!r} has dtype {b}; expected {a}, as in df")
        if len(validation) < 2:
            raise DataError(f"TableGAN.fit: validation: expected at least 2 rows, got {len(validation)}")
        _check_frame(validation, discrete_columns)
        return validation, 0.0
    if isinstance(validation, bool) or not isinstance(validation, numbers.Real):
        raise OptionError(
            f"TableGAN.fit: validation: expected None, a share of the rows in (0, 1) or a DataFrame, "
            f"got {type(validation).__name__}"
        )
    share = float(validation)
    if not 0 < share < 1:
        raise OptionError(f"TableGAN.fit: validation: expected a share of the rows in (0, 1), got {validation!r}")
    held = round(len(df) * share)
    if held < 2 or len(df) - held < 2:
        raise OptionError(
            f"TableGAN.fit: validation={share:g} holds out {held} of the frame's {len(df):,} rows; expected at "
            "least 2 held out and 2 left to train (another share, or a DataFrame of validation rows)"
        )
    return None, share


def _split_csv(text: str, n: int) -> tuple[str, str]:
    """The CSV ``text`` (header and rows, as :func:`_table` wrote it) cut after ``n`` rows: two tables with
    the same header."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    out = []
    for part in (rows[1 : n + 1], rows[n + 1 :]):
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(rows[0])
        writer.writerows(part)
        out.append(buf.getvalue())
    return out[0], out[1]


def _condition_name(df: Any, column: Any, schema: dict[str, Any]) -> str | None:
    """The name of ``fit``'s ``condition_column`` (a discrete column), or None."""
    if column is None:
        return None
    (name,) = _discrete_names(df, [column])
    spec = next(s for s in schema["columns"] if s["name"] == name)
    if not spec["discrete"]:
        raise OptionError(
            f"TableGAN.fit: condition_column {name!r} is a numeric column; expected a discrete one "
            "(list it in discrete_columns to make it one)"
        )
    return name


def _conditions(schema: dict[str, Any], codec: Any, column: Any, value: Any, conditions: Any) -> dict[int, Any]:
    """``sample``'s conditions as ``{column index: codec level}``; a one-line OptionError naming the column or
    value else."""
    pairs: list[tuple[Any, Any]] = []
    if conditions is not None:
        if not isinstance(conditions, Mapping):
            raise OptionError(
                f"TableGAN.sample: conditions: expected a dict {{column: value}}, got {type(conditions).__name__}"
            )
        pairs += list(conditions.items())
    if column is not None or value is not _NO_VALUE:
        if column is None or value is _NO_VALUE:
            raise OptionError("TableGAN.sample: condition_column and condition_value go together; got one of them")
        pairs.append((column, value))
    specs = schema["columns"]
    names = [s["name"] for s in specs]
    out: dict[int, Any] = {}
    for col, val in pairs:
        v = _plain(col)
        hits = [j for j, s in enumerate(specs) if (isinstance(v, str) and s["name"] == v) or s["label"] == v]
        if not hits:
            raise OptionError(f"TableGAN.sample: condition on {v!r:.60}, which is not a column ({_listing(names, 20)})")
        j = hits[0]
        if not specs[j]["discrete"]:
            discrete = [s["name"] for s in specs if s["discrete"]]
            raise OptionError(
                f"TableGAN.sample: condition on {names[j]!r}, a numeric column; expected a discrete column "
                f"({_listing(discrete, 20) or 'the table has none'})"
            )
        level = _level_of(specs[j], val)
        if j in out and out[j] != level:
            raise OptionError(f"TableGAN.sample: column {names[j]!r} is given two values; expected one")
        out[j] = level
    return out


def _is_missing(value: Any) -> bool:
    try:
        return value is None or bool(_pandas().isna(value))
    except (TypeError, ValueError):  # a list or an array: not one missing value
        return False


def _level_of(spec: dict[str, Any], value: Any) -> Any:
    """The codec level of a discrete column's original ``value``; an OptionError listing the values else."""
    missing = _is_missing(value)
    for level, original in spec["levels"]:
        if missing:
            if _is_missing(original):
                return level
            continue
        try:
            same = not _is_missing(original) and bool(original == _plain(value))
        except (TypeError, ValueError):
            same = False
        if same:
            return level
    values = [original for _, original in spec["levels"]]
    raise OptionError(
        f"TableGAN.sample: column {spec['name']!r} has no value {value!r:.60}; expected one of {_listing(values, 20)}"
    )


def _shown(schema: dict[str, Any], j: int, level: Any) -> str:
    """The original value of a codec level, for a message."""
    return next((repr(v) for lv, v in schema["columns"][j]["levels"] if lv == level), repr(level))


def _filled(values: np.ndarray, level: Any) -> np.ndarray:
    """``values``'s length of one codec ``level`` (decoded rows of a column the conditional G drew)."""
    try:
        return np.full(len(values), level, dtype=values.dtype)
    except (TypeError, ValueError):
        return np.full(len(values), level, dtype=object)


def _matches(values: np.ndarray, level: Any) -> np.ndarray:
    """Which decoded ``values`` are the codec ``level`` (a missing level matches None and NaN)."""
    if level is None:
        return np.asarray(_pandas().isna(values), dtype=bool)
    return np.asarray(values == level, dtype=bool)
