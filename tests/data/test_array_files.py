""".npy / .npz arrays: the named array is picked, pixels scaled exactly, layouts understood, bad arrays refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from origan.config import DataConfig
from origan.data import build_dataset, split_indices
from origan.errors import DataError


def _all_rows(data, n: int, seed: int = 0) -> torch.Tensor:
    """The dataset's examples put back in file order, using the documented split."""
    tr, va, te = split_indices(n, (0.1, 0.1), seed)
    out = torch.empty((n, *data.shape))
    out[tr], out[va], out[te] = data.train, data.val, data.test
    return out


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "images": rng.integers(0, 256, (30, 12, 12), dtype=np.uint8),
        "features": rng.normal(size=(30, 5)),
        "labels": rng.integers(0, 10, 30),
    }
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return path, arrays


def test_npz_picks_the_named_array_exactly(npz):
    path, arrays = npz
    data = build_dataset(DataConfig(name="array", path=str(path), array_key="images", label_key="labels"))
    assert data.shape == (1, 12, 12) and data.kind == "image" and data.bounded
    want = torch.from_numpy(arrays["images"].astype(np.float32) / 255)[:, None]
    assert torch.equal(_all_rows(data, 30), want)
    tr, _, _ = split_indices(30, (0.1, 0.1), 0)
    assert data.labels["train"].tolist() == arrays["labels"][tr.numpy()].tolist()
    vectors = build_dataset(DataConfig(name="array", path=str(path), array_key="features"))
    assert vectors.kind == "vector" and not vectors.bounded and vectors.shape == (5,)
    assert torch.equal(_all_rows(vectors, 30), torch.from_numpy(arrays["features"].astype(np.float32)))


def test_npz_key_errors_list_the_arrays(npz):
    path, _ = npz
    with pytest.raises(DataError, match=r"data\.npz.*3 arrays.*images.*data.array_key"):
        build_dataset(DataConfig(name="array", path=str(path)))
    with pytest.raises(DataError, match=r"no array 'pixels'.*images, features, labels"):
        build_dataset(DataConfig(name="array", path=str(path), array_key="pixels"))


@pytest.mark.parametrize("layout", ["nhwc", "nchw"])
def test_colour_layouts_and_channel_conversion(tmp_path, layout):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (10, 3, 8, 8), dtype=np.uint8)  # NCHW
    path = tmp_path / "colour.npy"
    np.save(path, x.transpose(0, 2, 3, 1) if layout == "nhwc" else x)
    data = build_dataset(DataConfig(name="array", path=str(path)))
    assert data.shape == (3, 8, 8)
    assert torch.equal(_all_rows(data, 10), torch.from_numpy(x.astype(np.float32) / 255))
    gray = build_dataset(DataConfig(name="array", path=str(path), channels=1))
    luma = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]) / 255
    torch.testing.assert_close(_all_rows(gray, 10)[:, 0], torch.from_numpy(luma.astype(np.float32)))


def test_resize_and_centre_crop_of_arrays(tmp_path):
    x = np.zeros((4, 16, 24), dtype=np.float32)
    x[:, :, 4:20] = 0.25  # the centred 16x16 square is constant 0.25; the sides are 0
    path = tmp_path / "wide.npy"
    np.save(path, x)
    data = build_dataset(DataConfig(name="array", path=str(path), image_size=8))
    assert data.shape == (1, 8, 8)
    torch.testing.assert_close(_all_rows(data, 4), torch.full((4, 1, 8, 8), 0.25), rtol=0, atol=1e-6)
    flat = tmp_path / "flat.npy"
    np.save(flat, np.full((6, 2 * 2), 7, dtype=np.uint8))
    assert build_dataset(DataConfig(name="array", path=str(flat), image_size=2)).shape == (1, 2, 2)


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros(10), "wrong array shape"),
        (np.zeros((2, 3, 4, 5, 6)), "wrong array shape"),
        (np.zeros((4, 8, 8, 5)), "wrong array shape"),
        (np.full((4, 8, 8), 2.0), r"must lie in \[0, 1\]"),
        (np.array([[0.5, np.nan], [0.1, 0.2]]), "non-finite"),
        (np.array([[0.5, np.inf], [0.1, 0.2]]), "non-finite"),
        (np.zeros((0, 8, 8)), "no examples"),
    ],
)
def test_bad_arrays_name_the_file(tmp_path, array, message):
    path = tmp_path / "bad_input.npy"
    np.save(path, array)
    with pytest.raises(DataError, match=f"bad_input.npy.*{message}"):
        build_dataset(DataConfig(name="array", path=str(path)))


def test_unreadable_and_pickled_files_are_refused(tmp_path):
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(DataError, match="broken.npz"):
        build_dataset(DataConfig(name="array", path=str(broken)))
    pickled = tmp_path / "objects.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="objects.npy"):
        build_dataset(DataConfig(name="array", path=str(pickled)))
    labels_bad = tmp_path / "labels.npz"
    np.savez(labels_bad, x=np.zeros((5, 8, 8), dtype=np.uint8), y=np.zeros(4, dtype=np.int64))
    with pytest.raises(DataError, match="labels must be 5 integers"):
        build_dataset(DataConfig(name="array", path=str(labels_bad), array_key="x", label_key="y"))
