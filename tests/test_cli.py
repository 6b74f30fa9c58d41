"""The real CLI end to end: train, sample, presets, plot, help texts, exit codes."""

import json
import subprocess
import sys

import numpy as np
import pytest

from helpers import set_args
from origan.cli import build_parser, main

TINY = set_args([
    "train.steps=20", "train.log_every=5", "train.sample_every=10", "train.checkpoint_every=10",
    "generator.hidden=[16]", "discriminator.hidden=[16]", "data.n_train=256", "data.n_val=32", "data.n_test=32",
    "train.batch_size=32",
])  # fmt: skip


def _origan(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "origan", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_train_then_sample_end_to_end(tmp_path):
    run = tmp_path / "run"
    r = _origan("train", "--preset", "ring8", *TINY, "--out", str(run), "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"run directory: {run}" in r.stdout
    for name in (
        "config.json",
        "metrics.jsonl",
        "checkpoints/last.json",
        "checkpoints/last.safetensors",
        "checkpoints/step-000000010.json",
        "samples/step-000000010.png",
        "samples/step-000000020.png",
        "plots/losses.png",
        "plots/d_outputs.png",
    ):
        assert (run / name).is_file(), name
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r_["step"] for r_ in rows] == [5, 10, 15, 20]
    assert set(rows[0]) >= {
        "step",
        "epoch",
        "d_loss",
        "g_loss",
        "value",
        "d_real",
        "d_fake",
        "lr_d",
        "momentum",
        "img_per_s",
    }
    assert json.loads((run / "config.json").read_text())["train"]["steps"] == 20

    r = _origan("sample", str(run), "-n", "37", "--out", str(tmp_path / "s.csv"), "--seed", "3")
    assert r.returncode == 0, r.stderr
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "x0,x1" and len(lines) == 38
    r = _origan(
        "sample", str(run / "checkpoints" / "last.json"), "-n", "37", "--out", str(tmp_path / "s.npy"), "--seed", "3"
    )
    assert r.returncode == 0, r.stderr
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (37, 2)
    np.testing.assert_allclose(arr, np.loadtxt(tmp_path / "s.csv", delimiter=",", skiprows=1), rtol=1e-6)
    # Same seed, same samples; PNG output is refused for non-image data with a one-line error.
    r = _origan("sample", str(run), "-n", "5", "--out", str(tmp_path / "s.png"))
    assert r.returncode == 2 and "PNG output needs image data" in r.stderr and "Traceback" not in r.stderr


def test_image_run_samples_to_grid_and_folder(tmp_path):
    run = tmp_path / "digits"
    r = _origan(
        "train",
        "--preset",
        "digits",
        "--set",
        "train.steps=6",
        "--set",
        "train.log_every=3",
        "--set",
        "generator.hidden=[16]",
        "--set",
        "discriminator.hidden=[8]",
        "--out",
        str(run),
    )
    assert r.returncode == 0, r.stderr
    assert "step" in r.stdout  # plain progress lines when stdout is not a terminal
    assert _origan("sample", str(run), "-n", "9", "--out", str(tmp_path / "g.png")).returncode == 0
    r = _origan("sample", str(run), "-n", "3", "--out", str(tmp_path / "pngs"))
    assert r.returncode == 0, r.stderr
    from PIL import Image

    assert Image.open(tmp_path / "g.png").size[0] > 8
    files = sorted(p.name for p in (tmp_path / "pngs").iterdir())
    assert files == ["0.png", "1.png", "2.png"] and Image.open(tmp_path / "pngs" / "0.png").size == (8, 8)
    r = _origan("sample", str(run), "-n", "4097", "--out", str(tmp_path / "big.png"))
    assert r.returncode == 2 and "a .png grid holds at most 4096 samples, got 4097" in r.stderr
    assert not (tmp_path / "big.png").exists()


def test_dry_run_prints_the_papers_settings(capsys):
    assert main(["train", "--preset", "paper-mnist", "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["optim_d"]["lr"] == 0.1 and cfg["discriminator"]["pieces"] == 5 and cfg["noise"]["prior"] == "uniform"


def test_presets_lists_one_line_each(capsys):
    from origan.config import PRESETS

    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(PRESETS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "--preset", "ring8", "--set", "train.k=0", "--dry-run"],
            "train.k: expected an integer in [1, 10,000]",
        ),
        (["train", "--preset", "ring8", "--set", "bogus=1", "--dry-run"], "bogus: unknown key"),
        (["train", "--preset", "nope", "--dry-run"], "preset 'nope'"),
        (["train", "--dry-run"], "give --preset"),
        (["sample", "does/not/exist", "--out", "x.npy"], "does/not/exist: no such run"),
        (["train", "--resume", "does/not/exist"], "not an origan run directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_existing_run_directory_is_refused_without_overwrite(tmp_path):
    run = tmp_path / "run"
    assert _origan("train", "--preset", "ring8", *TINY, "--out", str(run), "--quiet").returncode == 0
    before = (run / "metrics.jsonl").read_bytes()
    r = _origan("train", "--preset", "ring8", *TINY, "--out", str(run), "--quiet")
    assert r.returncode == 2 and "run directory exists" in r.stderr
    assert (run / "metrics.jsonl").read_bytes() == before
    assert _origan("train", "--preset", "ring8", *TINY, "--out", str(run), "--quiet", "--overwrite").returncode == 0


def test_every_command_has_help_with_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    assert parser.epilog and "example:" in parser.epilog
    for name, p in sub.choices.items():
        text = p.format_help()
        assert "example:" in text and f"origan {name}" in text, name
        assert p.description, name


def test_python_dash_m_and_help_run():
    r = _origan("--help")
    assert r.returncode == 0 and "train" in r.stdout and "sample" in r.stdout


def test_no_module_imports_a_name_from_the_half_built_package():
    """`from .. import __version__` in a module that `origan/__init__.py` imports works only while __init__ happens
    to define the name first; once it did not (a tree changed under a running suite), `python -m origan sample`
    failed with "cannot import name ... from partially initialized module 'origan'". Names come from their module."""
    import ast
    from pathlib import Path

    import origan

    root = Path(origan.__file__).parent
    submodules = {p.stem for p in root.glob("*.py")} | {p.name for p in root.iterdir() if (p / "__init__.py").exists()}
    bad = []
    for path in root.rglob("*.py"):
        package = list(path.relative_to(root.parent).with_suffix("").parts)[:-1]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            target = package[: len(package) - node.level + 1] if node.level else (node.module or "").split(".")
            if node.level and node.module:
                target = target + node.module.split(".")
            if target == ["origan"]:
                bad += [f"{path.relative_to(root)}: {a.name}" for a in node.names if a.name not in submodules]
    assert bad == []


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    import origan

    cfg = origan.load_config(
        "ring8",
        overrides=[
            "train.steps=4",
            "train.sample_every=0",
            "generator.hidden=[8]",
            "discriminator.hidden=[8]",
            "data.n_train=64",
            "train.batch_size=16",
        ],
    )
    return origan.train(cfg, out=tmp_path_factory.mktemp("tiny") / "run").path


@pytest.mark.parametrize("n", [1, 17, 4095, 4096, 8191, 8192, 8193, 12289])
def test_chunked_samples_equal_one_draw(tiny_run, n):
    import torch

    import origan
    from origan.run import SAMPLE_CHUNK

    run = origan.load_run(tiny_run)  # normal noise: torch fills it 16 values at a time, with a special tail
    chunks = list(run.sample_chunks(n, seed=5))
    assert all(len(c) < 2 * SAMPLE_CHUNK for c in chunks) and sum(map(len, chunks)) == n
    assert torch.equal(torch.cat(chunks), run.sample(n, seed=5))


def test_streamed_files_equal_the_files_of_one_draw(tiny_run, tmp_path):
    import io

    import torch

    import origan
    from origan.io.export import write_samples

    run = origan.load_run(tiny_run)
    chunks = list(run.sample_chunks(50, seed=2, chunk=8))  # 6 chunks: 8, 8, 8, 8, 8, 10
    x = torch.cat(chunks)
    assert len(chunks) == 6
    write_samples(iter(chunks), 50, tmp_path / "s.npy", "vector")
    buf = io.BytesIO()
    np.save(buf, x.numpy(), allow_pickle=False)
    assert (tmp_path / "s.npy").read_bytes() == buf.getvalue()
    write_samples(iter(chunks), 50, tmp_path / "s.csv", "vector")
    lines = ["x0,x1"] + [",".join(repr(float(v)) for v in row) for row in x.numpy()]
    assert (tmp_path / "s.csv").read_text() == "\n".join(lines) + "\n"


def test_sampling_a_billion_streams_in_bounded_memory(tiny_run, tmp_path):
    """`sample -n 1000000000` writes chunk after chunk: its memory stays flat while the file grows."""
    import os
    import signal
    import time
    from pathlib import Path

    out = tmp_path / "big.npy"
    proc = subprocess.Popen(
        [sys.executable, "-m", "origan", "sample", str(tiny_run), "-n", "1000000000", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    tmp = out.with_name(f".{out.name}.tmp-{proc.pid}")
    deadline = time.time() + 240
    try:
        while time.time() < deadline and proc.poll() is None and not (tmp.exists() and tmp.stat().st_size > 32 << 20):
            time.sleep(0.1)
        assert proc.poll() is None, proc.stderr.read()
        status = Path(f"/proc/{proc.pid}/status").read_text()
        rss_kb = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert tmp.stat().st_size > 32 << 20  # 4M samples written ...
    assert rss_kb < 1_500_000, rss_kb  # ... in far less than the 8 GB of one draw of 10^9 2-D samples
    assert not out.exists()  # the file appears whole or not at all


def test_a_reader_that_goes_away_is_not_a_traceback():
    """`origan ... | head`: when the reader of stdout closes it, origan stops quietly (exit 141, like cat)."""
    cmd = [sys.executable, "-m", "origan", "train", "--preset", "paper-mnist", "--dry-run"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # gone before origan writes: it imports torch first, which takes far longer than this
    err = proc.stderr.read().decode()
    proc.wait(timeout=300)
    assert proc.returncode == 141, err
    assert err == ""
