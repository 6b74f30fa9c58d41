"""Tables: CSV files and scikit-learn's wine and breast-cancer tables, encoded for a GAN and decoded back.

Each column is typed from its cells: ``int`` (every cell an integer literal), ``float`` (every cell a
number) or ``str``. Text columns, and integer columns with at most ``data.max_categories`` distinct
values, are *categorical*: one-hot encoded, decoded by argmax. The other columns are *numeric*:
standardised ``(x - mean) / std``, decoded by ``x * std + mean``, integers rounded, floats rounded to the
decimals the source wrote. Column names, order and types survive the round trip, so a synthetic CSV
loads wherever the original loaded. The :class:`TableCodec` is plain JSON: a run stores it in every
checkpoint's manifest (``data.codec``) and ``origan sample RUN --out x.csv`` decodes with it.

An empty cell is a missing value (what pandas' ``to_csv`` writes for NaN). In a categorical column it is one
more level, ``None`` (JSON ``null``), the last; a numeric column with missing cells is encoded as three features,
``[value, present, missing]``: the value standardised over the present cells (a missing one is imputed with their
mean, so 0), then a one-hot pair decoded by argmax, so G learns how often a cell is missing. Decoding gives back
missing values (``None`` or NaN, see :meth:`TableCodec.decode`); writing a CSV gives back empty cells. A column
whose every cell is empty, ``NaN`` or ``Inf`` text in a numeric column, and text in a numeric column are errors
naming the file, line and column.
Split: a fixed permutation seeded with ``data.split_seed``, 80 % train, 10 % validation, 10 % test.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from ..errors import DataError
from ..limits import check_decoded_size, regular_file
from . import DATASETS, Dataset, split_indices, split_of, split_rule
from .arrays import resolve_path

if TYPE_CHECKING:
    from ..config import DataConfig

__all__ = [
    "Column",
    "TableCodec",
    "check_codec",
    "csv_dataset",
    "infer_column",
    "parse_csv",
    "read_csv",
    "read_text",
    "values_column",
]

CODEC_FORMAT = "origan-table-codec/1"
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NONFINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT64_FLOATS = (-(2.0**63), 2.0**63 - 1024)  # the widest float range that casts to int64 without overflow
MAX_ROUND_DECIMALS = 15  # finer positions are left to the significant digits (np.round would overflow)
Precision = tuple[int | None, int | None]  # float columns: (decimals, significant digits); (None, None) otherwise


@dataclass(frozen=True)
class Column:
    """One column of a table and how it is encoded.

    Attributes:
        name: the header.
        dtype: ``int``, ``float`` or ``str``.
        kind: ``numeric`` (one standardised value) or ``categorical`` (one-hot over ``levels``).
        mean, std: standardisation of a numeric column.
        decimals: float columns: digits after the point of the finest value the source wrote.
        significant: float columns written in scientific notation: significant digits.
        levels: categorical columns: the values, sorted; ``None`` last when some cells are missing.
        missing: numeric columns with missing cells: the encoded block is ``[value, present, missing]``.
    """

    name: str
    dtype: str
    kind: str
    mean: float = 0.0
    std: float = 1.0
    decimals: int | None = None
    significant: int | None = None
    levels: tuple[Any, ...] = ()
    missing: bool = False

    @property
    def width(self) -> int:
        return len(self.levels) if self.kind == "categorical" else 3 if self.missing else 1

    def format(self, value: Any) -> str:
        if _absent(value):
            return ""  # a missing value is an empty cell
        if self.dtype == "float":
            if self.significant is not None:
                return f"{float(value):.{self.significant - 1}e}"
            return repr(float(value)) if self.decimals is None else f"{float(value):.{self.decimals}f}"
        return str(int(value)) if self.dtype == "int" else str(value)

    def round(self, v: np.ndarray) -> np.ndarray:
        """Float values rounded to the precision the source wrote (exact where the source was)."""
        if self.decimals is not None and self.decimals <= MAX_ROUND_DECIMALS:
            v = np.round(v, self.decimals)
        if self.significant is not None:
            v = np.array([float(self.format(x)) for x in v], dtype=np.float64)
        return v


class TableCodec:
    """Encodes table columns to a ``(n, width)`` float matrix and decodes it back, column by column."""

    def __init__(self, columns: Sequence[Column], delimiter: str = ",") -> None:
        self.columns, self.delimiter = list(columns), delimiter

    @classmethod
    def fit(
        cls,
        names: Sequence[str],
        values: Sequence[np.ndarray],
        dtypes: Sequence[str],
        precisions: Sequence[Precision],
        max_categories: int,
        delimiter: str = ",",
    ) -> TableCodec:
        """Choose each column's encoding and fit its parameters on ``values`` (one array per column).

        ``precisions`` gives each float column's ``(decimals, significant digits)`` (see :func:`infer_column`).
        Missing values (None, or NaN in a float array) are fitted as described in the module: a last level
        ``None``, or ``missing=True`` with ``mean`` and ``std`` of the present values; at most
        ``max_categories`` levels besides the missing one make an int column categorical.
        """
        columns = []
        for name, v, dtype, (dec, sig) in zip(names, values, dtypes, precisions, strict=True):
            absent = _missing(v)
            present = v[~absent].astype(np.int64) if dtype == "int" else v[~absent]  # ints: an object array if absent
            if not len(present):
                raise DataError(f"column {name!r} has no values (every cell is missing); expected at least one")
            levels = np.unique(present)
            if dtype == "str" or (dtype == "int" and len(levels) <= max_categories):
                columns.append(
                    Column(
                        name,
                        dtype,
                        "categorical",
                        levels=tuple(getattr(lv, "item", lambda lv=lv: lv)() for lv in levels)
                        + ((None,) if absent.any() else ()),
                    )
                )
            else:
                std = float(np.std(present.astype(np.float64)))
                columns.append(
                    Column(
                        name,
                        dtype,
                        "numeric",
                        float(np.mean(present.astype(np.float64))),
                        std if std > 0 else 1.0,
                        *((dec, sig) if dtype == "float" else (None, None)),
                        missing=bool(absent.any()),
                    )
                )
        return cls(columns, delimiter)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def width(self) -> int:
        """Number of encoded features (one per numeric column, three with missing values, one per level of a
        categorical one)."""
        return sum(c.width for c in self.columns)

    def slices(self) -> dict[str, slice]:
        """Each column's features in the encoded matrix."""
        out, start = {}, 0
        for c in self.columns:
            out[c.name] = slice(start, start + c.width)
            start += c.width
        return out

    def encode(self, values: Sequence[np.ndarray], dtype: Any = np.float64, source: str | Path = "table") -> np.ndarray:
        """``(n, width)`` rows of ``dtype`` from one array per column (errors name ``source``).

        The matrix is held to the byte budget (:func:`~origan.limits.check_decoded_size`) before it is
        allocated; one-hot blocks are set by index, so a wide categorical column costs ``n x levels`` once.
        A missing value (None, or NaN; what :meth:`decode` gives) goes to the missing level of a categorical
        column, or to the ``[mean, 0, 1]`` block of a numeric column with ``missing`` (imputed: 0 standardised).
        """
        if not self.columns:
            return np.zeros((0, 0), dtype=dtype)
        n = len(values[0]) if len(values) else 0
        check_decoded_size(
            n * self.width * np.dtype(dtype).itemsize,
            source,
            f"the encoded table ({n:,} rows x {self.width:,} features)",
        )
        out = np.zeros((n, self.width), dtype=dtype)
        rows = np.arange(n)
        for c, v, sl in zip(self.columns, values, self.slices().values(), strict=True):
            if len(v) != n:
                raise DataError(f"{source}: column {c.name!r} has {len(v)} values; the first column has {n}")
            absent = _missing(v)
            if c.kind == "numeric":
                if absent.any() and not c.missing:
                    raise DataError(
                        f"{source}: column {c.name!r}: row {int(absent.argmax())} is missing; the codec's column "
                        "has no missing values"
                    )
                filled = np.where(absent, c.mean, v) if absent.any() else v  # missing: the mean, 0 standardised
                out[:, sl.start] = (filled.astype(np.float64) - c.mean) / c.std
                if c.missing:  # the one-hot pair [present, missing]
                    out[:, sl.start + 1], out[:, sl.start + 2] = ~absent, absent
                continue
            index = {lv: i for i, lv in enumerate(c.levels)}
            keys = (None if a else x.item() if hasattr(x, "item") else x for x, a in zip(v, absent, strict=True))
            try:
                codes = np.fromiter((index[k] for k in keys), np.int64, n)
            except KeyError as e:
                raise DataError(
                    f"{source}: column {c.name!r}: value {e.args[0]!r} is not one of its {len(c.levels)} levels"
                    f" ({_listing(c.levels)})"
                ) from None
            out[rows, sl.start + codes] = 1
        return out

    def decode(self, x: np.ndarray | Tensor) -> list[np.ndarray]:
        """One array per column from ``(n, width)`` encoded rows: int64, float64 or str (an object array).

        A column that holds missing values decodes them so: text (object) ``None``; an int categorical column
        an object array of Python ints and ``None``; a numeric column (``missing``) NaN where the pair's
        argmax is *missing*, in float64 (also an int column: whole numbers and NaN).
        """
        try:
            x = x.detach().cpu().double().numpy() if isinstance(x, Tensor) else np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise DataError(
                f"table samples: expected an (n, {self.width}) array of numbers, got {type(x).__name__}"
            ) from None
        if x.ndim != 2 or x.shape[1] != self.width:
            raise DataError(f"table samples: expected shape (n, {self.width}), got {tuple(x.shape)}")
        out = []
        for c, sl in zip(self.columns, self.slices().values(), strict=True):
            block = x[:, sl]
            if c.kind == "categorical":
                levels = np.array(c.levels, dtype=object if c.dtype == "str" or None in c.levels else np.int64)
                out.append(levels[block.argmax(1)])
                continue
            if c.dtype == "int":
                value = np.clip(np.rint(block[:, 0] * c.std + c.mean), *_INT64_FLOATS)
                if not c.missing:
                    out.append(value.astype(np.int64))
                    continue
            else:
                value = c.round(block[:, 0] * c.std + c.mean)
            if c.missing:  # argmax of [present, missing]; a tie is present
                value = np.where(block[:, 2] > block[:, 1], np.nan, value)
            out.append(value)
        return out

    def to_csv_text(self, values: Sequence[np.ndarray]) -> str:
        """The columns as CSV text with the original header and delimiter."""
        buf = io.StringIO()
        writer = csv.writer(buf, delimiter=self.delimiter, lineterminator="\n")
        writer.writerow(self.names)
        formats = [c.format for c in self.columns]
        for row in zip(*values, strict=True):
            writer.writerow([f(v) for f, v in zip(formats, row, strict=True)])
        return buf.getvalue()

    def write_csv(self, path: str | Path, x: np.ndarray | Tensor) -> Path:
        """Decode ``(n, width)`` rows and write them as a CSV table (atomically)."""
        from ..io.files import write_atomic

        write_atomic(Path(path), self.to_csv_text(self.decode(x)).encode())
        return Path(path)

    def to_json(self) -> dict[str, Any]:
        """Plain data (stored in checkpoint manifests)."""
        return {
            "format": CODEC_FORMAT,
            "delimiter": self.delimiter,
            "columns": [
                {k: v for k, v in (asdict(c) | {"levels": list(c.levels)}).items() if k != "missing" or v}
                for c in self.columns
            ],  # "missing" only where true: a table without missing values stores the codec it always did
        }

    @classmethod
    def from_json(cls, data: Any) -> TableCodec:
        """The codec :meth:`to_json` wrote; anything else is a one-line DataError naming the field."""
        if not isinstance(data, dict) or data.get("format") != CODEC_FORMAT:
            got = data.get("format") if isinstance(data, dict) else type(data).__name__
            raise DataError(f"table codec: unknown format {got!r}; expected {CODEC_FORMAT}")
        delimiter, columns = data.get("delimiter"), data.get("columns")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise DataError(f"table codec: delimiter: expected one character, got {delimiter!r:.60}")
        if not isinstance(columns, list) or not columns:
            raise DataError("table codec: columns: expected a non-empty list of columns")
        return cls([_column_from_json(c, i) for i, c in enumerate(columns)], delimiter)


_REQUIRED = ("name", "dtype", "kind")  # the other fields of a Column have defaults


def _column_from_json(c: Any, i: int) -> Column:
    """One :class:`Column` of a stored codec, its fields checked (a DataError naming ``columns[i].field``)."""

    def bad(field: str, expected: str, got: Any) -> DataError:
        return DataError(f"table codec: columns[{i}].{field}: expected {expected}, got {got!r:.60}")

    known = [f.name for f in fields(Column)]
    if not isinstance(c, dict) or not set(_REQUIRED) <= set(c) or not set(c) <= set(known):
        raise DataError(f"table codec: columns[{i}]: expected an object with the keys {', '.join(known)}")
    c = {f.name: f.default for f in fields(Column) if f.name not in _REQUIRED} | c
    if not isinstance(c["name"], str) or not c["name"]:
        raise bad("name", "a non-empty string", c["name"])
    if c["dtype"] not in ("int", "float", "str"):
        raise bad("dtype", "int, float or str", c["dtype"])
    if c["kind"] not in ("numeric", "categorical") or (c["dtype"] == "str" and c["kind"] != "categorical"):
        raise bad("kind", "numeric or categorical (categorical for text)", c["kind"])
    for key in ("mean", "std"):
        v = c[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or (key == "std" and v <= 0):
            raise bad(key, "a finite number" + (" > 0" if key == "std" else ""), v)
    sig, dec = c["significant"], c["decimals"]
    if sig is not None and (isinstance(sig, bool) or not isinstance(sig, int) or not 1 <= sig <= 17):
        raise bad("significant", "null or an integer in [1, 17]", sig)
    low = 0 if sig is None else -400
    if dec is not None and (isinstance(dec, bool) or not isinstance(dec, int) or not low <= dec <= 400):
        raise bad("decimals", f"null or an integer in [{low}, 400]", dec)
    if not isinstance(c["missing"], bool) or (c["missing"] and c["kind"] != "numeric"):
        raise bad(
            "missing", "true or false (true only for a numeric column; a missing level is null in levels)", c["missing"]
        )
    levels = list(c["levels"]) if isinstance(c["levels"], (list, tuple)) else c["levels"]
    kind = str if c["dtype"] == "str" else int
    real = levels[:-1] if isinstance(levels, list) and levels[-1:] == [None] else levels  # null last: missing
    if (
        not isinstance(levels, list)
        or (c["kind"] == "categorical") != bool(real)
        or (levels and not real)
        or any(isinstance(v, bool) or not isinstance(v, kind) for v in real)
        or len(set(levels)) != len(levels)
    ):
        what = f"distinct {'strings' if kind is str else 'integers'} (null last for missing values)"
        raise bad("levels", what if c["kind"] == "categorical" else "[]", levels)
    return Column(**(c | {"levels": tuple(levels)}))


def _absent(x: Any) -> bool:
    """Whether one value is missing: None, or a float NaN."""
    return x is None or (isinstance(x, (float, np.floating)) and bool(np.isnan(x)))


def _missing(v: np.ndarray) -> np.ndarray:
    """``(n,)`` bool: the missing values of one column (NaN in a float array, None or NaN in an object array)."""
    if v.dtype.kind == "f":
        return np.isnan(v)
    if v.dtype.kind == "O":
        return np.fromiter((_absent(x) for x in v), bool, len(v))
    return np.zeros(len(v), dtype=bool)


def _listing(values: Sequence[Any], most: int = 10) -> str:
    """Up to ``most`` values, each as its repr, for a one-line message."""
    shown = ", ".join(repr(v) for v in list(values[:most]))
    return shown + (f", ... ({len(values):,} in all)" if len(values) > most else "")


def check_codec(stored: dict[str, Any] | None, data: Dataset) -> None:
    """Refuse a table read again for a run (``origan eval``) that no longer matches the codec the run stored.

    ``stored`` is the run's ``data_info.codec`` (None for data that is no table). Samples of the run are
    rows of *its* codec, so a changed column, level or standardisation would misread them.
    """
    new = data.info.get("codec")
    if stored is None or new is None or stored.get("columns") == new["columns"]:
        return  # the delimiter may differ: samples are read the same
    source = data.info.get("source", data.name)
    old_names, new_names = [c["name"] for c in stored["columns"]], [c["name"] for c in new["columns"]]
    if old_names != new_names:
        why = f"its columns are {', '.join(new_names)}; the run was trained on {', '.join(old_names)}"
    else:
        old, now = next((a, b) for a, b in zip(stored["columns"], new["columns"], strict=True) if a != b)
        key = next(
            (
                k
                for k in ("dtype", "kind", "levels", "missing", "mean", "std", "decimals", "significant")
                if old.get(k) != now.get(k)
            ),
            "encoding",
        )
        why = f"column {now['name']!r} has {key} {now.get(key)!r}; the run was trained with {old.get(key)!r}"
    raise DataError(f"{source}: the table changed since the run was trained ({why}); expected the run's table")


# ---------------------------------------------------------------------------------------------------------
# Reading


def _rows(text: str, delimiter: str, path: str | Path) -> list[list[str]]:
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        return list(reader)
    except csv.Error as e:
        limit = csv.field_size_limit()
        if "field limit" in str(e):
            raise DataError(
                f"{path}: line {reader.line_num}: a cell longer than {limit} characters (the csv "
                f"module's field limit); expected short cells"
            ) from None
        raise DataError(f"{path}: line {reader.line_num}: not valid CSV ({e})") from None


def read_text(path: Path) -> str:
    """The text of a CSV file, held to the byte budget, read as the csv module asks (``newline=""``: line
    breaks inside quoted cells are kept as written)."""
    check_decoded_size(regular_file(path, "a CSV file"), path, "the table's text")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{path}: cannot read the table as UTF-8 text ({e})") from None


def parse_csv(
    text: str, source: str | Path, drop_columns: Sequence[str] = ()
) -> tuple[list[str], list[list[str]], str]:
    """Header, columns of stripped cells (one list per column) and the delimiter of CSV ``text``."""
    try:
        delimiter = csv.Sniffer().sniff(text[:16384], delimiters=",;\t|").delimiter
    except csv.Error:
        delimiter = ","
    rows = _rows(text, delimiter, source)
    while rows and not rows[-1]:  # trailing blank lines
        rows.pop()
    if len(rows) < 2:
        raise DataError(f"{source}: expected a header line and at least one row of data")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header) or "" in header:
        raise DataError(f"{source}: column names must be unique and non-empty, got {header}")
    for name in drop_columns:
        if name not in header:
            raise DataError(
                f"{source}: data.drop_columns names {name!r}, which is not a column ({_listing(header, 20)})"
            )
    for i, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise DataError(f"{source}: line {i}: {len(r)} cells, the header has {len(header)}")
    keep = [j for j, h in enumerate(header) if h not in drop_columns]
    return [header[j] for j in keep], [[r[j].strip() for r in rows[1:]] for j in keep], delimiter


def read_csv(path: Path, drop_columns: Sequence[str] = ()) -> tuple[list[str], list[list[str]], str]:
    """Header, columns of stripped cells (one list per column) and the delimiter of a CSV file."""
    return parse_csv(read_text(path), path, drop_columns)


def _significant(cell: str) -> int:
    digits = cell.lstrip("+-").lower().partition("e")[0].replace(".", "").lstrip("0")
    return min(max(len(digits), 1), 17)


def _decimals(cell: str) -> int:
    mantissa, _, exponent = cell.lower().partition("e")
    return len(mantissa.partition(".")[2]) - int(exponent or 0)


def infer_column(cells: list[str], name: str, source: str, max_categories: int) -> tuple[np.ndarray, str, Precision]:
    """Values, dtype and precision of one column of text cells (errors name ``source``, the line and column).

    A float column keeps the precision it was written with: digits after the point, or significant
    digits when some cell is in scientific notation. An empty cell is a missing value: NaN in a float column,
    ``None`` in a text column and in an int column (then an object array of Python ints and ``None``); the
    type is decided by the other cells, and a column of empty cells only is an error.
    """
    present = [i for i, cell in enumerate(cells) if cell]  # the rows of the cells that are not missing
    if not present:
        raise DataError(
            f"{source}: column {name!r} has no values (every cell is empty); expected at least one "
            "(or leave it out with data.drop_columns)"
        )
    filled = cells if len(present) == len(cells) else [cells[i] for i in present]
    is_int = [bool(_INT.fullmatch(c)) for c in filled]
    is_float = [bool(_FLOAT.fullmatch(c)) for c in filled]
    nonfinite = [bool(_NONFINITE.fullmatch(c)) for c in filled]
    if 2 * (sum(is_float) + sum(nonfinite)) > len(filled):  # a numeric column
        for i, ok, nf, cell in zip(present, is_float, nonfinite, filled, strict=True):
            if nf:
                raise DataError(
                    f"{source}: line {i + 2}: non-finite value {cell!r} in column {name!r}; expected a finite "
                    "number (leave the cell empty for a missing value)"
                )
            if not ok:
                raise DataError(
                    f"{source}: line {i + 2}: non-numeric cell {cell!r} in numeric column {name!r} "
                    "(leave the cell empty for a missing value)"
                )
        if all(is_int):
            ints = [int(c) for c in filled]
            for i, v in zip(present, ints, strict=True):
                if not INT64_MIN <= v <= INT64_MAX:
                    raise DataError(
                        f"{source}: line {i + 2}: integer {cells[i]} in column {name!r} does not fit in "
                        "64 bits; expected integers from -2**63 to 2**63-1 (write it as a float?)"
                    )
            if len(present) < len(cells):
                return _spread(ints, present, len(cells)), "int", (None, None)
            return np.array(ints, dtype=np.int64), "int", (None, None)
        values = np.full(len(cells), np.nan)
        values[present] = [float(c) for c in filled]
        finite = np.isfinite(values[present])
        if not finite.all():
            i = present[int(np.argmin(finite))]
            raise DataError(f"{source}: line {i + 2}: value {cells[i]!r} in column {name!r} overflows a float")
        decimals = max(_decimals(c) for c in filled)
        if any("e" in c.lower() for c in filled):
            return values, "float", (decimals, max(_significant(c) for c in filled))
        return values, "float", (max(1, decimals), None)
    levels = set(filled)
    if len(levels) > max_categories:
        raise DataError(
            f"{source}: column {name!r} has {len(levels)} distinct text values; a categorical column may "
            f"have at most data.max_categories={max_categories} (or leave it out with data.drop_columns)"
        )
    if len(present) < len(cells):
        return _spread(filled, present, len(cells)), "str", (None, None)
    return np.array(cells, dtype=object), "str", (None, None)


def _spread(values: list[Any], rows: list[int], n: int) -> np.ndarray:
    """An object array of ``n`` values: ``values`` at ``rows``, None (missing) elsewhere."""
    out = np.full(n, None, dtype=object)
    for i, v in zip(rows, values, strict=True):
        out[i] = v
    return out


def values_column(values: np.ndarray) -> tuple[np.ndarray, str, Precision]:
    """Values, dtype and precision of a numeric array: integer-valued columns are ``int``."""
    v = np.asarray(values, dtype=np.float64)
    if np.all(v == np.round(v)):
        return v.astype(np.int64), "int", (None, None)
    for d in range(1, 13):
        if np.all(np.abs(np.round(v, d) - v) <= 1e-9 * np.maximum(1.0, np.abs(v))):
            return v, "float", (d, None)
    return v, "float", (None, None)


def table_dataset(
    name: str,
    names: list[str],
    columns: list[tuple[np.ndarray, str, Precision]],
    cfg: DataConfig,
    source: str,
    default_target: str,
    delimiter: str = ",",
    n_val: int = 0,
) -> Dataset:
    """A Dataset of encoded rows (float32), with the codec in ``info["codec"]``.

    A categorical target column also gives the labels: its levels are the classes. ``n_val > 0``: the last
    ``n_val`` rows are the validation split (``data.val_path``'s rows), the others are cut into train and test by
    ``data.test_fraction``; else the fixed permutation cuts all rows by both fractions.
    """
    if not names:
        raise DataError(f"{source}: no columns left after data.drop_columns; expected at least one column to model")
    values = [c[0] for c in columns]
    codec = TableCodec.fit(
        names, values, [c[1] for c in columns], [c[2] for c in columns], cfg.max_categories, delimiter
    )
    target = cfg.target_column or default_target
    if target not in names:
        raise DataError(f"data.target_column: {target!r} is not a column of {source} ({', '.join(names)})")
    x = torch.from_numpy(codec.encode(values, np.float32, source))  # (n, width)
    column = codec.columns[names.index(target)]
    labels: Tensor | None = None
    classes: tuple[str, ...] = ()
    if column.kind == "categorical":  # the class index is the argmax of the target's one-hot block
        labels = x[:, codec.slices()[target]].argmax(1)  # (n,) int64
        classes = tuple(str(lv) for lv in column.levels)
    info = {"source": source, "codec": codec.to_json(), "target_column": target}
    if n_val:
        n = len(x) - n_val
        train, _, test = split_indices(n, (0.0, cfg.test_fraction), cfg.split_seed)
        split = (train, torch.arange(n, len(x)), test)
        data = Dataset.from_splits(name, x, "table", False, info, cfg.split_seed, labels, classes, split=split)
        data.info["split"] = f"{split_rule((0.0, cfg.test_fraction))} of data.path; data.val_path validates"
        return data
    return Dataset.from_splits(name, x, "table", False, info, cfg.split_seed, labels, classes, fractions=split_of(cfg))


@DATASETS.register("csv")
def csv_table(cfg: DataConfig) -> Dataset:
    """A CSV table from ``data.path`` (header line first; delimiter , ; tab or | detected)."""
    path = resolve_path(cfg, "a CSV file")
    if path.is_dir():
        raise DataError(f"{path}: data.name=csv reads a CSV file, not a folder")
    val_text, val_source = None, ""
    if cfg.val_path:
        val = resolve_path(cfg, "a CSV file of validation rows", key="val_path")
        if val.is_dir():
            raise DataError(f"{val}: data.val_path names a CSV file of validation rows, not a folder")
        val_text, val_source = read_text(val), str(val)
    return csv_dataset(read_text(path), cfg, str(path), val_text, val_source)


def csv_dataset(
    text: str, cfg: DataConfig, source: str, val_text: str | None = None, val_source: str = "validation rows"
) -> Dataset:
    """The ``csv`` dataset of CSV ``text`` (what ``data.name=csv`` builds from the file ``source``), so a
    caller can check a table it is about to write exactly as the run will read it. ``val_text``: CSV text of
    the validation rows (``data.val_path``), with the same header; the codec is fitted on both tables."""
    names, cells, delimiter = parse_csv(text, source, cfg.drop_columns)
    n_val = 0
    if val_text is not None:
        val_names, val_cells, _ = parse_csv(val_text, val_source, cfg.drop_columns)
        if val_names != names:
            raise DataError(
                f"{val_source}: expected the columns of {source} ({_listing(names, 20)}), "
                f"got ({_listing(val_names, 20)})"
            )
        n_val = len(val_cells[0]) if val_cells else 0
        cells = [a + b for a, b in zip(cells, val_cells, strict=True)]
    columns = [infer_column(c, n, source, cfg.max_categories) for n, c in zip(names, cells, strict=True)]
    return table_dataset("csv", names, columns, cfg, source, names[-1] if names else "", delimiter, n_val)


def _sklearn_table(loader: str, cfg: DataConfig, target_name: str, target_as_text: bool) -> tuple[list[str], list[Any]]:
    try:
        import sklearn.datasets as skd
    except ImportError:
        raise DataError(f"data.name={cfg.name}: needs the package scikit-learn (pip install scikit-learn)") from None
    bunch = getattr(skd, loader)()
    unknown = [c for c in cfg.drop_columns if c not in [*bunch.feature_names, target_name]]
    if unknown:
        raise DataError(f"data.drop_columns: {unknown[0]!r} is not a column of {cfg.name}")
    names, columns = [], []
    for j, feature in enumerate(bunch.feature_names):
        if feature not in cfg.drop_columns:
            names.append(str(feature))
            columns.append(values_column(bunch.data[:, j]))
    if target_name not in cfg.drop_columns:
        target = bunch.target_names[bunch.target].astype(object) if target_as_text else bunch.target.astype(np.int64)
        names.append(target_name)
        columns.append((target, "str" if target_as_text else "int", (None, None)))
    return names, columns


@DATASETS.register("wine")
def wine(cfg: DataConfig) -> Dataset:
    """scikit-learn's wine table: 178 wines, 13 chemical measurements and the cultivar ``class`` (0, 1, 2)."""
    names, columns = _sklearn_table("load_wine", cfg, "class", target_as_text=False)
    return table_dataset("wine", names, columns, cfg, "sklearn.datasets.load_wine (178 rows)", "class")


@DATASETS.register("breast-cancer")
def breast_cancer(cfg: DataConfig) -> Dataset:
    """scikit-learn's breast-cancer table: 569 tumours, 30 measurements and the ``diagnosis`` (malignant/benign)."""
    names, columns = _sklearn_table("load_breast_cancer", cfg, "diagnosis", target_as_text=True)
    return table_dataset(
        "breast-cancer", names, columns, cfg, "sklearn.datasets.load_breast_cancer (569 rows)", "diagnosis"
    )
