"""`origan theory`: the theory lab's experiments, a report and figures."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from ._common import command, number

__all__ = ["add_theory", "cmd_theory"]


def cmd_theory(args: argparse.Namespace) -> int:
    from ..theory import run_lab

    def show(result: Any) -> None:
        failed = [c for c in result.claims if not c.passed]
        print(
            f"{result.name:<12} {'pass' if result.passed else 'FAIL'}  "
            f"{len(result.claims) - len(failed)}/{len(result.claims)} "
            f"claims  {result.seconds:.1f} s",
            flush=True,
        )
        for c in failed:
            print(f"  failed: {c.statement}: {c.measured:.4g} (target {c.relation} {c.tolerance:.4g})", flush=True)

    report = run_lab([args.experiment], Path(args.out), seed=args.seed, quick=args.quick, on_result=show)
    print(f"report: {report.out / 'report.md'} ({report.seconds:.1f} s)")
    return 0 if report.passed else 1


def add_theory(sub: Any) -> None:
    """Add ``theory`` (its help lists the registered experiments)."""
    from ..theory.lab import EXPERIMENTS, experiment_names

    names = experiment_names()  # registers them
    p = command(
        sub,
        "theory",
        "check the paper's Section 4 with exact numbers (the theory lab)",
        "origan theory identity --out lab/identity\n  origan theory all --out lab",
        "Run experiments that check the paper's theory with exact densities (flows and toy targets) and\n"
        "write report.json (every number, each claim's tolerance and pass/fail), report.md and figures.\n"
        "Exit code 0 when every claim passes, 1 when one fails.\n\nexperiments:\n"
        + "\n".join(f"  {name:<12} {title}" for name, (title, _) in EXPERIMENTS.items()),
    )
    p.add_argument("experiment", metavar="NAME", choices=[*names, "all"], help=f"one of {', '.join(names)}, or all")
    p.add_argument("--out", required=True, help="output folder for the reports and figures")
    number(p, "--seed", bound="seed", default=0, help="seed of every random draw")
    p.add_argument(
        "--quick",
        action="store_true",
        help="the test suite's reduced budget (looser tolerances where training is involved)",
    )
    p.set_defaults(func=cmd_theory)
