"""The run directory: everything a run produces, so any command can pick a run up again.

```
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
import re
import shutil
from pathlib import Path
from typing import Any

from ..errors import RunDirError

__all__ = ["RunDir", "TIMING_FIELDS", "next_run_path"]

TIMING_FIELDS = ("elapsed_s", "img_per_s")  # the only fields of metrics.jsonl that differ between equal runs


def next_run_path(root: Path, name: str) -> Path:
    """``root/NNNNN-name`` with the next free number."""
    root = Path(root)
    numbers = [int(m.group(1)) for p in root.glob("*") if (m := re.match(r"(\d{5})-", p.name))] if root.exists() else []
    return root / f"{max(numbers, default=0) + 1:05d}-{name}"


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

    @classmethod
    def create(cls, path: Path, overwrite: bool = False) -> RunDir:
        """Make a new run directory; an existing non-empty one is refused unless ``overwrite``.

        ``overwrite`` only ever deletes a folder that holds an origan run (a ``config.json``).
        """
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunDirError(f"{path}: exists and is not a directory")
        if path.exists() and any(path.iterdir()):
            if not overwrite:
                raise RunDirError(f"{path}: run directory exists; pass --resume to continue it or --overwrite to replace it")
            if not (path / "config.json").exists():
                raise RunDirError(f"{path}: --overwrite refused: the folder is not empty and holds no origan run")
            shutil.rmtree(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise RunDirError(f"{path}: cannot create the run directory ({e.strerror})") from None
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run directory (one with a ``config.json``)."""
        run = cls(Path(path))
        if not run.config_path.exists():
            raise RunDirError(f"{path}: not an origan run directory (no config.json)")
        return run

    def write_json(self, name: str, data: Any) -> Path:
        from .files import write_atomic

        target = self.path / name
        write_atomic(target, (json.dumps(data, indent=2) + "\n").encode())
        return target

    def read_config_dict(self) -> dict[str, Any]:
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunDirError(f"{self.config_path}: not valid JSON") from None

    def append_metrics(self, row: dict[str, Any]) -> None:
        """Append one row to metrics.jsonl and flush it to the OS."""
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def read_metrics(self) -> list[dict[str, Any]]:
        """Every complete row of metrics.jsonl (a torn last line is skipped)."""
        if not self.metrics_path.exists():
            return []
        rows = []
        for line in self.metrics_path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return rows

    def truncate_metrics(self, step: int) -> None:
        """Keep only the rows up to ``step``: a resumed run rewrites what came after its checkpoint."""
        rows = [r for r in self.read_metrics() if r.get("step", 0) <= step]
        from .files import write_atomic

        write_atomic(self.metrics_path, "".join(json.dumps(r) + "\n" for r in rows).encode())

    def sample_path(self, step: int, suffix: str = ".png") -> Path:
        self.samples.mkdir(exist_ok=True)
        return self.samples / f"step-{step:09d}{suffix}"

