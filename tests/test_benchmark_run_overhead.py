"""benchmarks/run_overhead.py: a real run against its bare step and the step with each per-step part on, end to
end on a small preset; a bad option is one line with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "run_overhead.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(SCRIPT), *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


def test_it_times_the_run_and_the_step_with_each_part_on(tmp_path):
    done = _run("--preset", "ring8", "--steps", "30", "--rounds", "1", "--iters", "3", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "### `ring8`, 30 steps, train.autocast = none, 1 thread(s)" in out
    assert "| bare step (Algorithm 1's update; median of rounds before and after) | 30 |" in out
    # ring8 keeps no moving average: the bare step and the step with the guard, two rounds each (before, after)
    assert "median of 2 rounds of 3" in out
    assert "| bare | " in out and "| with the guard | " in out and "moving average |" not in out
    assert "the loop against the step with every per-step part: " in out
    assert (tmp_path / "ring8-none" / "metrics.jsonl").is_file()  # the real run wrote its folder


def test_with_the_average_it_times_four_variants(tmp_path):
    done = _run(
        "--preset",
        "ring8",
        "--steps",
        "20",
        "--rounds",
        "1",
        "--iters",
        "2",
        "--out",
        str(tmp_path),
        "--set",
        "train.ema=0.99",
    )
    assert done.returncode == 0, done.stderr
    for row in ("| bare | ", "| with the moving average | ", "| with the guard | ", "| with both | "):
        assert row in done.stdout
    assert "| moving average of G (every G step) | 20 |" in done.stdout


def test_an_out_that_is_a_file_is_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("kept")
    done = _run("--preset", "ring8", "--out", str(tmp_path / "file"))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("run_overhead.py: error: ") and "--out" in done.stderr
    assert (tmp_path / "file").read_text() == "kept"


def test_a_bad_option_is_one_line_and_exit_2():
    bad = (["--steps", "0"], ["--preset", "nope"], ["--autocast", "fp8"], ["--set", "train.ema=1.5"], ["--set", "foo"])
    for args in (*bad, ["--set", "train.steps=abc"]):  # the last: a key with its own option
        done = _run(*args)
        assert done.returncode == 2, args
        assert done.stdout == "" and done.stderr.startswith("run_overhead.py: error: "), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
