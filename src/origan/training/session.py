"""The write side of a run: create its folder, train it, resume it (the public API under ``origan.train``,
``origan.resume`` and :class:`origan.TableGAN`).

```python
from origan.training.session import create_run, fit_run, train_run
fitted = train_run(cfg, "runs/ring8")                     # checks, builds, creates, trains: a Fitted
# or step by step, as TableGAN does (it writes its table into the run before the data is read):
run = create_run(Path("runs/t"), cfg)
fitted = fit_run(cfg, run, build_state(cfg, torch.device("cpu")))
```

Every check (the folder, the device, the data) passes before the first write; then ``config.json``, and
checkpoints, sample figures, metrics and plots as training goes. :mod:`origan.run` is the read side: it turns
a :class:`Fitted` or a run folder into a :class:`~origan.run.Run`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import torch
from torch import Tensor

from ..config import Config, _apply_layer, _nest, from_dict, to_dict
from ..data import DataInfo, Dataset
from ..errors import CheckpointError, ConfigError, UserError
from ..io import tensorboard
from ..io.checkpoint import (
    Checkpoint,
    ever_checkpointed,
    link_last,
    newest_good_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from ..io.rundir import BUDGET_KEYS, RunDir, next_run_path
from ..plotting import plot_curves, save_sample_figure
from . import distributed
from .build import BuiltState, build_state, check_registered, resolve_device
from .distributed import DistContext, DistributedTrainer
from .select import Selector, best_sampler
from .speed import run_autocast
from .state import TrainState
from .trainer import Callback, Trainer

if TYPE_CHECKING:
    from ..gan import GAN

__all__ = [
    "Fitted",
    "class_blocks",
    "create_run",
    "fit_run",
    "resolve_precision",
    "resume_run",
    "train_run",
    "write_checkpoint",
]

log = logging.getLogger(__name__)


class Fitted(NamedTuple):
    """What a finished fit leaves (on every rank under ``torchrun``): :meth:`origan.run.Run.of` makes it a Run."""

    path: Path | None  # the run directory (None only for a run read from a lone checkpoint file)
    config: Config
    gan: GAN
    step: int
    data_info: DataInfo
    checkpoint: Path  # the manifest of the newest checkpoint (``checkpoints/last.json``)


def class_blocks(n: int, n_classes: int) -> Tensor:
    """``(n,)`` classes in equal blocks, in class order (``n = 100``, 10 classes: one grid row per class); the
    classes of a conditional run's fixed sample figure."""
    return torch.arange(n) * n_classes // n


# -------------------------------------------------------------------------------------------------------
# Training


def write_checkpoint(run: RunDir, cfg: Config, data: Dataset | DataInfo, state: TrainState, reason: str) -> Path:
    """Write ``state`` as the checkpoint ``step-N`` of ``run`` (atomically), point ``last`` at it and prune the
    older ones (``train.keep_checkpoints``); returns its manifest. ``TableGAN.save`` writes a model trained in
    memory with it."""
    info = data if isinstance(data, DataInfo) else DataInfo.of(data)
    extra = {
        "step": state.step,
        "epoch": state.sampler.epoch,
        "reason": reason,
        "config": to_dict(cfg),
        "data": info.to_json(),
    }
    name = f"step-{state.step:09d}"
    try:
        save_checkpoint(run.checkpoints, name, state.state_dict(), extra)
        link_last(run.checkpoints, name)
    except OSError as e:
        raise CheckpointError(
            f"{run.checkpoints}: cannot write checkpoint {name} ({e.strerror or e}); the previous checkpoint is intact"
        ) from None
    prune_checkpoints(run.checkpoints, cfg.train.keep_checkpoints, name)
    log.info("checkpoint %s (%s)", name, reason)
    return run.checkpoints / f"{name}.json"


def _checkpoint_writer(run: RunDir, cfg: Config, data: Dataset) -> Any:
    info = DataInfo.of(data)

    def save(trainer: Trainer, reason: str) -> None:
        write_checkpoint(run, cfg, info, trainer.state, reason)

    return save


def _sample_writer(run: RunDir, data: Dataset, fixed_z: Tensor) -> Any:
    fixed_y = class_blocks(len(fixed_z), len(data.classes)) if data.classes else None  # a conditional G's classes

    def draw(trainer: Trainer) -> None:
        x = trainer.state.gan.sample(len(fixed_z), z=fixed_z, y=fixed_y)
        save_sample_figure(
            x.cpu(), data.kind, data.target, run.sample_path(trainer.state.step), title=f"step {trainer.state.step}"
        )

    return draw


def fit_run(
    cfg: Config, run: RunDir, built: BuiltState, callbacks: Sequence[Callback] = (), ctx: DistContext | None = None
) -> Fitted:
    """Train ``built`` (a fresh or resumed state of ``cfg``) in ``run`` to the end of its budget: metrics rows,
    sample figures, checkpoints and TensorBoard as the config asks, then the loss curves. Under ``torchrun``
    (``ctx``) every rank trains and only rank 0 writes."""
    data, state, fixed_z = built
    hooks: dict[str, Any] = {
        "write_row": run.append_metrics,
        "save_checkpoint": _checkpoint_writer(run, cfg, data),
        "on_samples": _sample_writer(run, data, fixed_z),
        "callbacks": callbacks,
        "selector": Selector(cfg, data, state) if cfg.train.select != "none" else None,
    }
    main = ctx is None or ctx.is_main
    tb = tensorboard.open_logger(cfg.train.tensorboard, run.path, to_dict(cfg), state.step) if main else None
    if tb is not None:  # only rank 0 writes
        hooks = tb.wrap(hooks, run.sample_path)
    if ctx is None:
        trainer = Trainer(cfg, state, **hooks)
    else:
        trainer = DistributedTrainer(ctx, cfg, state, **hooks)
    try:
        trainer.fit()
    finally:
        if tb is not None:
            tb.close()
    if ctx is None or ctx.is_main:
        plot_curves(run.read_metrics(), run.plots)
    gan = best_sampler(state.gan, state.selection)  # train.select: samples come from the kept weights
    return Fitted(run.path, cfg, gan, state.step, DataInfo.of(data), run.checkpoints / "last.json")


def resolve_precision(cfg: Config, device: torch.device) -> Config:
    """``cfg`` with ``train.autocast = "auto"`` decided for ``device`` and its nets
    (:func:`~origan.training.speed.resolve_autocast`: on a CPU with fast bf16 matmuls ``bf16`` for convolutional
    nets, ``bf16-matmul`` for others, else ``none``), as a new run records it."""
    chosen = run_autocast(cfg, device)
    if chosen != cfg.train.autocast:
        log.info("train.autocast = %s: %s on this %s", cfg.train.autocast, chosen, device.type)
        cfg = cfg.replace(**{"train.autocast": chosen})
    return cfg


def create_run(path: Path, cfg: Config, *, overwrite: bool = False) -> RunDir:
    """The run directory at ``path`` (replacing a run there with ``overwrite``), with ``config.json`` written:
    the first write of a run, once every check has passed."""
    run = RunDir.create(path, overwrite=overwrite)
    run.write_json("config.json", to_dict(cfg))
    return run


def train_run(
    config: Config, out: str | Path | None = None, *, overwrite: bool = False, callbacks: Sequence[Callback] = ()
) -> Fitted:
    """Train a new run of ``config`` into ``out`` (default ``runs/NNNNN-<data>``); return what it left.

    Every check (the folder, the device, the data) passes before anything is written; then ``config.json``,
    and checkpoints, samples, metrics and plots as training goes. Under ``torchrun`` every process trains
    its shard of each batch (see :mod:`origan.training.distributed`) and only rank 0 writes.
    """
    cfg = check_registered(config.validate())
    tensorboard.enabled(cfg.train.tensorboard)  # train.tensorboard=on without the package: refused before writing
    ctx = distributed.setup()
    try:
        path = (
            Path(out)
            if out is not None
            else distributed.on_main(ctx, lambda: next_run_path(Path("runs"), cfg.data.name))
        )
        distributed.on_main(ctx, lambda: RunDir.check_new(path, overwrite))
        device = resolve_device(cfg.train.device)
        cfg = distributed.on_main(ctx, lambda: resolve_precision(cfg, device))  # "auto" decided once, recorded
        built = build_state(cfg, ctx.device(device) if ctx else device, ctx.rank if ctx else 0)
        if ctx is not None:
            distributed.parallelize(ctx, cfg, built.state)
        run = distributed.on_main(ctx, lambda: create_run(path, cfg, overwrite=overwrite))
        return fit_run(cfg, run, built, callbacks, ctx)
    finally:
        distributed.teardown(ctx)


# -------------------------------------------------------------------------------------------------------
# Resuming


def _with_budget(cfg: Config, overrides: dict[str, Any] | None) -> Config:
    """``cfg`` with the budget overrides applied as a fresh config applies them (one budget clears the other)."""
    budget = {f"train.{k}" for k in BUDGET_KEYS}
    for key in overrides or {}:
        if key not in budget:
            raise ConfigError(f"{key}: a resumed run keeps its config; only train.steps and train.epochs may change")
    data = to_dict(cfg)
    for key, value in (overrides or {}).items():
        data = _apply_layer(data, _nest({key: value}))
    return from_dict(data)


def _check_same_config(ckpt: Checkpoint, cfg: Config) -> None:
    try:  # normalised, so fields added to the config since the checkpoint take their defaults
        saved = to_dict(from_dict(ckpt.manifest["config"]))
    except ConfigError as e:
        raise CheckpointError(f"{ckpt.path}: its config no longer validates ({e})") from None
    mine = to_dict(cfg)
    for d in (saved, mine):
        d["train"] = {k: v for k, v in dict(d.get("train", {})).items() if k not in BUDGET_KEYS}
    if saved != mine:
        keys = sorted(k for k in set(saved) | set(mine) if saved.get(k) != mine.get(k))
        raise CheckpointError(f"{ckpt.path}: checkpoint was written by another config (differs in: {', '.join(keys)})")


def _open_for_resume(
    path: str | Path, overrides: dict[str, Any] | None
) -> tuple[RunDir, Config, tuple[Any, str] | None]:
    """The run, its config with the budget overrides, and its newest intact checkpoint's state and name
    (``None`` when the run stopped before its first checkpoint). Reads only: nothing is written here."""
    run = RunDir.open(Path(path))
    cfg = check_registered(_with_budget(run.read_config(), overrides))
    run.check_writable(tensorboard.enabled(cfg.train.tensorboard))  # before config.json is rewritten
    if not ever_checkpointed(run.checkpoints):
        return run, cfg, None
    ckpt = newest_good_checkpoint(run.checkpoints, check=lambda c: _check_same_config(c, cfg))
    return run, cfg, (ckpt.state, str(ckpt.path))


def _load_state(state: TrainState, tree: Any, name: str) -> None:
    try:
        state.load_state_dict(tree)
    except UserError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, RuntimeError, OverflowError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{name}: its state does not fit the run ({first[:200]})") from None


def _commit_resume(run: RunDir, cfg: Config, step: int) -> None:
    """The resume's writes, once every check has passed: the new budget, and metrics cut back to ``step``."""
    if to_dict(cfg) != run.read_config_dict():
        run.write_json("config.json", to_dict(cfg))
    run.truncate_metrics(step)


def resume_run(
    path: str | Path, *, overrides: dict[str, Any] | None = None, callbacks: Sequence[Callback] = ()
) -> Fitted:
    """Continue the run at ``path`` from its newest intact checkpoint, exactly where it stopped.

    A run stopped before its first checkpoint starts again from step 0 with its stored config (and says so).

    Args:
        overrides: ``{"train.steps": N}`` or ``{"train.epochs": E}`` to change the budget (setting one clears
            the other, as in a fresh config); nothing else may change.

    Under ``torchrun`` rank 0 reads the run and sends the checkpoint to the other ranks.
    """
    ctx = distributed.setup()
    try:
        run, cfg, ckpt = distributed.on_main(ctx, lambda: _open_for_resume(path, overrides))
        device = resolve_device(cfg.train.device)
        built = build_state(cfg, ctx.device(device) if ctx else device, ctx.rank if ctx else 0)
        state = built.state
        if ckpt is not None:
            tree, name = ckpt
            _load_state(state, distributed.rank_state(ctx, tree) if ctx else tree, name)
        if ctx is not None:
            distributed.parallelize(ctx, cfg, state)
        distributed.on_main(ctx, lambda: _commit_resume(run, cfg, state.step))
        if ckpt is None:
            log.warning("%s has no checkpoint yet: starting from step 0 with its stored config", run.path)
        else:
            log.info("resuming %s from %s at step %d", run.path, Path(ckpt[1]).name, state.step)
        return fit_run(cfg, run, built, callbacks, ctx)
    finally:
        distributed.teardown(ctx)
