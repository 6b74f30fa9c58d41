"""A DataFrame as the CSV table a run trains on, and back: the checks ``TableGAN.fit`` runs on a frame, the
table text and its ``table.json`` schema (each column's pandas dtype and which value each level stands for),
the columns restored from decoded rows, and the checks ``TableGAN.load`` runs on a stored schema."""

from __future__ import annotations

import csv
import io
import json
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import DataError, OptionError, RunDirError
from ..limits import check_decoded_size

SCHEMA_FILE = "table.json"
SCHEMA_FORMAT = "origan-dataframe/1"
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


def _discrete_names(df: Any, discrete_columns: Any, option: str = "discrete_columns") -> list[str]:
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
                    f"TableGAN.fit: {option} names {v!r:.60}, which is not a column ({_listing(names, 20)})"
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
    from ..data.tables import infer_column

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
    from ..training.build import build_gan, check_data

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
