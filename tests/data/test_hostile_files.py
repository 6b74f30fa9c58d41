"""Hostile files cost an error message, not memory: headers are checked before anything large is allocated."""

from __future__ import annotations

import gzip
import io
import tracemalloc
import zipfile

import numpy as np
import pytest

from helpers import set_args
from origan.config import DataConfig
from origan.data import build_dataset
from origan.data.idx import read_idx, write_idx
from origan.data.tables import check_codec
from origan.errors import ConfigError, DataError
from origan.limits import DEFAULT_MAX_DATA_BYTES, max_data_bytes

MiB = 2**20


def _npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_a_gzip_bomb_is_inflated_only_as_far_as_its_header_promises(tmp_path):
    header = bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2])  # uint8, shape (1, 2, 2): 4 bytes of data
    bomb = tmp_path / "bomb-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip.compress(header) + gzip.compress(bytes(64 * MiB)) * 16)  # 1 GiB of zeros behind it
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="promises 4 bytes of data for shape \\(1, 2, 2\\), found 5 or more"):
            read_idx(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, peak


def test_gzipped_idx_files_spread_over_several_members_still_read(tmp_path):
    x = np.arange(2 * 3 * 5, dtype=np.uint8).reshape(2, 3, 5)
    plain = tmp_path / "x-idx3-ubyte"
    write_idx(plain, x)
    body = plain.read_bytes()
    members = tmp_path / "x-idx3-ubyte.gz"
    members.write_bytes(gzip.compress(body[:7]) + gzip.compress(body[7:]))
    assert np.array_equal(read_idx(members), x)
    plain.write_bytes(body + b"\0")
    with pytest.raises(DataError, match="promises 30 bytes of data for shape \\(2, 3, 5\\), found 31"):
        read_idx(plain)


def test_npz_members_and_npy_files_are_checked_against_their_size(tmp_path):
    lying = _npy_bytes(np.zeros(4)).replace(b"(4,), }" + b" " * 12, b"(1000000000000,), }")
    with zipfile.ZipFile(tmp_path / "a.npz", "w") as z:
        z.writestr("x.npy", lying)
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r"a.npz\[x\]: the .npy header promises shape \(1000000000000,\)"):
            build_dataset(DataConfig(name="array", path=str(tmp_path / "a.npz")))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MiB, peak
    (tmp_path / "t.npy").write_bytes(_npy_bytes(np.zeros((10, 3)))[:-8])  # one float short
    with pytest.raises(
        DataError,
        match=r"t.npy: the .npy header promises shape \(10, 3\) of float64 \(240 bytes\), "
        r"the file holds 232",
    ):
        build_dataset(DataConfig(name="array", path=str(tmp_path / "t.npy")))


def test_the_decoded_data_budget_is_one_environment_variable(tmp_path, monkeypatch):
    assert max_data_bytes() == DEFAULT_MAX_DATA_BYTES == 8 * 2**30
    path = tmp_path / "a.npy"
    np.save(path, np.zeros((50, 8, 8), dtype=np.uint8))  # 3,200 bytes; 12,800 as float32 images
    monkeypatch.setenv("ORIGAN_MAX_DATA_BYTES", "12K")
    assert max_data_bytes() == 12 * 1024
    with pytest.raises(
        DataError,
        match=r"a.npy: 50 images of 1x8x8 resized to 8x8 \(data.image_size\) as float32 "
        r"would take 25 KiB, over the 12 KiB limit on decoded data "
        r"\(set ORIGAN_MAX_DATA_BYTES",
    ):
        build_dataset(DataConfig(name="array", path=str(path)))
    monkeypatch.setenv("ORIGAN_MAX_DATA_BYTES", "1K")
    with pytest.raises(DataError, match="an array of shape \\(50, 8, 8\\) and dtype uint8 would take 3.12 KiB"):
        build_dataset(DataConfig(name="array", path=str(path)))
    monkeypatch.setenv("ORIGAN_MAX_DATA_BYTES", "26K")
    assert build_dataset(DataConfig(name="array", path=str(path))).shape == (1, 8, 8)
    monkeypatch.setenv("ORIGAN_MAX_DATA_BYTES", "lots")
    with pytest.raises(ConfigError, match="ORIGAN_MAX_DATA_BYTES: expected a positive number of bytes such as"):
        build_dataset(DataConfig(name="array", path=str(path)))


def test_a_fifo_is_refused_without_blocking(tmp_path):
    import os

    os.mkfifo(tmp_path / "pipe.csv")
    with pytest.raises(DataError, match="pipe.csv: a device, pipe or socket, not a regular file; expected a CSV file"):
        build_dataset(DataConfig(name="csv", path=str(tmp_path / "pipe.csv")))


def test_a_changed_table_names_the_first_difference(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n" + "".join(f"{i % 5}.5,{i % 3},{'xy'[i % 2]}\n" for i in range(40)))
    stored = build_dataset(DataConfig(name="csv", path=str(path))).info["codec"]
    check_codec(stored, build_dataset(DataConfig(name="csv", path=str(path))))  # unchanged: fine
    path.write_text(path.read_text().replace(",", ";"))
    check_codec(stored, build_dataset(DataConfig(name="csv", path=str(path))))  # another delimiter: read the same
    path.write_text("a,c,b\n" + "".join(f"{i % 5}.5,{'xy'[i % 2]},{i % 3}\n" for i in range(40)))
    with pytest.raises(
        DataError,
        match="t.csv: the table changed since the run was trained "
        "\\(its columns are a, c, b; the run was trained on a, b, c\\)",
    ):
        check_codec(stored, build_dataset(DataConfig(name="csv", path=str(path))))
    path.write_text("a,b,c\n" + "".join(f"{i % 5}.5,{i % 3},{'xy'[i % 2]}\n" for i in range(41)))
    with pytest.raises(DataError, match="column 'a' has mean"):
        check_codec(stored, build_dataset(DataConfig(name="csv", path=str(path))))


def test_ring8_takes_an_integer_number_of_modes_from_the_command_line(tmp_path):
    from origan.cli import main
    from origan.run import load_run

    out = tmp_path / "run"
    args = [
        "train",
        "--preset",
        "ring8",
        *set_args(
            [
                "data.params.modes=5",
                "train.steps=1",
                "generator.hidden=[8]",
                "discriminator.hidden=[8]",
                "data.n_train=64",
                "train.batch_size=16",
                "train.sample_every=0",
            ]
        ),
    ]
    assert main([*args, "--out", str(out), "--quiet"]) == 0
    assert build_dataset(load_run(out).config.data).target.modes.shape == (5, 2)


def test_a_csv_text_over_the_budget_and_an_image_over_pillows_bomb_limit_are_refused(tmp_path, monkeypatch):
    from PIL import Image

    table = tmp_path / "t.csv"
    table.write_text("a,b\n" + "1.5,2\n" * 400)  # 2,404 bytes
    monkeypatch.setenv("ORIGAN_MAX_DATA_BYTES", "2K")
    with pytest.raises(DataError, match="t.csv: the table's text would take 2.35 KiB, over the 2 KiB limit"):
        build_dataset(DataConfig(name="csv", path=str(table)))
    monkeypatch.delenv("ORIGAN_MAX_DATA_BYTES")
    (tmp_path / "imgs").mkdir()
    Image.new("L", (30, 30), 7).save(tmp_path / "imgs" / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 900 pixels is more than twice the limit: a bomb
    with pytest.raises(DataError, match="big.png: not a readable image \\(Image size \\(900 pixels\\) exceeds limit"):
        build_dataset(DataConfig(name="folder", path=str(tmp_path / "imgs"), image_size=8))
