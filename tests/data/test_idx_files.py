"""MNIST-format IDX files: bytes written by hand read back exactly (raw and gzipped); an MNIST folder
gives the source's split; truncated or foreign files are DataErrors naming the file."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from origan.config import DataConfig, load_config
from origan.data import build_dataset
from origan.data.idx import read_idx, write_idx
from origan.errors import DataError


def idx_bytes(array: np.ndarray, type_byte: int, big_endian: str) -> bytes:
    """The IDX layout from LeCun's MNIST page, written out independently of the reader."""
    header = bytes([0, 0, type_byte, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(big_endian).tobytes()


CASES = [
    (np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4), 0x08, ">u1"),
    (np.array([[-5, 7], [300, -32768]], dtype=np.int16), 0x0B, ">i2"),
    (np.array([1, -2, 2**31 - 1], dtype=np.int32), 0x0C, ">i4"),
    (np.array([0.5, -1.25, 3e30], dtype=np.float32), 0x0D, ">f4"),
    (np.array([[np.pi, -1e-300]], dtype=np.float64), 0x0E, ">f8"),
]


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize(("array", "type_byte", "dtype"), CASES)
def test_hand_written_idx_reads_back_exactly(tmp_path, array, type_byte, dtype, gz):
    raw = idx_bytes(array, type_byte, dtype)
    path = tmp_path / ("x.idx.gz" if gz else "x.idx")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    back = read_idx(path)
    assert back.shape == array.shape and back.dtype == array.dtype and np.array_equal(back, array)
    out = write_idx(tmp_path / ("y.idx.gz" if gz else "y.idx"), array)  # the writer makes the same bytes
    assert (gzip.decompress(out.read_bytes()) if gz else out.read_bytes()) == raw


def _mnist_folder(root, n_train: int, n_test: int, gz: bool, seed: int = 0):
    rng = np.random.default_rng(seed)
    parts = {
        "train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "t10k": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
    }
    labels = {k: rng.integers(0, 10, len(v), dtype=np.uint8) for k, v in parts.items()}
    root.mkdir()
    suffix = ".gz" if gz else ""
    for k in parts:
        for name, arr, rank in (("images", parts[k], 3), ("labels", labels[k], 1)):
            raw = idx_bytes(arr, 0x08, ">u1")
            (root / f"{k}-{name}-idx{rank}-ubyte{suffix}").write_bytes(gzip.compress(raw) if gz else raw)
    return parts, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_folder_uses_the_papers_split(tmp_path, gz):
    parts, labels = _mnist_folder(tmp_path / "mnist", 60, 10, gz)
    data = build_dataset(DataConfig(name="idx", path=str(tmp_path / "mnist")))
    assert data.shape == (1, 28, 28) and data.info["sizes"] == [50, 10, 10]
    images = torch.from_numpy(parts["train"].astype(np.float32) / 255)[:, None]
    assert torch.equal(data.train, images[:50]) and torch.equal(data.val, images[50:])
    assert torch.equal(data.test, torch.from_numpy(parts["t10k"].astype(np.float32) / 255)[:, None])
    assert data.labels["val"].tolist() == labels["train"][50:].tolist()
    assert data.labels["test"].tolist() == labels["t10k"].tolist()


def test_paper_mnist_config_reads_idx_files(tmp_path):
    _mnist_folder(tmp_path / "mnist", 12, 3, gz=True)
    cfg = load_config("paper-mnist", overrides=["data.name=idx", f"data.path={tmp_path / 'mnist'}"])
    data = build_dataset(cfg.data)
    assert data.shape == (1, 28, 28) and len(data.train) == 10


def test_single_images_file_with_its_labels_sibling(tmp_path):
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 256, (20, 8, 8), dtype=np.uint8), rng.integers(0, 10, 20, dtype=np.uint8)
    write_idx(tmp_path / "my-images-idx3-ubyte", x)
    write_idx(tmp_path / "my-labels-idx1-ubyte", y)
    data = build_dataset(DataConfig(name="idx", path=str(tmp_path / "my-images-idx3-ubyte")))
    assert data.shape == (1, 8, 8) and sum(data.info["sizes"]) == 20
    got = torch.cat([data.labels["train"], data.labels["val"], data.labels["test"]])
    assert sorted(got.tolist()) == sorted(y.tolist())


def test_bad_idx_files_name_the_file(tmp_path):
    good = idx_bytes(np.zeros((4, 5, 5), dtype=np.uint8), 0x08, ">u1")
    cases = {
        "truncated": good[:-3],
        "header": good[:9],
        "magic": b"\x01\x02" + good[2:],
        "type": good[:2] + b"\x07" + good[3:],
        "gzip": b"\x1f\x8b" + b"junk" * 4,
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}-images-idx3-ubyte"
        path.write_bytes(data)
        with pytest.raises(DataError, match=f"{name}-images-idx3-ubyte"):
            read_idx(path)
    labels = tmp_path / "x-labels-idx1-ubyte"
    labels.write_bytes(idx_bytes(np.zeros(3, dtype=np.uint8), 0x08, ">u1"))
    (tmp_path / "x-images-idx3-ubyte").write_bytes(good)
    with pytest.raises(DataError, match="x-labels-idx1-ubyte.*4 images"):
        build_dataset(DataConfig(name="idx", path=str(tmp_path / "x-images-idx3-ubyte")))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="empty.*train-images"):
        build_dataset(DataConfig(name="idx", path=str(empty)))
