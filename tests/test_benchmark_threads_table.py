"""benchmarks/train_step.py --threads-presets: names of the threads table's presets, checked before any work
(one error line, exit status 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "train_step.py"


@pytest.mark.parametrize("value", ["foo", "", "ring8,ring8", "mnist,,mnist-conv", "paper-cifar10-fc"])
def test_a_bad_threads_presets_value_is_one_line_and_exit_2(value):
    argv = [sys.executable, str(SCRIPT), "--threads-table", "--threads-presets", value]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("train_step.py: error: argument --threads-presets: ")


def test_the_threads_presets_are_the_ones_it_has_iteration_counts_for():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import train_step
    finally:
        sys.path.remove(str(SCRIPT.parent))
    assert train_step._threads_presets("mnist-conv, ring8") == ("mnist-conv", "ring8")
    assert train_step.THREADS_PRESETS == ("ring8", "paper-mnist", "mnist", "mnist-conv")
    assert all(train_step.THREADS_ITERS[name] > 0 for name in train_step.THREADS_PRESETS)
