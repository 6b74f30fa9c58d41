"""``TableGAN.sample``'s conditions: column and value checked against the schema, as codec levels, and the
decoded rows that hold them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import OptionError
from .schema import _discrete_names, _listing, _pandas, _plain

_NO_VALUE: Any = object()  # sample(condition_value=...) not given (None asks for missing values)


def _condition_name(df: Any, column: Any, schema: dict[str, Any]) -> str | None:
    """The name of ``fit``'s ``condition_column`` (a discrete column), or None."""
    if column is None:
        return None
    (name,) = _discrete_names(df, [column], "condition_column")
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
