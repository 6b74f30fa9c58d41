"""The lab's experiments on the test suite's reduced budget, its reports, and ``origan theory`` end to end.

Budgets and tolerances here (``quick=True``) are the ones each experiment states in its report:
- identity: fewer random pairs, the issue's tolerances unchanged (nothing is trained);
- optimal-d: 800 D steps of 256 instead of 3000 of 512; mean |D - D*| <= 0.03 (1-D) / 0.04 (2-D) instead of
  0.01 / 0.02, and |C(G) - V(G, D)| <= 0.02 instead of 0.005;
- convergence: the exact-D* arms keep the issue's tolerances (JSD <= 1e-3, |C + log 4| <= 2e-3,
  max |D* - 1/2| <= 0.02); the 300-step trained-D arm checks JSD <= 1e-2 and |C + log 4| <= 2e-2;
- saturation: at most 400 G steps per cost instead of 1500, same ratios;
- figure1: 700 training steps instead of 1500; (b) mean |D - D*| <= 0.05 instead of 0.02, (d) JSD <= 0.05
  instead of 0.01 and mean |D - 1/2| <= 0.1 instead of 0.05.
"""

import json
import math
import subprocess
import sys

import pytest

from origan import theory
from origan.cli import main
from origan.theory.lab import EXPERIMENTS, Claim, ExperimentResult


def _assert_all_pass(result: ExperimentResult) -> None:
    failed = [f"{c.statement}: {c.measured} {c.relation} {c.tolerance}" for c in result.claims if not c.passed]
    assert not failed, failed
    assert result.claims


def test_identity_quick():
    result = theory.identity(quick=True)
    _assert_all_pass(result)
    worst = next(c for c in result.claims if c.name == "identity_max_diff")
    assert worst.tolerance == 1e-8 and worst.measured < 1e-10


def test_optimal_d_quick():
    result = theory.optimal_d(quick=True)
    _assert_all_pass(result)
    for dim in ("1d", "2d"):
        n = result.numbers[dim]
        assert n["value_trained"] <= n["criterion"] + 1e-9  # V(G, D) <= max_D V(G, D) = C(G), exactly
        assert abs(n["mass_data_in_box"] - 1) < 1e-8 and abs(n["mass_g_in_box"] - 1) < 1e-5


def test_convergence_quick():
    result = theory.convergence(quick=True)
    _assert_all_pass(result)
    exact = result.numbers["exact-d-star-1d"]
    assert exact["criterion"] == pytest.approx(-math.log(4) + 2 * exact["jsd"], abs=1e-10)  # Theorem 1 along the way
    first = result.numbers["histories"]["exact-d-star-1d"][0]
    assert first["jsd"] > 1e-2  # it did start away from p_data


def test_saturation_quick():
    result = theory.saturation(quick=True)
    _assert_all_pass(result)
    norms = result.numbers["gradient_norms_trained_d"]
    assert norms["nonsaturating"] > norms["minimax"] > 0


def test_figure1_quick(tmp_path):
    result = theory.figure1(tmp_path, quick=True)
    _assert_all_pass(result)
    assert (tmp_path / "figure1.png").stat().st_size > 10_000
    assert (tmp_path / "figure1.gif").read_bytes()[:6] in (b"GIF87a", b"GIF89a")


def test_claim_semantics():
    assert Claim.check("a", "x", 0.5, "<=", 0.5).passed
    assert not Claim.check("a", "x", 0.6, "<=", 0.5).passed
    assert not Claim.check("a", "x", math.nan, "<=", 0.5).passed
    assert not Claim.check("a", "x", 0.5, "<", 0.5).passed


def test_cli_theory_identity_end_to_end(tmp_path):
    out = tmp_path / "lab"
    r = subprocess.run(
        [sys.executable, "-m", "origan", "theory", "identity", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "identity" in r.stdout and "pass" in r.stdout
    report = json.loads((out / "report.json").read_text())  # strict JSON: no NaN or Infinity tokens
    exp = report["experiments"]["identity"]
    assert report["passed"] is True and exp["passed"] is True
    assert all({"statement", "measured", "relation", "tolerance", "passed"} <= set(c) for c in exp["claims"])
    assert len(exp["numbers"]["pairs"]) == 72
    assert (out / "identity.png").stat().st_size > 10_000
    assert "| claim | measured | target | result |" in (out / "report.md").read_text()


def test_cli_exit_code_1_when_a_claim_fails(tmp_path, monkeypatch, capsys):
    def broken(out, *, seed, quick):
        result = ExperimentResult("broken", "a claim that does not hold")
        result.claim("one_is_two", "1 <= 0", 1.0, "<=", 0.0)
        return result

    monkeypatch.setitem(EXPERIMENTS._members, "broken", ("a claim that does not hold", broken))
    assert main(["theory", "broken", "--out", str(tmp_path)]) == 1
    assert "failed: 1 <= 0" in capsys.readouterr().out
    assert json.loads((tmp_path / "report.json").read_text())["passed"] is False


def test_cli_unknown_experiment_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as e:
        main(["theory", "nope", "--out", str(tmp_path)])
    assert e.value.code == 2
