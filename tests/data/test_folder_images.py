"""Image folders: mixed formats, sizes and modes load to the configured shape, exact where colours are
known; the decoded cache is reused and invalidated when a file changes; bad folders are DataErrors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from owndata_helpers import solid, stripes
from PIL import Image

from origan.config import DataConfig
from origan.data import build_dataset, split_indices
from origan.data.folders import list_images, load_folder
from origan.errors import DataError


def _by_file(loaded: dict) -> dict[str, np.ndarray]:
    return {f: img.numpy() for f, img in zip(loaded["files"], loaded["images"], strict=True)}


def test_mixed_folder_loads_to_configured_shape_with_exact_colours(mixed_folder):
    root, expected = mixed_folder
    files = [p.relative_to(root).as_posix() for p in list_images(root)]
    assert sorted(files) == sorted(expected)  # .txt and hidden folders skipped, .JPG found
    loaded = load_folder(root, size=16)
    assert loaded["images"].shape == (len(expected), 3, 16, 16) and loaded["images"].dtype == torch.uint8
    images = _by_file(loaded)
    for name, colour in expected.items():
        img = images[name].astype(int)
        if colour is None:  # JPEG of a solid colour: within JPEG's rounding
            assert np.abs(img - np.array([200, 100, 50])[:, None, None]).max() <= 3, name
        else:
            assert (np.abs(img - np.array(colour)[:, None, None]) <= (1 if name == "dogs/half.png" else 0)).all(), name


def test_dataset_splits_80_10_10_in_unit_interval(mixed_folder):
    root, expected = mixed_folder
    data = build_dataset(DataConfig(name="folder", path=str(root), image_size=8, channels=1))
    n = len(expected)
    tr, va, te = split_indices(n, (0.1, 0.1), 0)
    assert (len(data.train), len(data.val), len(data.test)) == (len(tr), len(va), len(te))
    assert data.shape == (1, 8, 8) and data.kind == "image" and data.bounded
    x = torch.cat([data.train, data.val, data.test])
    assert x.dtype == torch.float32 and x.min() >= 0 and x.max() <= 1
    # grayscale of pure red is Pillow's ITU-R 601-2 luma: 0.299 * 255
    red = _by_file(load_folder(root, size=8, channels=1))["cats/red.png"]
    assert red.shape == (1, 8, 8) and (red == round(0.299 * 255)).all()


def test_centre_crop_and_resize_keep_the_middle(tmp_path):
    root = tmp_path / "crop"
    root.mkdir()
    arr = np.zeros((64, 128, 3), dtype=np.uint8)
    arr[:, 64:] = 255  # left half of the centred 64x64 square black, right half white
    Image.fromarray(arr).save(root / "half.png")
    stripes((90, 30), [(0, 0, 255), (255, 255, 255), (0, 0, 255)]).save(root / "z.png")
    img = _by_file(load_folder(root, size=16))
    half = img["half.png"]
    assert (half[:, :, :6] == 0).all() and (half[:, :, 10:] == 255).all()
    assert (img["z.png"] == 255).all()  # the centred square is the white stripe, nothing bleeds in


def test_auto_channels_grayscale_unless_some_colour(tmp_path):
    root = tmp_path / "gray"
    root.mkdir()
    solid("L", (10, 10), 30).save(root / "a.png")
    solid("RGB", (10, 10), (90, 90, 90)).save(root / "b.png")  # RGB file, gray content
    assert load_folder(root, size=8)["images"].shape == (2, 1, 8, 8)
    solid("RGB", (10, 10), (90, 10, 90)).save(root / "c.png")
    loaded = load_folder(root, size=8)
    assert loaded["images"].shape == (3, 3, 8, 8)
    assert (_by_file(loaded)["a.png"] == 30).all()  # gray repeated into R, G and B


def test_folder_labels_from_sub_folders(mixed_folder):
    root, _expected = mixed_folder
    loaded = load_folder(root, size=8, folder_labels=True)
    assert loaded["classes"] == ["cats", "dogs"]
    want = [0 if f.startswith("cats/") else 1 for f in loaded["files"]]
    assert loaded["labels"].tolist() == want
    data = build_dataset(DataConfig(name="folder", path=str(root), image_size=8, folder_labels=True))
    assert sorted(torch.cat([data.labels["train"], data.labels["val"], data.labels["test"]]).tolist()) == sorted(want)
    solid("RGB", (8, 8), (0, 0, 0)).save(root / "loose.png")
    with pytest.raises(DataError, match="loose.png"):
        load_folder(root, size=8, folder_labels=True)


def test_cache_is_reused_and_invalidated_when_a_file_changes(mixed_folder):
    root, _ = mixed_folder
    first = load_folder(root, size=16)
    assert not first["cache_hit"] and first["cache"].exists()
    second = load_folder(root, size=16)
    assert second["cache_hit"] and second["cache"] == first["cache"]
    assert torch.equal(second["images"], first["images"])
    solid("RGB", (40, 20), (0, 255, 0)).save(root / "cats" / "red.png")  # same name, new content
    third = load_folder(root, size=16)
    assert not third["cache_hit"] and third["cache"] != first["cache"]
    assert (_by_file(third)["cats/red.png"] == np.array([0, 255, 0])[:, None, None]).all()
    assert not first["cache"].exists()  # the superseded cache of this folder is gone
    assert load_folder(root, size=16)["cache_hit"]
    assert not load_folder(root, size=8)["cache_hit"]  # other decoding options: another key


def test_cache_with_a_broken_file_is_rebuilt(mixed_folder):
    root, _ = mixed_folder
    first = load_folder(root, size=16)
    first["cache"].write_bytes(b"garbage")
    again = load_folder(root, size=16)
    assert not again["cache_hit"] and torch.equal(again["images"], first["images"])


def test_bad_folders_raise_data_errors_naming_the_path(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="empty.*no images"):
        build_dataset(DataConfig(name="folder", path=str(empty)))
    with pytest.raises(DataError, match="data.path"):
        build_dataset(DataConfig(name="folder"))
    with pytest.raises(DataError, match="no such file"):
        build_dataset(DataConfig(name="folder", path=str(tmp_path / "missing")))
    bad = tmp_path / "bad"
    bad.mkdir()
    solid("RGB", (8, 8), (0, 0, 0)).save(bad / "fine.png")
    (bad / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(DataError, match="corrupt.png"):
        build_dataset(DataConfig(name="folder", path=str(bad)))
    (bad / "corrupt.png").unlink()
    solid("RGB", (64, 64), (9, 9, 9)).save(bad / "cut.jpg")
    (bad / "cut.jpg").write_bytes((bad / "cut.jpg").read_bytes()[:200])
    with pytest.raises(DataError, match="cut.jpg"):
        build_dataset(DataConfig(name="folder", path=str(bad)))


def test_a_file_path_is_not_a_folder(tmp_path: Path):
    path = tmp_path / "one.png"
    solid("RGB", (8, 8), (0, 0, 0)).save(path)
    with pytest.raises(DataError, match="not a file"):
        build_dataset(DataConfig(name="folder", path=str(path)))
