"""Missing values in tables: an empty CSV cell is a missing value. Categorical columns get one more level (None,
JSON null, the last), numeric ones a ``[value, present, missing]`` block; the round trip gives them back exactly,
codecs stored before the field existed load and encode as before, and bad input is one line naming it."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch

from origan.cli import main
from origan.data.tables import TableCodec, infer_column, parse_csv, read_csv
from origan.errors import DataError
from origan.metrics.registry import MetricContext
from origan.metrics.tables import marginals
from origan.run import load_run

# n: int, numeric (12 values > max_categories); x: float; c: text; r: int, categorical (3 levels)
MISSING_CSV = """n,x,c,r
0,0.50,a,1
1,,b,2
,2.25,,1
3,3.50,b,
4,4.75,a,1
,5.50,b,2
6,6.25,,1
7,,b,3
8,8.50,a,1
9,9.75,b,
10,10.50,a,1
11,11.25,b,3
"""
MAX_CATEGORIES = 5


def _fit(text: str) -> tuple[list[np.ndarray], TableCodec]:
    names, cells, delimiter = parse_csv(text, "t.csv")
    columns = [infer_column(c, n, "t.csv", MAX_CATEGORIES) for n, c in zip(names, cells, strict=True)]
    codec = TableCodec.fit(
        names, [c[0] for c in columns], [c[1] for c in columns], [c[2] for c in columns], MAX_CATEGORIES, delimiter
    )
    return [c[0] for c in columns], codec


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal dtypes and values, a missing value (NaN, None) equal only to a missing value."""
    if a.dtype != b.dtype:
        return False
    if a.dtype.kind == "f":
        return bool(np.array_equal(a, b, equal_nan=True))
    return a.tolist() == b.tolist()


def test_missing_cells_are_read_as_missing_values_of_each_type():
    values, codec = _fit(MISSING_CSV)
    n, x, c, r = values
    assert n.dtype == object and n.tolist() == [0, 1, None, 3, 4, None, 6, 7, 8, 9, 10, 11]
    assert x.dtype == np.float64 and np.isnan(x).tolist() == [False, True] + [False] * 5 + [True] + [False] * 4
    assert c.dtype == object and c.tolist()[:4] == ["a", "b", None, "b"]
    assert r.dtype == object and r.tolist()[2:4] == [1, None]
    assert [(col.dtype, col.kind, col.missing) for col in codec.columns] == [
        ("int", "numeric", True),
        ("float", "numeric", True),
        ("str", "categorical", False),
        ("int", "categorical", False),
    ]
    assert codec.columns[2].levels == ("a", "b", None) and codec.columns[3].levels == (1, 2, 3, None)
    present = np.array([0, 1, 3, 4, 6, 7, 8, 9, 10, 11], dtype=np.float64)  # mean and std of the present values
    assert codec.columns[0].mean == present.mean() and codec.columns[0].std == present.std()


def test_encoded_widths_and_the_value_present_missing_block():
    values, codec = _fit(MISSING_CSV)
    assert [col.width for col in codec.columns] == [3, 3, 3, 4] and codec.width == 13
    sl = codec.slices()
    assert [(s.start, s.stop) for s in sl.values()] == [(0, 3), (3, 6), (6, 9), (9, 13)]
    enc = codec.encode(values)
    assert enc.shape == (12, 13)
    block = enc[:, sl["n"]]
    missing = np.array([v is None for v in values[0]])
    assert (block[missing] == [0.0, 0.0, 1.0]).all()  # imputed with the mean: 0 standardised
    assert (block[~missing, 1:] == [1.0, 0.0]).all()
    col = codec.columns[0]
    assert np.allclose(block[~missing, 0], (values[0][~missing].astype(np.float64) - col.mean) / col.std)
    assert (enc[:, sl["c"]].sum(1) == 1).all() and (enc[[2, 6], sl["c"].stop - 1] == 1).all()  # the level None


def test_round_trip_with_missing_values_is_exact_in_every_column_kind():
    values, codec = _fit(MISSING_CSV)
    for rows in (codec.encode(values), torch.from_numpy(codec.encode(values).astype(np.float32))):
        n, x, c, r = codec.decode(rows)
        assert n.dtype == np.float64 and np.array_equal(n, [0, 1, np.nan, 3, 4, np.nan, 6, 7, 8, 9, 10, 11], True)
        assert _same(x, values[1]) and _same(c, values[2]) and _same(r, values[3])
    again = codec.decode(codec.encode(codec.decode(codec.encode(values))))  # metrics re-encode decoded rows
    for a, b in zip(again, codec.decode(codec.encode(values)), strict=True):
        assert _same(a, b)


def test_csv_text_round_trip_writes_missing_values_as_empty_cells(tmp_path):
    values, codec = _fit(MISSING_CSV)
    assert codec.to_csv_text(codec.decode(codec.encode(values))) == MISSING_CSV
    out = codec.write_csv(tmp_path / "again.csv", codec.encode(values))
    names, cells, _ = read_csv(out)
    assert names == ["n", "x", "c", "r"] and cells[0][2] == "" and cells[1][1] == ""
    assert [codec.columns[j].format(v) for j, v in enumerate([np.nan, None, None, None])] == [""] * 4


def test_decoding_rows_reproduces_the_missing_rate_they_carry():
    _, codec = _fit(MISSING_CSV)
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(1000, codec.width))
    sl = codec.slices()
    flag = rng.random(1000) < 0.3  # rows whose pair says missing
    rows[:, sl["x"].start + 1], rows[:, sl["x"].start + 2] = np.where(flag, 0.2, 0.9), np.where(flag, 0.8, 0.1)
    level = rng.random(1000) < 0.15  # rows whose argmax is c's missing level
    rows[:, sl["c"]] = np.where(level[:, None], [0.1, 0.2, 0.9], [0.9, 0.2, 0.1])
    _, x, c, _ = codec.decode(rows)
    assert np.isnan(x).tolist() == flag.tolist() and np.isnan(x).mean() == flag.mean()
    assert [v is None for v in c] == level.tolist()
    # the fidelity report compares the rates: 0 for the rows against themselves
    scores = marginals(torch.from_numpy(rows), torch.from_numpy(rows), MetricContext(codec=codec))
    assert scores["missing/x"] == 0.0 and scores["ks/x"] == 0.0 and np.isfinite(scores["ks_mean"])


OLD_CODEC = {  # what origan wrote before missing values (a checkpoint manifest's data.codec)
    "format": "origan-table-codec/1",
    "delimiter": ",",
    "columns": [
        {"name": "n", "dtype": "int", "kind": "numeric", "mean": 5.5, "std": 3.452052529534663, "decimals": None,
         "significant": None, "levels": []},
        {"name": "x", "dtype": "float", "kind": "numeric", "mean": 6.0, "std": 3.452052529534663, "decimals": 1,
         "significant": None, "levels": []},
        {"name": "c", "dtype": "str", "kind": "categorical", "mean": 0.0, "std": 1.0, "decimals": None,
         "significant": None, "levels": ["a", "b"]},
        {"name": "r", "dtype": "int", "kind": "categorical", "mean": 0.0, "std": 1.0, "decimals": None,
         "significant": None, "levels": [1, 2, 3]},
    ],
}  # fmt: skip
FULL_CSV = "n,x,c,r\n" + "".join(f"{i},{i + 0.5},{'ab'[i % 2]},{[1, 2, 1, 3][i % 4]}\n" for i in range(12))


def test_a_table_without_missing_values_keeps_the_codec_it_always_had():
    values, codec = _fit(FULL_CSV)
    assert codec.to_json() == OLD_CODEC  # no "missing" key: stored codecs compare equal
    old = TableCodec.from_json(json.loads(json.dumps(OLD_CODEC)))
    assert [c.missing for c in old.columns] == [False] * 4 and old.width == 7
    enc = old.encode(values)
    assert enc.tolist()[0] == [-1.5932550136313832, -1.5932550136313832, 1.0, 0.0, 1.0, 0.0, 0.0]
    decoded = old.decode(enc)
    assert [v.dtype for v in decoded] == [np.int64, np.float64, object, np.int64]
    assert all(_same(a, b) for a, b in zip(decoded, values, strict=True))


def test_json_round_trip_keeps_the_missing_fields():
    values, codec = _fit(MISSING_CSV)
    data = json.loads(json.dumps(codec.to_json()))
    assert [c.get("missing") for c in data["columns"]] == [True, True, None, None]
    assert data["columns"][2]["levels"] == ["a", "b", None] and data["columns"][3]["levels"] == [1, 2, 3, None]
    restored = TableCodec.from_json(data)
    assert restored.columns == codec.columns
    assert np.array_equal(restored.encode(values), codec.encode(values))


@pytest.mark.parametrize(
    ("column", "change", "message"),
    [
        (0, {"missing": "yes"}, r"columns\[0\]\.missing: expected true or false"),
        (0, {"missing": 1}, r"columns\[0\]\.missing: expected true or false"),
        (2, {"missing": True}, r"columns\[2\]\.missing: expected true or false \(true only for a numeric column"),
        (2, {"levels": ["a", None, "b"]}, r"columns\[2\]\.levels: expected distinct strings \(null last"),
        (2, {"levels": [None]}, r"columns\[2\]\.levels: expected distinct strings"),
        (2, {"levels": ["a", "b", None, None]}, r"columns\[2\]\.levels: expected distinct strings"),
        (3, {"levels": [1, 2, "3", None]}, r"columns\[3\]\.levels: expected distinct integers"),
        (0, {"levels": [None]}, r"columns\[0\]\.levels: expected \[\]"),
    ],
)
def test_bad_missing_fields_in_a_stored_codec_are_one_line_naming_the_field(column, change, message):
    _, codec = _fit(MISSING_CSV)
    data = json.loads(json.dumps(codec.to_json()))
    data["columns"][column].update(change)
    with pytest.raises(DataError, match=rf"table codec: {message}") as err:
        TableCodec.from_json(data)
    assert "\n" not in str(err.value)


def test_a_missing_value_in_a_column_fitted_without_any_is_refused():
    values, codec = _fit(FULL_CSV)
    values[0] = values[0].astype(object)
    values[0][4] = None
    with pytest.raises(DataError, match=r"t: column 'n': row 4 is missing; the codec's column has no missing"):
        codec.encode(values, source="t")
    values, codec = _fit(FULL_CSV)
    values[2][1] = None
    with pytest.raises(DataError, match=r"column 'c': value None is not one of its 2 levels"):
        codec.encode(values)


def test_type_inference_ignores_empty_cells():
    assert infer_column(["1", "", "3"], "a", "t", 10)[1] == "int"
    with pytest.raises(DataError, match=r"t: line 4: non-numeric cell 'x' in numeric column 'a'"):
        infer_column(["", "1.5", "x", "2"], "a", "t", 10)  # 2 numbers of 3 cells with a value: numeric
    values, dtype, _ = infer_column(["", "", "x"], "a", "t", 10)
    assert dtype == "str" and values.tolist() == [None, None, "x"]
    values, dtype, precision = infer_column(["1.25", "", "-3.5"], "a", "t", 10)
    assert dtype == "float" and precision == (2, None) and np.isnan(values[1])


def test_the_cli_trains_and_samples_a_csv_with_empty_cells(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["age,height,city,rating"]
    for _ in range(80):
        cells = [str(rng.integers(18, 90)), f"{rng.normal(1.7, 0.1):.2f}", str(rng.choice(["Paris", "Lima"])),
                 str(rng.integers(1, 4))]  # fmt: skip
        lines.append(",".join("" if rng.random() < 0.2 else cell for cell in cells))
    table = tmp_path / "holes.csv"
    table.write_text("\n".join(lines) + "\n")
    run = tmp_path / "run"
    args = ["--preset", "csv", "--set", f"data.path={table}", "--set", "train.steps=30", "--set", "train.batch_size=16"]
    quiet = ["--quiet", "--set", "train.sample_every=0", "--set", "train.checkpoint_every=0"]
    assert main(["train", *args, *quiet, "--out", str(run)]) == 0
    out = tmp_path / "x.csv"
    assert main(["sample", str(run), "-n", "50", "--out", str(out)]) == 0
    names, cells, _ = read_csv(out)
    assert names == ["age", "height", "city", "rating"] and all(len(c) == 50 for c in cells)
    patterns = [r"-?\d+", r"-?\d+\.\d\d", r"Paris|Lima", r"[123]"]  # a cell is empty or of its column's type
    for column, pattern in zip(cells, patterns, strict=True):
        assert all(cell == "" or re.fullmatch(pattern, cell) for cell in column), column
    stored = TableCodec.from_json(load_run(run).data_info.codec)  # the codec in the checkpoint
    assert [c.missing for c in stored.columns] == [True, True, False, False]
    assert stored.columns[2].levels == ("Lima", "Paris", None) and stored.columns[3].levels == (1, 2, 3, None)
