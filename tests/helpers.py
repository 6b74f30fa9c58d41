"""What many test files share: tiny toy-run overrides, the CLI's ``--set`` form, a run's rows and weights."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import origan
from origan.io.rundir import TIMING_FIELDS

# A small ring8 (or any toy) run: 512 training points, 16-unit nets, no sample figures; seconds on one core.
TINY_TOY = [
    "train.sample_every=0", "train.log_every=5", "generator.hidden=[16]", "discriminator.hidden=[16]",
    "data.n_train=512", "data.n_val=64", "data.n_test=64", "train.batch_size=32",
]  # fmt: skip


def set_args(overrides: Iterable[str]) -> list[str]:
    """``["a=1", "b=2"]`` -> ``["--set", "a=1", "--set", "b=2"]``, for the CLI."""
    return [arg for override in overrides for arg in ("--set", override)]


def metric_rows(run: Path) -> list[dict]:
    """The rows of ``run/metrics.jsonl`` without the timing fields (the only ones equal runs differ in)."""
    rows = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in rows]


def weights(run: Path) -> dict:
    """G's and D's weights in the newest intact checkpoint of ``run``, as a state dict of copies."""
    return {k: v.clone() for k, v in origan.load_run(run).gan.state_dict().items()}
