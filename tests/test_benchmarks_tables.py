"""benchmarks/tables_peers.py: its options are checked before any work (one line, exit status 2), a missing peer
is named with the extra that installs it, and a tiny origan-only run goes end to end (no ctgan, sdv or
statsmodels needed: those are the peers extra, not the test one)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tables_peers.py"


@pytest.fixture(scope="module")
def tp():
    spec = importlib.util.spec_from_file_location("tables_peers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["tables_peers"] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("tables_peers", None)


def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tables_peers.py: error: ")
    assert "Traceback" not in captured.err
    return lines[0]


# the origan options are named with --synthesisers origan --tables wine, so no peer is needed to reach them
ORIGAN_ONLY = ["--synthesisers", "origan", "--tables", "wine"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--tables", "nope"], "invalid choice: 'nope'"),
        (["--tables", "wine", "wine"], "wine named twice"),
        (["--synthesisers", "gan"], "invalid choice: 'gan'"),
        (["--seeds"], "expected at least one argument"),
        (["--seeds", "-1"], "invalid seed value"),
        (["--seeds", "x"], "invalid seed value"),
        (["--seeds", str(2**32)], "invalid seed value"),
        (["--seeds", "0", "1", "0"], "0 named twice"),
        (["--threads", "0"], "invalid thread count value"),
        (["--threads", "1.5"], "invalid thread count value"),
        (["--ctgan-epochs", "0"], "invalid epoch count value"),
        (["--origan-validation", "1.5"], "invalid share (a number in (0, 1)) value"),
        (["--origan-validation", "0"], "invalid share"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--first-seed-only", "ctgan"], "expected NAME:TABLE"),
        (["--first-seed-only", "ctgan:adult"], "expected NAME:TABLE"),
        ([*ORIGAN_ONLY, "--origan-set", "train.steps"], "expected KEY=VALUE"),
        ([*ORIGAN_ONLY, "--origan-set", "train.steps=-5"], "train.steps"),
        ([*ORIGAN_ONLY, "--origan-set", "nosuch.key=1"], "unknown key"),
        ([*ORIGAN_ONLY, "--origan-preset", "nope"], "preset 'nope'"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tp, capsys, argv, says):
    with pytest.raises(SystemExit) as e:
        tp.main(argv)
    assert e.value.code == 2
    assert says in _error_line(capsys)


def test_json_path_is_checked(tp, capsys, tmp_path):
    for path, says in ((tmp_path / "missing" / "out.json", "does not exist"), (tmp_path, "is a folder")):
        with pytest.raises(SystemExit) as e:
            tp.main([*ORIGAN_ONLY, "--json", str(path)])
        assert e.value.code == 2
        assert says in _error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "modules", "package"),
    [
        (["--synthesisers", "origan", "ctgan", "--tables", "wine"], ["ctgan"], "ctgan"),
        (["--synthesisers", "gaussian_copula", "--tables", "wine"], ["sdv", "sdv.single_table", "sdv.metadata"], "sdv"),
        (["--synthesisers", "origan", "--tables", "fair"], ["statsmodels", "statsmodels.datasets"], "statsmodels"),
    ],
)
def test_a_missing_peer_names_the_extra(tp, capsys, monkeypatch, argv, modules, package):
    for name in modules:  # None in sys.modules: the import fails as if the package were not installed
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(SystemExit) as e:
        tp.main(argv)
    assert e.value.code == 2
    line = _error_line(capsys)
    assert f"needs the package {package}" in line
    assert "pip install 'origan[peers]'" in line


def test_closeness_of_copies_and_of_fresh_rows(tp):
    d_test = np.array([0.5, 1.0, 1.5, 2.0, 2.5])
    assert tp.closeness(np.zeros(7), d_test) == {"closeness": 1.0, "dcr_ratio": 0.0}
    assert tp.closeness(d_test, d_test) == {"closeness": 0.5, "dcr_ratio": 1.0}
    assert tp.closeness(d_test + 10, d_test)["closeness"] == 0.0


def test_command_line_error_is_one_line():
    r = subprocess.run(
        [sys.executable, str(SCRIPT), "--seeds", "0", "zero"], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip() == "tables_peers.py: error: argument --seeds: invalid seed value: 'zero'"


def test_tiny_origan_run_end_to_end(tmp_path):
    out = tmp_path / "out.json"
    argv = [*ORIGAN_ONLY, "--seeds", "0", "--origan-set", "train.steps=20", "--json", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run(
        [sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "| wine | origan | 1 |" in r.stdout
    assert "| wine | real data | 1 |" in r.stdout
    assert "CPU: " in r.stdout and "versions: " in r.stdout
    record = json.loads(out.read_text())
    assert record["meta"]["origan_overrides"] == {"train.steps": 20}
    rows = {r["synthesiser"]: r for r in record["records"]}
    assert set(rows) == {"origan", "real data"}
    origan, real = rows["origan"], rows["real data"]
    assert "error" not in origan
    assert (origan["n_train"], origan["n_test"]) == (142, 36)
    for row in (origan, real):
        for key in ("quality", "tstr_rf", "tstr_lr", "closeness"):
            assert 0.0 <= row[key] <= 1.0, (key, row)
    assert origan["fit_s"] > 0 and origan["sample_s"] >= 0
    assert origan["trtr_rf"] == real["tstr_rf"]
    assert real["closeness"] == 0.5 and real["dcr_ratio"] == 1.0
    assert not list(tmp_path.glob("runs"))  # the origan run lived in a temporary folder
