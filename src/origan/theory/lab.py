"""The lab's bookkeeping: claims with tolerances, experiment results, the registry and the reports.

An experiment is a function ``f(out: Path | None, *, seed: int, quick: bool) -> ExperimentResult``
registered under its name with :func:`register_experiment`. It measures numbers, states each claim of
the paper it checks as a :class:`Claim` (measured value, relation, tolerance), and draws its figures into
``out`` when given. :func:`run_lab` runs several and writes ``report.json`` and ``report.md``.

``quick=True`` is the reduced budget used by the test suite: fewer training steps and, where a claim
depends on training, a looser tolerance that the claim itself records.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError
from ..io.files import check_writable, write_atomic
from ..registry import Registry

__all__ = [
    "EXPERIMENTS",
    "Claim",
    "Experiment",
    "ExperimentResult",
    "LabReport",
    "experiment_names",
    "register_experiment",
    "run_lab",
]

log = logging.getLogger(__name__)

_RELATIONS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
}


@dataclass(frozen=True)
class Claim:
    """One checked statement: ``measured RELATION tolerance``.

    Attributes:
        name: a short identifier, unique within its experiment.
        statement: the claim in words, with the quantity measured.
        measured: the number.
        relation: ``<=``, ``<``, ``>=`` or ``>``.
        tolerance: the bound the issue (or, in quick mode, the test suite) sets.
        passed: whether ``measured RELATION tolerance`` holds (NaN never passes).
    """

    name: str
    statement: str
    measured: float
    relation: str
    tolerance: float
    passed: bool

    @classmethod
    def check(cls, name: str, statement: str, measured: float, relation: str, tolerance: float) -> Claim:
        measured = float(measured)
        ok = not math.isnan(measured) and _RELATIONS[relation](measured, tolerance)
        return cls(name, statement, measured, relation, float(tolerance), bool(ok))


@dataclass
class ExperimentResult:
    """What an experiment measured and whether each claim held.

    Attributes:
        name, title: registry name and a one-line description.
        claims: the checked claims.
        numbers: every other measured number (JSON-able).
        figures: file names written into the output folder.
        settings: the budget and seeds used (so the numbers can be reproduced).
        seconds: wall time of the experiment.
    """

    name: str
    title: str
    claims: list[Claim] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.claims)

    def claim(self, name: str, statement: str, measured: float, relation: str, tolerance: float) -> Claim:
        """Record and return a claim."""
        c = Claim.check(name, statement, measured, relation, tolerance)
        self.claims.append(c)
        return c

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        return d


Experiment = Callable[..., ExperimentResult]
# name -> (title, function); the experiments package registers them in the order `origan theory all` runs them
EXPERIMENTS: Registry[tuple[str, Experiment]] = Registry("experiment", modules=("origan.theory.experiments",))


def register_experiment(name: str, title: str) -> Callable[[Experiment], Experiment]:
    """Decorator: register ``f(out, *, seed, quick) -> ExperimentResult`` under ``name``."""

    def deco(fn: Experiment) -> Experiment:
        EXPERIMENTS.add(name, (title, fn))
        return fn

    return deco


def experiment_names() -> list[str]:
    """The registered experiments, in the order ``all`` runs them."""
    return EXPERIMENTS.names()


@dataclass
class LabReport:
    """Results of a lab run and where its files are."""

    results: list[ExperimentResult]
    out: Path
    seconds: float

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)


def _environment() -> dict[str, Any]:
    return {"torch": torch.__version__, "python": platform.python_version(), "threads": torch.get_num_threads()}


def _fmt(x: float) -> str:
    return f"{x:.3e}" if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e4) else f"{x:.6g}"


def render_markdown(report: LabReport) -> str:
    """``report.md``: per experiment, a table of claims (measured vs tolerance) and the figures."""
    lines = [
        "# origan theory lab",
        "",
        f"{sum(r.passed for r in report.results)}/{len(report.results)} experiments pass; "
        f"total {report.seconds:.1f} s.",
        "",
    ]
    for r in report.results:
        mode = " (quick budget)" if r.settings.get("quick") else ""
        lines += [
            f"## {r.name}: {r.title}{mode}",
            "",
            f"{'PASS' if r.passed else 'FAIL'} in {r.seconds:.1f} s",
            "",
            "| claim | measured | target | result |",
            "| --- | --- | --- | --- |",
        ]
        for c in r.claims:
            statement = c.statement.replace("|", "\\|")  # a literal bar inside a table cell
            lines.append(
                f"| {statement} | {_fmt(c.measured)} | {c.relation} {_fmt(c.tolerance)} | "
                f"{'pass' if c.passed else '**FAIL**'} |"
            )
        lines.append("")
        lines += [f"![{f}]({f})" for f in r.figures if f.endswith((".png", ".gif"))]
        lines.append("")
    return "\n".join(lines)


def _json_safe(obj: Any) -> Any:
    """Strict JSON: non-finite floats become the strings "inf", "-inf", "nan"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def write_report(report: LabReport) -> None:
    """Write ``report.json`` (every number, each claim's tolerance and pass/fail) and ``report.md``."""
    data = {
        "passed": report.passed,
        "seconds": report.seconds,
        "environment": _environment(),
        "experiments": {r.name: r.as_dict() for r in report.results},
    }
    write_atomic(report.out / "report.json", json.dumps(_json_safe(data), indent=1, allow_nan=False).encode())
    write_atomic(report.out / "report.md", render_markdown(report).encode())


def run_lab(
    names: Sequence[str],
    out: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    on_result: Callable[[ExperimentResult], None] | None = None,
) -> LabReport:
    """Run the named experiments (``"all"`` for every one), writing figures and reports into ``out``.

    Args:
        names: experiment names from :data:`EXPERIMENTS`, or ``["all"]``.
        out: output folder (created).
        seed: one seed for every random draw of every experiment.
        quick: the reduced budget of the test suite (looser tolerances where training is involved).
        on_result: called after each experiment (e.g. to show progress).
    """
    chosen = experiment_names() if list(names) == ["all"] else list(names)
    for name in chosen:
        if name not in EXPERIMENTS:
            raise ConfigError(f"theory: unknown experiment {name!r}; expected one of {', '.join(EXPERIMENTS)} or all")
    folder = Path(out)
    check_writable(folder, "the theory lab's reports", folder=True)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    results = []
    for name in chosen:
        t0 = time.perf_counter()
        result = EXPERIMENTS[name][1](folder, seed=seed, quick=quick)
        result.seconds = time.perf_counter() - t0
        log.info("%s: %s in %.1f s", name, "pass" if result.passed else "FAIL", result.seconds)
        results.append(result)
        report = LabReport(results, folder, time.perf_counter() - start)
        write_report(report)  # after each experiment, so a long run leaves partial results
        if on_result is not None:
            on_result(result)
    return LabReport(results, folder, time.perf_counter() - start)
