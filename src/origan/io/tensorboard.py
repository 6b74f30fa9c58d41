"""TensorBoard logging of a run, beside ``metrics.jsonl`` (optional extra: ``pip install 'origan[tensorboard]'``).

``train.tensorboard`` chooses: ``auto`` (the default) logs when ``torch.utils.tensorboard`` imports, ``on``
requires it (a ConfigError before anything is written when it is missing), ``off`` never logs. The event files
go to ``RUN/tensorboard/``; ``tensorboard --logdir runs`` shows every run. What is logged:

- every scalar of a ``metrics.jsonl`` row at its step (:data:`TAGS`: ``losses/D``, ``value/V``, ``D/real`` ...);
- the fixed-noise sample figure (image grid, 1-D histogram or 2-D scatter) at each sample interval, as
  ``samples/fixed_noise``;
- divergence-guard events: ``guard/rollbacks`` and ``guard/lr_scale`` at the failed step, and the event as text
  under ``events/rollback``;
- the resolved config as text (``config``) when training starts or resumes;
- ``origan eval`` results (every number of ``eval.json``) under ``eval/<metric>/...`` at the checkpoint's step.

A run resumed at step s opens the same folder with ``purge_step = s + 1``, so TensorBoard drops what the stopped
run logged after its checkpoint (as ``metrics.jsonl`` is cut back to step s) and no step appears twice. Under
``torchrun`` only rank 0 writes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["FOLDER", "TAGS", "TensorBoardLogger", "available", "log_eval", "open_logger"]

log = logging.getLogger(__name__)

FOLDER = "tensorboard"
INSTALL = "pip install 'origan[tensorboard]'"

# metrics.jsonl keys -> TensorBoard tags
TAGS = {
    "d_loss": "losses/D",
    "g_loss": "losses/G",
    "value": "value/V",
    "d_real": "D/real",
    "d_fake": "D/fake",
    "lr_d": "lr/D",
    "lr_g": "lr/G",
    "momentum": "momentum/D",
    "epoch": "progress/epoch",
    "img_per_s": "speed/img_s",
    "elapsed_s": "speed/interval_s",
}


def available() -> bool:
    """Whether ``torch.utils.tensorboard`` imports (the tensorboard package is installed)."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return False
    return True


def enabled(setting: str) -> bool:
    """Whether ``train.tensorboard = setting`` logs here; ``on`` without the package is a ConfigError."""
    if setting == "off":
        return False
    if available():
        return True
    if setting == "on":
        raise ConfigError(f"train.tensorboard=on: the tensorboard package is not installed ({INSTALL})")
    log.info("TensorBoard logging skipped: the tensorboard package is not installed (%s)", INSTALL)
    return False


class TensorBoardLogger:
    """A training callback (:class:`~origan.training.Callback`) that mirrors a run into TensorBoard event files.

    Besides ``on_start`` / ``on_log`` / ``on_end`` it takes the rows the trainer stores (:meth:`write_row`: the
    divergence guard's events) and the sample figures (:meth:`add_figure`); :meth:`wrap` chains both into the
    trainer's hooks.
    """

    def __init__(self, run_path: Path, config: dict[str, Any], purge_step: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.config = config
        self.writer = SummaryWriter(log_dir=str(Path(run_path) / FOLDER), purge_step=purge_step or None)

    def on_start(self, trainer: Any) -> None:
        text = "```json\n" + json.dumps(self.config, indent=2) + "\n```"
        self.writer.add_text("config", text, trainer.state.step)
        self.writer.flush()

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        self.add_row(row)

    def on_end(self, trainer: Any) -> None:
        self.close()

    def add_row(self, row: dict[str, Any]) -> None:
        """The scalars of one ``metrics.jsonl`` row at its step."""
        for key, tag in TAGS.items():
            value = row.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(tag, value, row["step"])

    def write_row(self, row: dict[str, Any]) -> None:
        """A row the trainer stores: a divergence-guard event is logged here (metric rows come by ``on_log``)."""
        if row.get("event") != "rollback":
            return
        step = row["step"]
        self.writer.add_scalar("guard/rollbacks", row["rollbacks"], step)
        self.writer.add_scalar("guard/lr_scale", row["lr_scale"], step)
        self.writer.add_text(
            "events/rollback",
            f"step {step}: {row['reason']}; rolled back to step {row['to_step']}, learning rates x{row['lr_scale']:g}",
            step,
        )
        self.writer.flush()

    def add_figure(self, png: Path, step: int) -> None:
        """The sample figure saved at ``png`` as the image ``samples/fixed_noise`` at ``step``."""
        import numpy as np
        from PIL import Image

        with Image.open(png) as im:
            pixels = np.asarray(im.convert("RGB"))  # (H, W, 3) uint8
        self.writer.add_image("samples/fixed_noise", pixels, step, dataformats="HWC")
        self.writer.flush()

    def wrap(self, hooks: dict[str, Any], sample_path: Any) -> dict[str, Any]:
        """The trainer's ``hooks`` with this logger chained in: rows, sample figures (``sample_path(step)`` is
        where the figure of ``step`` was saved) and the callback."""
        write_row, on_samples = hooks["write_row"], hooks["on_samples"]

        def write(row: dict[str, Any]) -> None:
            write_row(row)
            self.write_row(row)

        def samples(trainer: Any) -> None:
            on_samples(trainer)
            png = Path(sample_path(trainer.state.step))
            if png.is_file():
                self.add_figure(png, trainer.state.step)

        return hooks | {"write_row": write, "on_samples": samples, "callbacks": [*hooks["callbacks"], self]}

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def open_logger(setting: str, run_path: Path, config: dict[str, Any], step: int) -> TensorBoardLogger | None:
    """The logger of a run starting (``step`` 0) or resuming at ``step``; None when ``setting`` says not to log."""
    if not enabled(setting):
        return None
    return TensorBoardLogger(run_path, config, purge_step=step + 1 if step > 0 else None)


def _scalars(prefix: str, tree: Any) -> list[tuple[str, float]]:
    """Every finite number in a JSON tree as ``(tag, value)``; keys joined by ``/``."""
    import math

    if isinstance(tree, dict):
        return [pair for k, v in tree.items() for pair in _scalars(f"{prefix}/{k}", v)]
    if isinstance(tree, (int, float)) and not isinstance(tree, bool) and math.isfinite(tree):
        return [(prefix, float(tree))]
    return []


def log_eval(record: dict[str, Any], setting: str) -> int:
    """Append an ``origan eval`` result to its run's event files, at the checkpoint's step; returns the number of
    scalars written (0 when the run has no directory or ``setting`` says not to log)."""
    if record.get("run") is None or not enabled(setting):
        return 0
    from torch.utils.tensorboard import SummaryWriter

    pairs = _scalars("eval", record["metrics"])
    writer = SummaryWriter(log_dir=str(Path(record["run"]) / FOLDER))
    try:
        for tag, value in pairs:
            writer.add_scalar(tag, value, record["step"])
        writer.add_text("eval/record", "```json\n" + json.dumps(record, indent=2) + "\n```", record["step"])
    finally:
        writer.close()
    return len(pairs)
