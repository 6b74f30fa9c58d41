"""CSV tables: typed columns, standardised / one-hot encoding, an exact round trip (before any training)
with names and types intact, and one-line DataErrors naming file, line and column."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
import torch
from owndata_helpers import TABLE_CSV

from origan.config import DataConfig
from origan.data import build_dataset
from origan.data.tables import TableCodec, infer_column, read_csv
from origan.errors import DataError


def _load(path, **kw):
    names, cells, delimiter = read_csv(path)
    columns = [infer_column(c, n, str(path), kw.get("max_categories", 10)) for n, c in zip(names, cells, strict=True)]
    codec = TableCodec.fit(
        names,
        [c[0] for c in columns],
        [c[1] for c in columns],
        [c[2] for c in columns],
        kw.get("max_categories", 10),
        delimiter,
    )
    return names, [c[0] for c in columns], codec


def _python_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_columns_are_typed_and_encoded(table_csv):
    names, values, codec = _load(table_csv)
    assert names == ["id", "height", "city", "rating", "tiny", "name; with spaces"]
    kinds = [(c.dtype, c.kind) for c in codec.columns]
    assert kinds == [
        ("int", "numeric"),
        ("float", "numeric"),
        ("str", "categorical"),
        ("int", "categorical"),
        ("float", "numeric"),
        ("str", "categorical"),
    ]
    assert codec.columns[2].levels == ("Lima", "New York, NY", "Paris")
    assert codec.columns[3].levels == (1, 2, 3, 4, 5)
    assert codec.columns[1].decimals == 2 and (codec.columns[4].decimals, codec.columns[4].significant) == (6, 3)
    x = codec.encode(values)
    assert x.shape == (12, 1 + 1 + 3 + 5 + 1 + 3) == (12, codec.width)
    for j in (0, 1, 10):  # numeric columns: zero mean, unit (population) standard deviation
        assert abs(x[:, j].mean()) < 1e-12 and abs(x[:, j].std() - 1) < 1e-12
    city = x[:, 2:5]
    assert (city.sum(1) == 1).all()
    assert [codec.columns[2].levels[i] for i in city.argmax(1)] == [r[2] for r in _python_rows(TABLE_CSV)[1:]]


def test_round_trip_is_exact_with_names_and_types(table_csv, tmp_path):
    names, values, codec = _load(table_csv)
    for encoded in (codec.encode(values), torch.from_numpy(codec.encode(values).astype(np.float32))):
        decoded = codec.decode(encoded)
        for v, d in zip(values, decoded, strict=True):
            assert d.dtype == v.dtype and np.array_equal(d, v)
    out = codec.write_csv(tmp_path / "again.csv", codec.encode(values))
    names2, values2, codec2 = _load(out)
    assert names2 == names
    assert [(c.dtype, c.kind, c.levels) for c in codec2.columns] == [(c.dtype, c.kind, c.levels) for c in codec.columns]
    for v, w in zip(values, values2, strict=True):
        assert np.array_equal(v, w)
    restored = TableCodec.from_json(json.loads(json.dumps(codec.to_json())))  # what a checkpoint stores
    assert restored.to_csv_text(restored.decode(codec.encode(values))) == out.read_text()


def test_decode_rounds_integers_and_argmaxes_categories():
    codec = TableCodec.fit(
        ["n", "c"],
        [np.array([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]), np.array(["a", "b"] * 5 + ["a"])],
        ["int", "str"],
        [(None, None)] * 2,
        max_categories=5,
    )
    mean, std = codec.columns[0].mean, codec.columns[0].std
    x = np.array([[(12.4 - mean) / std, 0.2, -3.0], [(12.6 - mean) / std, 0.1, 0.4]])
    n, c = codec.decode(x)
    assert n.tolist() == [12, 13] and c.tolist() == ["a", "b"]


def test_semicolon_tables_and_dropped_columns(tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b;label\n1,5;2;x\n2,5;3;y\n3,5;4;x\n")  # decimal commas make 'a' text
    names, cells, delimiter = read_csv(path, drop_columns=["b"])
    assert delimiter == ";" and names == ["a", "label"] and cells[0] == ["1,5", "2,5", "3,5"]
    data = build_dataset(DataConfig(name="csv", path=str(path), drop_columns=("a",)))
    assert data.info["target_column"] == "label" and data.shape == (3 + 2,)  # b: 3 integer levels, one-hot


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n3,x\n4,5\n", r"line 3: non-numeric cell 'x' in numeric column 'b'"),
        ("a,b\n1,2\n3,nan\n4,5\n", r"line 3: non-finite value 'nan' in column 'b'"),
        ("a,b\n1,2\n2,NaN\n3,\n", r"line 3: non-finite value 'NaN' in column 'b'; .*leave the cell empty"),
        ("a,b\n1,2\n2,NA\n3,4\n", r"line 3: non-numeric cell 'NA' in numeric column 'b' \(leave the cell empty"),
        ("a,b\n1,2\n3,-Inf\n4,5\n", r"line 3: non-finite value '-Inf' in column 'b'"),
        ("a,b\n1,2\n3,1e999\n4,5\n", r"line 3: value '1e999' in column 'b' overflows"),
        ("a,b\n1,\n3,\n4,\n", r"column 'b' has no values \(every cell is empty\)"),  # one empty cell: missing
        ("a,b\n1,2\n3,4,5\n", r"line 3: 3 cells, the header has 2"),
        ("a,b\n1,2\n\n4,5\n\n\n", r"line 3: 0 cells, the header has 2"),
        ("a,b\n", r"header line and at least one row"),
        ("a,a\n1,2\n", r"unique"),
        ("a,b\n1,p\n2,q\n3,r\n4,s\n", r"column 'b' has 4 distinct text values.*max_categories=3"),
    ],
)
def test_bad_tables_raise_one_line_naming_file_line_and_column(tmp_path, text, message):
    path = tmp_path / "broken_table.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=f"broken_table.csv.*{message}") as err:
        build_dataset(DataConfig(name="csv", path=str(path), max_categories=3))
    assert "\n" not in str(err.value)


def test_unknown_target_and_drop_columns_are_named(table_csv):
    with pytest.raises(DataError, match="data.target_column.*'age'"):
        build_dataset(DataConfig(name="csv", path=str(table_csv), target_column="age"))
    with pytest.raises(DataError, match="data.drop_columns.*'age'"):
        build_dataset(DataConfig(name="csv", path=str(table_csv), drop_columns=("age",)))


@pytest.mark.parametrize(
    ("name", "loader", "target"), [("wine", "load_wine", "class"), ("breast-cancer", "load_breast_cancer", "diagnosis")]
)
def test_sklearn_tables_round_trip_to_the_source_values(name, loader, target):
    import sklearn.datasets as skd

    bunch = getattr(skd, loader)()
    data = build_dataset(DataConfig(name=name))
    codec = TableCodec.from_json(data.info["codec"])
    assert codec.names == [*bunch.feature_names, target] and data.info["target_column"] == target
    n = len(bunch.data)
    assert sum(data.info["sizes"]) == n and data.shape == (codec.width,)
    from origan.data import split_indices

    tr, va, te = split_indices(n, (0.1, 0.1), 0)
    rows = torch.empty(n, codec.width, dtype=torch.float32)
    rows[tr], rows[va], rows[te] = data.train, data.val, data.test
    decoded = codec.decode(rows)  # from the float32 training tensors
    for j in range(bunch.data.shape[1]):
        np.testing.assert_array_equal(decoded[j].astype(np.float64), bunch.data[:, j])
    want = bunch.target_names[bunch.target] if target == "diagnosis" else bunch.target
    assert decoded[-1].tolist() == want.tolist()


def test_one_hot_is_set_by_index_and_held_to_the_byte_budget(monkeypatch):
    import tracemalloc

    from origan.limits import ENV_MAX_DATA_BYTES

    small = TableCodec.fit(["c", "n"], [np.array(["b", "a", "c", "a"]), np.array([1.0, 2.0, 3.0, 5.0])],
                           ["str", "float"], [(None, None), (1, None)], max_categories=5)  # fmt: skip
    values = [np.array(["a", "c", "b"], dtype=object), np.array([2.0, 2.0, 4.0])]
    x = small.encode(values)
    assert x.dtype == np.float64 and np.array_equal(x[:, :3], np.eye(3)[[0, 2, 1]])
    assert np.array_equal(small.encode(values, np.float32), x.astype(np.float32))
    k = 3000  # an identifier: every value its own level
    ids = np.array([f"id{i:05d}" for i in range(k)], dtype=object)
    codec = TableCodec.fit(["id"], [ids], ["str"], [(None, None)], max_categories=k)
    tracemalloc.start()
    out = codec.encode([ids], np.float32, "ids.csv")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.shape == (k, k) and (out.argmax(1) == np.arange(k)).all() and out.sum() == k
    assert peak < 1.5 * out.nbytes  # the matrix once: no k x k identity beside it
    del out
    monkeypatch.setenv(ENV_MAX_DATA_BYTES, "1M")
    with pytest.raises(
        DataError, match=r"ids.csv: the encoded table \(3,000 rows x 3,000 features\) would take"
    ) as err:
        codec.encode([ids], np.float32, "ids.csv")
    assert "\n" not in str(err.value)
    path_free = DataConfig(name="csv", max_categories=k)
    with pytest.raises(DataError, match="over the 1 MiB limit"):
        from origan.data.tables import csv_dataset

        csv_dataset("id\n" + "\n".join(ids) + "\n", path_free, "ids.csv")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(format="x"), "unknown format"),
        (lambda d: d.update(delimiter=""), "delimiter"),
        (lambda d: d.update(columns={}), "columns"),
        (lambda d: d["columns"][0].pop("name"), r"columns\[0\]"),
        (lambda d: d["columns"][0].update(extra=1), r"columns\[0\]"),
        (lambda d: d["columns"][0].update(dtype="complex"), r"columns\[0\].dtype"),
        (lambda d: d["columns"][0].update(std=0), r"columns\[0\].std"),
        (lambda d: d["columns"][0].update(mean=float("nan")), r"columns\[0\].mean"),
        (lambda d: d["columns"][2].update(levels=[]), r"columns\[2\].levels"),
        (lambda d: d["columns"][2].update(levels=["a", "a"]), r"columns\[2\].levels"),
        (lambda d: d["columns"][3].update(levels=["1", 2]), r"columns\[3\].levels"),
        (lambda d: d["columns"][1].update(decimals=-1), r"columns\[1\].decimals"),
    ],
)
def test_a_damaged_codec_is_a_one_line_error_naming_the_field(table_csv, change, field):
    data = _load(table_csv)[2].to_json()
    change(data)
    with pytest.raises(DataError, match=field) as err:
        TableCodec.from_json(json.loads(json.dumps(data)))
    assert "\n" not in str(err.value)


def test_line_breaks_inside_quoted_cells_are_read_as_written(tmp_path):
    path = tmp_path / "breaks.csv"
    path.write_bytes(b'note,n\r\n"two\r\nlines",1\r\n"a\rb",2\r\n"c\nd",3\r\n')
    names, cells, _ = read_csv(path)
    assert names == ["note", "n"] and cells == [["two\r\nlines", "a\rb", "c\nd"], ["1", "2", "3"]]
