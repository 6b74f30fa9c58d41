"""The run directory: everything a run produces, so any command can pick a run up again.

```
RUN/.origan-run      marker: this folder is an origan run (written first, removed last)
RUN/config.json      resolved config, written before training
RUN/metrics.jsonl    one JSON row per log interval (and per event)
RUN/checkpoints/     step-NNNNNNNNN.{safetensors,json} and last.{safetensors,json}
RUN/samples/         figures from the fixed noise batch
RUN/plots/           loss and D-output curves
RUN/eval.json        evaluation results
```
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import ConfigError, RunDirError
from .checkpoint import read_json

__all__ = ["BUDGET_KEYS", "MARKER", "METRIC_FIELDS", "TIMING_FIELDS", "RunDir", "inspect_run", "next_run_path"]

log = logging.getLogger(__name__)

TIMING_FIELDS = ("elapsed_s", "img_per_s")  # the only fields of metrics.jsonl that differ between equal runs
METRIC_FIELDS = ("d_loss", "g_loss", "value", "d_real", "d_fake")  # numbers every log row carries
BUDGET_KEYS = ("steps", "epochs")  # the only keys of a run's config that a resume may change
MARKER = ".origan-run"  # its JSON says the folder is an origan run, whatever else it holds
MARKER_CONTENT = {"format": "origan-run", "version": 1}


def next_run_path(root: Path, name: str) -> Path:
    """``root/NNNNN-name`` with the next free number."""
    root = Path(root)
    numbers = [int(m.group(1)) for p in root.glob("*") if (m := re.match(r"(\d{5})-", p.name))] if root.exists() else []
    return root / f"{max(numbers, default=0) + 1:05d}-{name}"


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _row_problem(row: Any) -> str | None:
    """Why a parsed line of metrics.jsonl cannot be a row, or None."""
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    if type(row.get("step")) is not int:
        return f"'step' must be an integer, got {row.get('step')!r:.40}"
    if "d_loss" in row:
        for key in (*METRIC_FIELDS, "epoch"):
            if (key in row and not _is_number(row[key])) or (key in METRIC_FIELDS and key not in row):
                return f"{key!r} must be a number, got {row.get(key)!r:.40}"
    return None


class RunDir:
    """Paths and files of one run directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def samples(self) -> Path:
        return self.path / "samples"

    @property
    def plots(self) -> Path:
        return self.path / "plots"

    def is_origan_run(self) -> bool:
        """Whether the folder is origan's: its marker says so, or its ``config.json`` is an origan config."""
        try:
            if read_json(self.path / MARKER, "marker") == MARKER_CONTENT:
                return True
        except (OSError, ValueError):
            pass
        try:
            self.read_config()
        except (OSError, RunDirError):
            return False
        return True

    @classmethod
    def check_new(cls, path: Path, overwrite: bool = False) -> None:
        """Raise :class:`RunDirError` unless :meth:`create` may make ``path`` a new run directory."""
        from .files import check_writable

        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path}: exists and is not a directory")
        check_writable(path, "the run directory", folder=True)  # its nearest existing parent a writable folder
        if not path.exists() or not any(p.name != MARKER for p in path.iterdir()):
            return
        if not overwrite:
            raise RunDirError(
                f"{path}: run directory exists; pass --resume to continue it or --overwrite to replace it"
            )
        if not cls(path).is_origan_run():
            raise RunDirError(
                f"{path}: --overwrite refused: the folder is not empty and holds no origan run "
                f"(no {MARKER} marker, and config.json is missing or not an origan config)"
            )

    @classmethod
    def create(cls, path: Path, overwrite: bool = False) -> RunDir:
        """Make a new run directory; an existing non-empty one is refused unless ``overwrite``.

        ``overwrite`` only ever deletes a folder that holds an origan run (see :meth:`is_origan_run`); the
        marker is written first and stays while the rest is deleted, so an interrupted overwrite can be redone.
        """
        path = Path(path)
        cls.check_new(path, overwrite)
        run = cls(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            run.write_json(MARKER, MARKER_CONTENT)
            for child in path.iterdir():
                if child.name != MARKER:
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        except OSError as e:
            raise RunDirError(f"{path}: cannot create the run directory ({e.strerror or e})") from None
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run directory (one with a ``config.json``)."""
        run = cls(Path(path))
        if not run.config_path.is_file():
            raise RunDirError(f"{path}: not an origan run directory (no config.json)")
        return run

    def check_writable(self, tensorboard: bool = False) -> None:
        """Refuse a run a command is about to continue whose files cannot be written (a RunDirError naming the
        place), before any write: ``config.json``, ``metrics.jsonl``, ``checkpoints/``, ``samples/``, ``plots/``
        and, when the run logs there, ``tensorboard/``."""
        from .files import check_writable
        from .tensorboard import FOLDER

        check_writable(self.config_path, "the run's config")
        check_writable(self.metrics_path, "the run's metrics")
        for folder, what in ((self.checkpoints, "checkpoints"), (self.samples, "sample figures"),
                             (self.plots, "plots")):  # fmt: skip
            check_writable(folder, what, folder=True)
        if tensorboard:
            check_writable(self.path / FOLDER, "TensorBoard event files", folder=True)

    def write_json(self, name: str, data: Any) -> Path:
        from .files import write_atomic

        target = self.path / name
        write_atomic(target, (json.dumps(data, indent=2) + "\n").encode())
        return target

    def read_config_dict(self) -> dict[str, Any]:
        """``config.json`` as plain data; damage of any kind is a :class:`RunDirError` naming the file."""
        try:
            data = read_json(self.config_path, "config")
        except FileNotFoundError:
            raise RunDirError(f"{self.path}: not an origan run directory (no config.json)") from None
        except OSError as e:
            raise RunDirError(f"{self.config_path}: cannot read ({e.strerror or e})") from None
        except ValueError as e:
            raise RunDirError(str(e)) from None
        if not isinstance(data, dict):
            raise RunDirError(f"{self.config_path}: expected a JSON object, got {type(data).__name__}")
        return data

    def read_config(self) -> Any:
        """``config.json`` as a validated :class:`~origan.config.Config`."""
        from ..config import from_dict

        try:
            return from_dict(self.read_config_dict())
        except ConfigError as e:
            raise RunDirError(f"{self.config_path}: {e}") from None
        except RecursionError:
            raise RunDirError(f"{self.config_path}: nested too deeply") from None

    def append_metrics(self, row: dict[str, Any]) -> None:
        """Append one row to metrics.jsonl and flush it to the OS."""
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self, problems: list[str] | None = None) -> list[dict[str, Any]]:
        """Every intact row of metrics.jsonl; each damaged line is skipped and, when asked, described in
        ``problems`` (a torn last line, what a kill during a write leaves, is skipped without a word)."""
        try:
            blob = self.metrics_path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as e:
            raise RunDirError(f"{self.metrics_path}: cannot read ({e.strerror or e})") from None
        lines = blob.split(b"\n")
        torn_tail = lines[-1] != b""
        rows = []
        for i, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
                problem = _row_problem(row)
            except UnicodeDecodeError:
                problem = "not UTF-8 text"
            except json.JSONDecodeError:
                problem = "not valid JSON"
            except RecursionError:
                problem = "nested too deeply"
            if problem is None:
                rows.append(row)
            elif problems is not None and not (torn_tail and i == len(lines)):
                problems.append(f"{self.metrics_path}: line {i}: {problem}")
        return rows

    def truncate_metrics(self, step: int) -> None:
        """Keep only the rows up to ``step``: a resumed run rewrites what came after its checkpoint."""
        problems: list[str] = []
        rows = [r for r in self.read_metrics(problems) if r["step"] <= step]
        for p in problems:
            log.warning("dropping a damaged row: %s", p)
        from .files import write_atomic

        write_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows).encode())

    def sample_path(self, step: int, suffix: str = ".png") -> Path:
        self.samples.mkdir(exist_ok=True)
        return self.samples / f"step-{step:09d}{suffix}"


def inspect_run(path: str | Path) -> dict[str, Any]:
    """A health report of a run directory: config, steps done, every checkpoint's status, last metrics.

    ``status`` is ``healthy``; ``no checkpoint yet`` (a run stopped before its first checkpoint: a resume
    starts it from step 0 with its stored config); or ``unhealthy``, with one line per damage in ``problems``
    (the newest checkpoint, or ``last``, torn or edited; ``config.json`` unreadable or no origan config;
    damaged rows of ``metrics.jsonl``). ``healthy`` is ``status == "healthy"``.
    """
    from .checkpoint import ever_checkpointed, scan_checkpoints

    run = RunDir.open(Path(path))
    problems: list[str] = []
    cfg: dict[str, Any] = {}
    try:
        cfg = run.read_config_dict()
        run.read_config()
    except RunDirError as e:
        problems.append(str(e))
    checkpoints = scan_checkpoints(run.checkpoints)
    step_files = [c for c in checkpoints if c["name"] != "last"]
    newest = max(step_files, key=lambda c: c["step"], default=None)  # by name: a torn one has no readable step
    started = ever_checkpointed(run.checkpoints)  # else a torn tensor file is the first write, cut short
    for c in checkpoints:
        if started and not c["ok"] and (c["name"] == "last" or c is newest):
            problems.append(f"newest checkpoint {c['name']} is torn: {c['problem']}")
    rows = run.read_metrics(problems)
    rows = [r for r in rows if "d_loss" in r]
    if problems:
        status = "unhealthy"
    elif not started:
        status = "no checkpoint yet"
    else:
        status = "healthy"

    def section(name: str) -> dict[str, Any]:
        return cfg[name] if isinstance(cfg.get(name), dict) else {}

    return {
        "path": str(run.path),
        "data": section("data").get("name"),
        "seed": cfg.get("seed"),
        "budget": {k: section("train").get(k) for k in BUDGET_KEYS},
        "steps_done": max((c["step"] for c in checkpoints if c["ok"] and c["step"] is not None), default=0),
        "checkpoints": checkpoints,
        "last_metrics": rows[-1] if rows else None,
        "status": status,
        "healthy": status == "healthy",
        "problems": problems,
    }
