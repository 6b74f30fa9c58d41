"""DataFrames in and out: an estimator over origan's table runs (optional extra: ``pip install 'origan[tables]'``).

```python
import origan
model = origan.TableGAN(preset="csv", steps=3000, seed=0).fit(df, discrete_columns=["city", "rooms"])
synthetic = model.sample(1000)                    # a DataFrame: df's columns, order and dtypes
model.save("models/houses")                       # an origan run directory (no pickle)
model = origan.TableGAN.load("models/houses")
```

``fit`` writes the DataFrame as ``RUN/table.csv`` and trains on it with the ``csv`` dataset, so the result is a
normal run: ``origan sample``, ``origan eval``, ``origan inspect`` and ``origan train --resume`` work on it.
``RUN/table.json`` records each column's pandas dtype and, for discrete columns, which value each encoded
level stands for, so ``sample`` gives back the original types: integers stay integers, booleans booleans,
categoricals keep their categories and text its values.

Columns follow the CTGAN convention: the ``discrete_columns`` (and every text, boolean or categorical column)
are one-hot encoded; the other numeric columns are standardised, integers rounded back on sampling.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError, RunDirError
from .io.files import write_atomic

__all__ = ["SCHEMA_FILE", "TABLE_FILE", "TableGAN"]

TABLE_FILE = "table.csv"
SCHEMA_FILE = "table.json"
SCHEMA_FORMAT = "origan-dataframe/1"


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise DataError("TableGAN: needs the package pandas (pip install 'origan[tables]')") from None
    return pd


def _plain(v: Any) -> Any:
    """A JSON-able Python value of a cell (numpy scalars unwrapped)."""
    return v.item() if isinstance(v, np.generic) else v


def _discrete_kind(series: Any) -> bool:
    """Whether a column can only be discrete: text, booleans, categories."""
    pd = _pandas()
    return not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)


def _check_frame(df: Any, discrete_columns: Sequence[str]) -> None:
    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise DataError(f"TableGAN.fit: expected a pandas DataFrame, got {type(df).__name__}")
    if len(df) < 2 or df.shape[1] < 1:
        raise DataError(f"TableGAN.fit: expected at least 2 rows and 1 column, got shape {df.shape}")
    names = [str(c) for c in df.columns]
    if len(set(names)) != len(names) or "" in names:
        raise DataError(f"TableGAN.fit: column names must be unique and non-empty, got {names}")
    for name in discrete_columns:
        if name not in names:
            raise DataError(
                f"TableGAN.fit: discrete_columns names {name!r}, which is not a column ({', '.join(names)})"
            )
    for name, col in zip(names, df.columns, strict=True):
        series = df[col]
        if series.isna().any():
            row = series.index[series.isna().to_numpy()][0]
            raise DataError(f"TableGAN.fit: column {name!r} has a missing value (row {row!r}); expected none")
        if isinstance(series.dtype, np.dtype) and series.dtype.kind in ("m", "M", "c"):  # times, complex numbers
            raise DataError(
                f"TableGAN.fit: column {name!r} has dtype {series.dtype}; "
                "expected real numbers, booleans, text or categories"
            )


def _column_spec(name: str, series: Any, discrete: bool) -> tuple[list[str], dict[str, Any]]:
    """The CSV cells of one column and its schema entry."""
    pd = _pandas()
    dtype = series.dtype
    spec: dict[str, Any] = {"name": name, "label": _plain(series.name), "dtype": str(dtype), "discrete": discrete}
    if isinstance(dtype, pd.CategoricalDtype):
        spec["categories"] = [_plain(c) for c in dtype.categories]
        spec["ordered"] = bool(dtype.ordered)
    values = [_plain(v) for v in series.tolist()]
    if discrete and pd.api.types.is_float_dtype(dtype) and all(float(v).is_integer() for v in values):
        return [str(int(v)) for v in values], spec  # whole numbers stored as floats: levels 1, 2, 3
    if not discrete:
        if pd.api.types.is_integer_dtype(dtype):  # written as floats so the codec keeps them numeric
            return [f"{int(v)}.0" for v in values], spec
        return [str(v) for v in series.to_numpy()], spec  # the shortest text that reads back as the same value
    return [str(v) for v in values], spec


def _levels(cells: list[str], values: list[Any], spec: dict[str, Any], max_categories: int) -> list[list[Any]]:
    """Pairs ``[level as the codec reads it, original value]`` of a discrete column."""
    from .data.tables import infer_column

    read, dtype, _ = infer_column(cells, spec["name"], "TableGAN.fit", max_categories)
    if dtype == "float":
        raise DataError(
            f"TableGAN.fit: discrete column {spec['name']!r} holds decimal numbers; expected integers, text, "
            "booleans or categories (leave it out of discrete_columns to model it as a number)"
        )
    pairs: dict[Any, Any] = {}
    for level, value in zip(read.tolist(), values, strict=True):
        if pairs.setdefault(level, value) != value:
            raise DataError(
                f"TableGAN.fit: column {spec['name']!r}: values {pairs[level]!r} and {value!r} read as the same "
                "level; expected distinct text"
            )
    return [[k, v] for k, v in pairs.items()]


def _table(df: Any, discrete_columns: Sequence[str], max_categories: int) -> tuple[str, dict[str, Any], int]:
    """The CSV text, the schema and the ``data.max_categories`` that makes every discrete column one-hot."""
    names = [str(c) for c in df.columns]
    columns, specs = [], []
    discrete = {n for n, c in zip(names, df.columns, strict=True) if n in discrete_columns or _discrete_kind(df[c])}
    widest = max([df[c].nunique() for n, c in zip(names, df.columns, strict=True) if n in discrete] + [2])
    max_categories = max(max_categories, int(widest))
    for name, col in zip(names, df.columns, strict=True):
        cells, spec = _column_spec(name, df[col], name in discrete)
        if spec["discrete"]:
            spec["levels"] = _levels(cells, [_plain(v) for v in df[col].tolist()], spec, max_categories)
        columns.append(cells)
        specs.append(spec)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(names)
    writer.writerows(zip(*columns, strict=True))
    return buf.getvalue(), {"format": SCHEMA_FORMAT, "columns": specs}, max_categories


def _restore(values: np.ndarray, spec: dict[str, Any]) -> Any:
    """A pandas Series of decoded values with the column's original dtype."""
    pd = _pandas()
    if spec["discrete"]:
        lookup = {level: value for level, value in spec["levels"]}
        values = np.array([lookup[_plain(v)] for v in values], dtype=object)
    if "categories" in spec:
        return pd.Series(
            pd.Categorical(values, categories=spec["categories"], ordered=spec["ordered"]), name=spec["label"]
        )
    dtype = pd.api.types.pandas_dtype(spec["dtype"]) if spec["dtype"] != "str" else "str"
    if not spec["discrete"] and pd.api.types.is_integer_dtype(dtype):  # rounded into the dtype's range
        info = np.iinfo(getattr(dtype, "numpy_dtype", dtype))
        values = np.clip(np.rint(values.astype(np.float64)), info.min, info.max)
    return pd.Series(values, name=spec["label"]).astype(dtype)


class TableGAN:
    """An origan GAN for a DataFrame: ``fit``, ``sample``, ``save``, ``load``.

    Args:
        preset: the config to start from (``csv``: MLP G and D for tables; see ``origan presets``).
        steps: the training budget in G steps (default: the preset's).
        seed: the run's seed (a seed fixes the run).
        overrides: further ``{"dotted.key": value}`` config overrides, e.g. ``{"train.batch_size": 128}``.
        out: the run directory ``fit`` writes (default ``runs/NNNNN-csv``, as :func:`origan.train`).
        overwrite: replace an existing run directory at ``out``.
    """

    def __init__(
        self,
        preset: str = "csv",
        steps: int | None = None,
        seed: int = 0,
        overrides: dict[str, Any] | None = None,
        out: str | Path | None = None,
        overwrite: bool = False,
    ) -> None:
        from .config import load_config

        budget = {"train.steps": steps} if steps is not None else {}
        self.config = load_config(preset, overrides={"seed": seed, **budget, **(overrides or {})})
        self.out, self.overwrite = out, overwrite
        self.run: Any = None
        self.schema: dict[str, Any] | None = None

    def fit(self, df: Any, discrete_columns: Sequence[str] = (), callbacks: Sequence[Any] = ()) -> TableGAN:
        """Train on ``df``; ``discrete_columns`` are one-hot encoded besides text, boolean and category columns."""
        from . import run as run_api
        from .io.rundir import RunDir, next_run_path
        from .names import check_registered
        from .training.build import build_state, resolve_device

        _check_frame(df, discrete_columns)
        text, schema, max_categories = _table(df, discrete_columns, self.config.data.max_categories)
        path = Path(self.out) if self.out is not None else next_run_path(Path("runs"), "csv")
        table = path.resolve() / TABLE_FILE
        cfg = self.config.replace(
            **{"data.name": "csv", "data.path": str(table), "data.max_categories": max_categories}
        )
        cfg = check_registered(cfg.validate())
        RunDir.check_new(path, self.overwrite)
        device = resolve_device(cfg.train.device)
        run = run_api._create_run(path, self.overwrite, cfg)  # the table lives in the run it trains
        write_atomic(table, text.encode())
        run.write_json(SCHEMA_FILE, schema)
        data, state, fixed_z = build_state(cfg, device, 0)
        run_api._run_trainer(cfg, run, data, state, fixed_z, callbacks)
        self.config, self.schema = cfg, schema
        self.run = run_api.load_run(path)  # as load() reads it: sampling after fit and after load agree
        return self

    def _fitted(self) -> tuple[Any, dict[str, Any]]:
        if self.run is None or self.schema is None:
            raise RunDirError("TableGAN: not fitted yet; call fit(df) or TableGAN.load(path) first")
        return self.run, self.schema

    def sample(self, n: int, seed: int = 0) -> Any:
        """``n`` synthetic rows as a DataFrame with the training frame's columns, order and dtypes."""
        if n <= 0:
            raise DataError(f"TableGAN.sample: expected a positive number of rows, got {n}")
        run, _ = self._fitted()
        return self.decode(np.concatenate([chunk.numpy() for chunk in run.sample_chunks(n, seed=seed)]))

    def decode(self, x: Any) -> Any:
        """A DataFrame of encoded rows ``x`` ``(n, width)`` (samples of G, or rows of the training table)."""
        from .data.tables import TableCodec

        run, schema = self._fitted()
        columns = TableCodec.from_json(run.data_info["codec"]).decode(x)
        pd = _pandas()
        return pd.concat([_restore(v, spec) for v, spec in zip(columns, schema["columns"], strict=True)], axis=1)

    def save(self, path: str | Path) -> Path:
        """Copy the run directory to ``path`` (nothing to do when it is already there); returns ``path``."""
        run, _ = self._fitted()
        path = Path(path)
        if path.resolve() == Path(run.path).resolve():
            return path
        if path.exists():
            raise RunDirError(f"{path}: exists; expected a new folder to save the model to")
        shutil.copytree(run.path, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TableGAN:
        """A fitted TableGAN from a run directory ``fit`` (or :meth:`save`) wrote."""
        from .run import load_run

        path = Path(path)
        run = load_run(path)
        try:
            schema = json.loads((path / SCHEMA_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunDirError(f"{path}: no {SCHEMA_FILE}; expected a run written by TableGAN.fit") from None
        except (OSError, ValueError) as e:
            raise RunDirError(f"{path / SCHEMA_FILE}: cannot read ({e})") from None
        if not isinstance(schema, dict) or schema.get("format") != SCHEMA_FORMAT:
            raise RunDirError(f"{path / SCHEMA_FILE}: unknown format; expected {SCHEMA_FORMAT}")
        model = cls.__new__(cls)
        model.config, model.out, model.overwrite = run.config, run.path, False
        model.run, model.schema = run, schema
        return model

    def __repr__(self) -> str:
        where = f"path={str(self.run.path)!r}, step={self.run.step}" if self.run is not None else "not fitted"
        return f"TableGAN({where})"
