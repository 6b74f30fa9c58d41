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

from ..errors import CheckpointError, DataError, OptionError, RunDirError
from ..io.files import write_atomic
from ..limits import check_decoded_size, check_int, check_request, regular_file
from ..seeding import derive_seed
from .conditions import _NO_VALUE, _condition_name, _conditions, _filled, _matches, _shown
from .schema import (
    SCHEMA_FILE,
    SCHEMA_FORMAT,
    _check_frame,
    _check_schema,
    _check_table,
    _encoded,
    _listing,
    _pandas,
    _plain,
    _restore,
    _table,
)

__all__ = ["SCHEMA_FILE", "TABLE_FILE", "VALIDATION_FILE", "TableGAN"]

TABLE_FILE = "table.csv"
VALIDATION_FILE = "validation.csv"  # fit's validation rows, when given as a DataFrame
DEFAULT_PATIENCE = 10  # fit with validation rows: scores without a better one before it stops
REJECTION_DRAWS = 100  # sample with a condition G does not draw directly: at most this many rows per row asked
CHUNK_BYTES = 64 * 2**20  # encoded samples decoded at a time (at most 4096 rows: run.SAMPLE_CHUNK)


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


def _undo(path: Path, existed: bool, marker_existed: bool, parents: list[Path]) -> None:
    """Remove what a failed ``fit`` wrote at ``path``: the folder it created (and the empty parents it made),
    or, in a folder that was there before, everything in it but a marker that was there before."""
    from ..io.rundir import MARKER

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
        from ..config import load_config

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
        from ..data.tables import csv_dataset
        from ..io import tensorboard
        from ..training.build import check_registered, resolve_device
        from ..training.session import resolve_precision

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
        from ..io.rundir import RunDir

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
        from ..data import DataInfo
        from ..run import Run
        from ..training.build import build_state
        from ..training.select import Selector, best_sampler
        from ..training.trainer import Trainer

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
        from .. import run as run_api
        from ..io.checkpoint import ever_checkpointed
        from ..io.rundir import MARKER
        from ..training.build import build_state
        from ..training.session import create_run, fit_run

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
        from ..data.tables import TableCodec

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
        from .. import run as run_api
        from ..training.session import create_run, write_checkpoint

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
        from ..run import load_run

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
