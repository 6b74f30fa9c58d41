"""The real CLI on the user's own data: a tiny image folder, an IDX folder and a CSV, trained and sampled
with one command each; a missing path is one line and exit code 2."""

from __future__ import annotations

import numpy as np
import pytest
from owndata_helpers import TABLE_CSV, write_noise_folder
from PIL import Image

from origan.cli import main
from origan.data.idx import write_idx
from origan.data.tables import infer_column, read_csv


def _train(*args: str) -> int:
    return main(["train", *args, "--quiet", "--set", "train.sample_every=0", "--set", "train.checkpoint_every=0"])


def test_image_folder_trains_and_samples_to_png(tmp_path, capsys):
    folder = write_noise_folder(tmp_path / "photos", 24)
    run = tmp_path / "run"
    assert (
        _train(
            "--preset",
            "dcgan-folder",
            "--set",
            f"data.path={folder}",
            "--set",
            "data.image_size=8",
            "--set",
            "generator.width=8",
            "--set",
            "discriminator.width=8",
            "--set",
            "train.steps=3",
            "--set",
            "train.batch_size=8",
            "--out",
            str(run),
        )
        == 0
    )
    assert main(["sample", str(run), "-n", "16", "--out", str(tmp_path / "grid.png")]) == 0
    with Image.open(tmp_path / "grid.png") as grid:  # 4 x 4 tiles of 8 px, 2 px borders, enlarged 112 // 8 = 14 times
        assert grid.mode == "RGB" and grid.size == ((2 + 4 * (8 + 2)) * 14,) * 2
    assert main(["sample", str(run), "-n", "5", "--out", str(tmp_path / "pngs")]) == 0
    files = sorted((tmp_path / "pngs").glob("*.png"))
    assert len(files) == 5
    with Image.open(files[0]) as one:
        assert one.size == (8, 8) and one.mode == "RGB"


def test_csv_trains_and_samples_a_table_that_loads_like_the_original(tmp_path):
    table = tmp_path / "people.csv"
    table.write_text(TABLE_CSV)
    run = tmp_path / "run"
    assert (
        _train(
            "--preset",
            "csv",
            "--set",
            f"data.path={table}",
            "--set",
            "train.steps=5",
            "--set",
            "train.batch_size=4",
            "--out",
            str(run),
        )
        == 0
    )
    out = tmp_path / "synthetic.csv"
    assert main(["sample", str(run), "-n", "30", "--out", str(out), "--seed", "3"]) == 0
    names, cells, delimiter = read_csv(table)
    names2, cells2, delimiter2 = read_csv(out)
    assert names2 == names and delimiter2 == delimiter and len(cells2[0]) == 30
    types = [infer_column(c, n, "x", 10)[1] for n, c in zip(names, cells, strict=True)]
    types2 = [infer_column(c, n, "x", 10)[1] for n, c in zip(names2, cells2, strict=True)]
    assert types2 == types
    assert set(cells2[2]) <= {"Paris", "Lima", "New York, NY"}  # categories come from the original's levels
    assert main(["sample", str(run), "-n", "7", "--out", str(tmp_path / "encoded.npy")]) == 0
    assert np.load(tmp_path / "encoded.npy").shape == (7, 14)


def test_paper_mnist_runs_on_idx_files(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (120, 28, 28), dtype=np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, (20, 28, 28), dtype=np.uint8))
    run = tmp_path / "run"
    assert (
        _train(
            "--preset",
            "paper-mnist",
            "--set",
            "data.name=idx",
            "--set",
            f"data.path={folder}",
            "--set",
            "train.steps=2",
            "--out",
            str(run),
        )
        == 0
    )
    assert main(["sample", str(run), "-n", "4", "--out", str(tmp_path / "x.npy")]) == 0
    assert np.load(tmp_path / "x.npy").shape == (4, 1, 28, 28)


@pytest.mark.parametrize(("preset", "message"), [("dcgan-folder", "data.path"), ("csv", "data.path")])
def test_a_missing_path_is_one_line_and_exit_2(tmp_path, capsys, preset, message):
    assert _train("--preset", preset, "--out", str(tmp_path / "run")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("origan: error: ") and message in err and "\n" not in err
