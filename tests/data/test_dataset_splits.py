"""Every dataset kind: splits that never move (pinned by hash), labels with class names, the one split rule."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import set_args
from origan.config import DataConfig
from origan.data import DATASETS, Dataset, build_dataset, split_indices
from origan.data.idx import write_idx
from origan.data.tables import TableCodec
from origan.errors import DataError

TOY = {"n_train": 64, "n_val": 16, "n_test": 16}


def _csv(tmp: Path) -> Path:
    rng = np.random.default_rng(3)
    rows = ["size,weight,colour,grade"]
    for _ in range(50):
        rows.append(
            f"{rng.integers(0, 1000)},{rng.normal():.3f},{rng.choice(['red', 'green', 'blue'])},{rng.integers(0, 3)}"
        )
    path = tmp / "t.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def _npz(tmp: Path) -> Path:
    rng = np.random.default_rng(4)
    path = tmp / "a.npz"
    np.savez(
        path, x=rng.integers(0, 256, (40, 6, 6), dtype=np.uint8), y=rng.integers(0, 4, 40), v=rng.normal(size=(40, 3))
    )
    return path


def _folder(tmp: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(5)
    root = tmp / "imgs"
    for i in range(24):
        sub = root / ("cats" if i % 3 else "dogs")
        sub.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (10, 10, 3), dtype=np.uint8)).save(sub / f"{i:02d}.png")
    return root


def _idx(tmp: Path) -> Path:
    rng = np.random.default_rng(6)
    root = tmp / "mnist"
    root.mkdir()
    write_idx(root / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (24, 5, 5), dtype=np.uint8))
    write_idx(root / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 24).astype(np.uint8))
    write_idx(root / "t10k-images-idx3-ubyte", rng.integers(0, 256, (6, 5, 5), dtype=np.uint8))
    write_idx(root / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 6).astype(np.uint8))
    return root


def _configs(tmp: Path) -> dict[str, DataConfig]:
    npz = str(_npz(tmp))
    return {
        **{name: DataConfig(name=name, **TOY) for name in ("gauss1d", "mixture1d", "ring8", "grid25")},
        "mnist": DataConfig(name="mnist"),
        "digits": DataConfig(name="digits"),
        "wine": DataConfig(name="wine"),
        "breast-cancer": DataConfig(name="breast-cancer", split_seed=2),
        "csv": DataConfig(name="csv", path=str(_csv(tmp))),
        "array": DataConfig(name="array", path=npz, array_key="x", label_key="y"),
        "array-vectors": DataConfig(name="array", path=npz, array_key="v", split_seed=1),
        "folder": DataConfig(name="folder", path=str(_folder(tmp)), image_size=4, folder_labels=True),
        "idx": DataConfig(name="idx", path=str(_idx(tmp))),
    }


def _digest(data: Dataset, with_labels: bool) -> str:
    h = hashlib.sha256()
    for split in ("train", "val", "test"):
        x = getattr(data, split)
        h.update(f"{split}{x.dtype}{tuple(x.shape)}".encode() + x.contiguous().numpy().tobytes())
        if with_labels:
            h.update(data.labels[split].contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


# sha256 of every split's values (and labels, where the data had them then), taken before the four split
# blocks became one; tables had no labels then
PINNED = {
    "gauss1d": "136a452308bdebff",
    "mixture1d": "39bc7b9ba11acac7",
    "ring8": "8314198cb922c406",
    "grid25": "c6ba54ee2221edd9",
    "mnist": "79a4d0c2c6dc6aae",
    "digits": "c90d44d0e7f78ef8",
    "wine": "5cba81cb8a6a3a9c",
    "breast-cancer": "1938b4829a99f651",
    "csv": "e91479a4b4fecb6e",
    "array": "d9c696cdf0f545ca",
    "array-vectors": "9e048d4fe0e982cf",
    "folder": "2a16d45216c4c980",
    "idx": "7c4b150881ec722a",
}
WITH_LABELS_THEN = {"mnist", "digits", "array", "folder", "idx"}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> dict[str, Dataset]:
    tmp = tmp_path_factory.mktemp("kinds")
    return {key: build_dataset(cfg) for key, cfg in _configs(tmp).items()}


def test_splits_are_bit_identical_to_the_pinned_ones(datasets):
    got = {key: _digest(data, key in WITH_LABELS_THEN) for key, data in datasets.items()}
    assert got == PINNED


LABELLED = {  # dataset -> its class names
    "mnist": tuple("0123456789"),
    "digits": tuple("0123456789"),
    "wine": ("0", "1", "2"),
    "breast-cancer": ("benign", "malignant"),
    "csv": ("0", "1", "2"),
    "array": ("0", "1", "2", "3"),
    "folder": ("cats", "dogs"),
    "idx": tuple("0123456789"),
}


def test_labelled_kinds_give_int64_class_indices_per_split_and_their_names(datasets):
    for key, data in datasets.items():
        if key not in LABELLED:
            assert data.labels is None and data.classes == () and data.info["classes"] == [], key
            continue
        assert data.classes == LABELLED[key] and data.info["classes"] == list(LABELLED[key]), key
        assert set(data.labels) == {"train", "val", "test"}, key
        for split in ("train", "val", "test"):
            y = data.labels[split]
            assert y.dtype == torch.int64 and y.shape == (len(getattr(data, split)),), (key, split)
            assert int(y.min()) >= 0 and int(y.max()) < len(data.classes), (key, split)


def test_table_labels_are_the_target_column_of_each_row(datasets):
    """The label of a row is the level its target column holds (decoded independently through the codec)."""
    from origan.data.tables import TableCodec

    for key in ("wine", "breast-cancer", "csv"):
        data = datasets[key]
        codec = TableCodec.from_json(data.info["codec"])
        target = codec.names.index(data.info["target_column"])
        for split in ("train", "val", "test"):
            levels = codec.decode(getattr(data, split))[target]
            assert [data.classes[i] for i in data.labels[split].tolist()] == [str(v) for v in levels], (key, split)


def test_a_numeric_target_gives_no_labels(tmp_path):
    path = tmp_path / "n.csv"
    path.write_text("a,b\n" + "".join(f"{i % 5},{i * 0.25}\n" for i in range(40)))
    data = build_dataset(DataConfig(name="csv", path=str(path)))
    assert data.info["target_column"] == "b" and data.labels is None and data.classes == ()
    labelled = build_dataset(DataConfig(name="csv", path=str(path), target_column="a"))
    assert labelled.classes == ("0", "1", "2", "3", "4")


def test_digit_labels_are_the_digits_themselves(datasets):
    from origan.data.images import load_digits8

    x, y = load_digits8()
    data = datasets["digits"]
    tr, _, _ = split_indices(len(x), (0.1, 0.1), 0)
    assert data.labels["train"].tolist() == y[tr.numpy()].tolist()
    assert torch.equal(data.train.reshape(len(tr), 64), torch.from_numpy(x[tr.numpy()] / 16.0).float())


def test_text_labels_index_their_sorted_names_and_integer_labels_must_be_class_indices(tmp_path):
    from origan.errors import DataError

    x = np.zeros((6, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "t.npz", x=x, y=np.array(["zebra", "ant", "zebra", "bee", "ant", "ant"]), bad=np.arange(-1, 5))
    data = build_dataset(DataConfig(name="array", path=str(tmp_path / "t.npz"), array_key="x", label_key="y"))
    assert data.classes == ("ant", "bee", "zebra")
    tr, _, _ = split_indices(6, (0.1, 0.1), 0)
    assert data.labels["train"].tolist() == [[2, 0, 2, 1, 0, 0][i] for i in tr.tolist()]
    with pytest.raises(
        DataError,
        match=r"t.npz\[x\]: integer labels are class indices and must lie in 0..99999; "
        r"found -1..4",
    ):
        build_dataset(DataConfig(name="array", path=str(tmp_path / "t.npz"), array_key="x", label_key="bad"))


def test_the_registry_lists_every_dataset_and_names_the_key_of_an_unknown_one():
    from origan.errors import ConfigError
    from origan.registry import Registry

    assert isinstance(DATASETS, Registry)
    assert sorted(DATASETS) == [
        "array",
        "breast-cancer",
        "cifar10",
        "csv",
        "digits",
        "folder",
        "gauss1d",
        "grid25",
        "idx",
        "mixture1d",
        "mnist",
        "ring8",
        "wine",
    ]
    assert "csv" in DATASETS and "nope" not in DATASETS
    with pytest.raises(ConfigError, match="data.name: unknown dataset 'nope'; expected one of array, breast-cancer"):
        build_dataset(DataConfig(name="nope"))


def test_integer_toy_options_are_accepted_as_integers():
    ring = build_dataset(DataConfig(name="ring8", params={"modes": 3.0, "radius": 2}, **TOY))
    assert ring.target.modes.shape == (3, 2)
    torch.testing.assert_close(ring.target.modes.norm(dim=1), torch.full((3,), 2.0, dtype=torch.float64))
    grid = build_dataset(DataConfig(name="grid25", params={"side": 3}, **TOY))
    assert grid.target.modes.shape == (9, 2)


def test_the_class_names_reach_the_run_and_its_checkpoints(tmp_path):
    from origan.cli import main
    from origan.run import load_run

    out = tmp_path / "run"
    args = [
        "train",
        "--preset",
        "paper-mnist",
        *set_args(
            [
                "data.name=digits",
                "train.steps=1",
                "generator.hidden=[8]",
                "discriminator.hidden=[4]",
                "train.batch_size=8",
                "train.sample_every=0",
            ]
        ),
    ]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "checkpoints" / "last.json").read_text())
    assert manifest["data"]["classes"] == list("0123456789")
    assert load_run(out).data_info.classes == tuple("0123456789")


@pytest.mark.parametrize(("val", "test"), [(0.1, 0.1), (0.0, 0.0), (0.3, 0.0), (0.0, 0.25)])
def test_the_held_out_shares_cut_the_same_permutation(tmp_path, val, test):
    data = build_dataset(DataConfig(name="csv", path=str(_csv(tmp_path)), val_fraction=val, test_fraction=test))
    n_val, n_test = round(50 * val), round(50 * test)
    assert (len(data.train), len(data.val), len(data.test)) == (50 - n_val - n_test, n_val, n_test)
    parts = split_indices(50, (val, test), 0)
    full = build_dataset(DataConfig(name="csv", path=str(_csv(tmp_path)), val_fraction=0.0, test_fraction=0.0))
    perm = torch.cat(parts)  # train, val, test: one permutation of every row, nothing lost or repeated
    assert sorted(perm.tolist()) == list(range(50))
    rows = {tuple(r) for r in full.train.tolist()}
    assert all(tuple(r) in rows for r in torch.cat([data.train, data.val, data.test]).tolist())
    assert (
        data.info["split"]
        == f"fixed permutation: {100 - 100 * (val + test):g}% train, {100 * val:g}% validation, {100 * test:g}% test"
    )


def test_a_csv_of_validation_rows_validates_and_every_other_row_trains(tmp_path):
    path = _csv(tmp_path)
    lines = path.read_text().splitlines()
    (tmp_path / "val.csv").write_text("\n".join([lines[0], *lines[1:6]]) + "\n")  # 5 rows, one header
    cfg = DataConfig(name="csv", path=str(path), val_path=str(tmp_path / "val.csv"), test_fraction=0.0)
    data = build_dataset(cfg)
    assert (len(data.train), len(data.val), len(data.test)) == (50, 5, 0)
    codec = TableCodec.from_json(data.info["codec"])
    assert codec.to_csv_text(codec.decode(data.val)) == (tmp_path / "val.csv").read_text()  # its rows, in order
    (tmp_path / "bad.csv").write_text("size,weight\n1,2\n")
    with pytest.raises(
        DataError, match=r"bad.csv: expected the columns of .*t.csv \('size', 'weight', 'colour', 'grade'\)"
    ):
        build_dataset(DataConfig(name="csv", path=str(path), val_path=str(tmp_path / "bad.csv")))
