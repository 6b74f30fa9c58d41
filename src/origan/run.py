"""The library's front door: train a run, resume it, load it, sample from it.

```python
import origan
cfg = origan.load_config("ring8", overrides=["train.steps=2000"])
run = origan.train(cfg, out="runs/ring8")
x = run.sample(1000, generator=torch.Generator().manual_seed(0))   # (1000, 2)
run = origan.load_run("runs/ring8")
```

A conditional run (``train.conditional``) samples by class: ``run.sample(64, labels=3)`` (an index or a class
name, or one label per sample), ``run.sample_per_class(8)`` -> ``(x, y)``; without labels the classes are drawn
from the training split's class frequencies (``run.sample_with_labels`` returns them).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .config import Config, _apply_layer, _nest, from_dict, to_dict
from .data import Dataset
from .errors import CheckpointError, ConfigError, RunDirError, UserError
from .gan import GAN
from .io import tensorboard
from .io.checkpoint import (
    Checkpoint,
    ever_checkpointed,
    link_last,
    load_checkpoint,
    newest_good_checkpoint,
    prune_checkpoints,
    save_checkpoint,
)
from .io.rundir import BUDGET_KEYS, RunDir, inspect_run, next_run_path
from .labels import ClassPlan, Labels, class_blocks
from .limits import check_int, check_request, sample_bytes
from .names import check_registered
from .plotting import plot_curves, save_sample_figure
from .training import Callback, Trainer, TrainState, distributed
from .training.build import build_gan, build_state, data_info, resolve_device
from .training.distributed import DistributedTrainer

__all__ = ["Run", "inspect_run", "load_run", "resume", "train"]

log = logging.getLogger(__name__)

SAMPLE_CHUNK = 4096  # samples drawn and written at a time: memory follows the chunk, not the request


class Run:
    """A run directory and the GAN in its newest good checkpoint.

    Attributes:
        path: the run directory.
        config: the resolved :class:`Config`.
        gan: the trained :class:`GAN` (on the CPU unless moved).
        step: the G steps done when the checkpoint was written.
        data_info: name, sample shape, kind and boundedness of the training data.
    """

    def __init__(
        self,
        path: Path | None,
        config: Config,
        gan: GAN,
        step: int,
        data_info: dict[str, Any],
        checkpoint: Path | None = None,
    ) -> None:
        self.path, self.config, self.gan, self.step, self.data_info = path, config, gan, step, data_info
        self.checkpoint = checkpoint

    @property
    def conditional(self) -> bool:
        """Whether G is class-conditional (``train.conditional``)."""
        return self.config.train.conditional

    @property
    def classes(self) -> list[str]:
        """The training data's class names, in class-index order (empty for unlabelled data)."""
        return list(self.data_info.get("classes", []))

    def sample(
        self, n: int, generator: torch.Generator | None = None, seed: int | None = None, labels: Labels = None
    ) -> Tensor:
        """``(n, *shape)`` samples of G; ``seed`` is a shortcut for a fresh seeded CPU generator; ``labels``:
        the classes of a conditional run's samples (see :meth:`sample_labels`)."""
        return self.sample_with_labels(n, generator, seed, labels)[0]

    def sample_with_labels(
        self, n: int, generator: torch.Generator | None = None, seed: int | None = None, labels: Labels = None
    ) -> tuple[Tensor, Tensor | None]:
        """``(n, *shape)`` samples and ``(n,)`` their classes (None for an unconditional run); a conditional
        run draws the classes first, then the noise, from ``generator``."""
        if seed is not None:
            generator = torch.Generator().manual_seed(check_int(seed, "seed", "seed"))
        y = self.sample_labels(n, labels, generator)
        return self.gan.sample(n, generator=generator, y=y).cpu(), y

    def sample_per_class(
        self, k: int, generator: torch.Generator | None = None, seed: int | None = None
    ) -> tuple[Tensor, Tensor]:
        """``(k * K, *shape)`` samples, ``k`` of each of the K classes in class order, and ``(k * K,)`` classes."""
        y = self.per_class_labels(k)
        return self.sample_with_labels(len(y), generator, seed, y)[0], y

    def per_class_labels(self, k: int) -> Tensor:
        """``(k * K,)`` the classes ``0, .., 0, 1, .., K - 1``, ``k`` of each; a UserError for an unconditional run."""
        plan = self._class_plan()
        plan.check()
        k = check_int(k, "--per-class", "per_class")
        self.check_request(k * len(plan.classes), "--per-class")
        return plan.per_class(k)

    def check_request(self, n: int, option: str = "n", what: str = "samples", copies: int = 1) -> int:
        """``n`` as an int if it is a positive count whose samples (``copies`` of each, as a request holds them)
        fit the byte budget of :mod:`origan.limits`; else an OptionError naming ``option``, before any draw."""
        n = check_int(n, option, "samples")
        check_request(n, copies * sample_bytes(self.data_info["shape"], self.conditional), option, what)
        return n

    def class_index(self, label: int | str) -> int:
        """The index of a class given by name (as in ``classes``) or index; a UserError listing the known ones."""
        return self._class_plan().index(label)

    def sample_labels(self, n: int, labels: Labels = None, generator: torch.Generator | None = None) -> Tensor | None:
        """``(n,)`` class indices for ``n`` samples of a conditional run, or None for an unconditional run.

        ``labels``: one class (an index or a name) for every sample, one per sample (a sequence or tensor of
        indices), or None: drawn from the training split's class frequencies with ``generator``. Labels for an
        unconditional run, or an unknown class, are a UserError; so is a count over the byte budget.
        """
        n = self.check_request(n)
        return self._class_plan().labels(n, labels, generator)

    def _class_plan(self) -> ClassPlan:
        name = str(self.path if self.path is not None else self.checkpoint)
        return ClassPlan(name, self.conditional, self.classes, self.data_info.get("class_counts"))

    def labelled_chunks(
        self, n: int, seed: int = 0, chunk: int = SAMPLE_CHUNK, labels: Labels = None
    ) -> tuple[Tensor | None, Iterator[Tensor]]:
        """``(n,)`` the samples' classes (None for an unconditional run), and the samples as :meth:`sample_chunks`
        draws them: the classes first, then the noise chunk by chunk, from one generator seeded with ``seed``."""
        generator = torch.Generator().manual_seed(check_int(seed, "seed", "seed"))
        y = self.sample_labels(n, labels, generator)
        return y, self._chunks(n, generator, chunk, y)

    def sample_chunks(
        self, n: int, seed: int = 0, chunk: int = SAMPLE_CHUNK, labels: Labels = None
    ) -> Iterator[Tensor]:
        """``n`` samples of G with noise from ``seed``, as CPU tensors of at most ``2 * chunk - 1`` rows.

        The noise is drawn chunk by chunk from one seeded CPU generator, so memory does not grow with ``n``. With
        the default ``chunk`` the samples equal ``sample(n, seed=seed)`` bit for bit: every chunk but the last
        holds a multiple of 16 noise values (torch fills normal noise 16 at a time) and G sees the same batches.
        """
        return self.labelled_chunks(n, seed, chunk, labels)[1]

    def _chunks(self, n: int, generator: torch.Generator, chunk: int, y: Tensor | None) -> Iterator[Tensor]:
        done = 0
        while done < n:
            rows = n - done if n - done < 2 * chunk else chunk  # a short tail joins the last chunk
            z = self.gan.prior.sample(rows, generator=generator)  # (rows, noise.dim)
            y_rows = None if y is None else y[done : done + rows]
            yield self.gan.sample(rows, z=z, batch_size=chunk, y=y_rows).cpu()
            done += rows

    def interpolate(
        self, rows: int = 8, steps: int = 10, seed: int = 0, method: str = "linear", across_classes: bool = False
    ) -> Any:
        """Latent walks (the paper's Figure 3): an :class:`~origan.interpolate.Interpolation` whose ``x`` is
        ``(rows, steps, *shape)``; its first and last columns are exactly G(z0) and G(z1). ``method="slerp"``
        needs Gaussian noise; ``across_classes`` (conditional runs) fixes z and varies the class."""
        from .interpolate import interpolate

        return interpolate(
            self.gan, self.data_info, rows, steps, seed, method, across_classes, prior_name=self.config.noise.prior
        )

    def encode(self, x: Tensor) -> Tensor:
        """``(n, noise_dim)`` codes E(x) of examples ``x`` ``(n, *shape)`` by the run's encoder (fitted with
        ``origan encode RUN --train`` or :func:`origan.inference.fit_encoder`)."""
        from .inference import encode, load_encoder

        return encode(load_encoder(self), x)

    def metrics(self) -> list[dict[str, Any]]:
        """The rows of ``metrics.jsonl``."""
        return RunDir(self.path).read_metrics() if self.path else []

    def __repr__(self) -> str:
        return f"Run(path={str(self.path)!r}, step={self.step}, data={self.data_info['name']!r})"


# -------------------------------------------------------------------------------------------------------
# Training


def _checkpoint_writer(run: RunDir, cfg: Config, data: Dataset) -> Any:
    def save(trainer: Trainer, reason: str) -> None:
        s = trainer.state
        extra = {
            "step": s.step,
            "epoch": s.sampler.epoch,
            "reason": reason,
            "config": to_dict(cfg),
            "data": data_info(data),
        }
        name = f"step-{s.step:09d}"
        try:
            save_checkpoint(run.checkpoints, name, s.state_dict(), extra)
            link_last(run.checkpoints, name)
        except OSError as e:
            raise CheckpointError(
                f"{run.checkpoints}: cannot write checkpoint {name} ({e.strerror or e}); "
                "the previous checkpoint is intact"
            ) from None
        prune_checkpoints(run.checkpoints, cfg.train.keep_checkpoints, name)
        log.info("checkpoint %s (%s)", name, reason)

    return save


def _sample_writer(run: RunDir, data: Dataset, fixed_z: Tensor) -> Any:
    fixed_y = class_blocks(len(fixed_z), len(data.classes)) if data.classes else None  # a conditional G's classes

    def draw(trainer: Trainer) -> None:
        x = trainer.state.gan.sample(len(fixed_z), z=fixed_z, y=fixed_y)
        save_sample_figure(
            x.cpu(), data.kind, data.target, run.sample_path(trainer.state.step), title=f"step {trainer.state.step}"
        )

    return draw


def _run_trainer(
    cfg: Config,
    run: RunDir,
    data: Dataset,
    state: TrainState,
    fixed_z: Tensor,
    callbacks: Sequence[Callback],
    ctx: Any = None,
) -> Run:
    hooks: dict[str, Any] = {
        "write_row": run.append_metrics,
        "save_checkpoint": _checkpoint_writer(run, cfg, data),
        "on_samples": _sample_writer(run, data, fixed_z),
        "callbacks": callbacks,
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
    return Run(run.path, cfg, state.gan, state.step, data_info(data), run.checkpoints / "last.json")


def _create_run(path: Path, overwrite: bool, cfg: Config) -> RunDir:
    run = RunDir.create(path, overwrite=overwrite)
    run.write_json("config.json", to_dict(cfg))
    return run


def train(
    config: Config, out: str | Path | None = None, *, overwrite: bool = False, callbacks: Sequence[Callback] = ()
) -> Run:
    """Train a new run of ``config`` into ``out`` (default ``runs/NNNNN-<data>``); return the :class:`Run`.

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
        data, state, fixed_z = build_state(cfg, ctx.device(device) if ctx else device, ctx.rank if ctx else 0)
        if ctx is not None:
            distributed.parallelize(ctx, cfg, state)
        run = distributed.on_main(ctx, lambda: _create_run(path, overwrite, cfg))
        return _run_trainer(cfg, run, data, state, fixed_z, callbacks, ctx)
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


def resume(path: str | Path, *, overrides: dict[str, Any] | None = None, callbacks: Sequence[Callback] = ()) -> Run:
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
        data, state, fixed_z = build_state(cfg, ctx.device(device) if ctx else device, ctx.rank if ctx else 0)
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
        return _run_trainer(cfg, run, data, state, fixed_z, callbacks, ctx)
    finally:
        distributed.teardown(ctx)


# -------------------------------------------------------------------------------------------------------
# Loading


def _gan_of(ckpt: Checkpoint, map_location: str | torch.device = "cpu") -> tuple[Config, GAN]:
    """The config and the GAN with the weights of ``ckpt``; a checkpoint that does not fit is a CheckpointError."""
    try:
        cfg = check_registered(from_dict(ckpt.manifest["config"]))
    except ConfigError as e:
        raise CheckpointError(f"{ckpt.path}: its config does not validate ({e})") from None
    info = ckpt.manifest["data"]
    try:
        gan = build_gan(cfg, info["shape"], info["bounded"], n_classes=len(info.get("classes", ())))
    except UserError as e:
        raise CheckpointError(
            f"{ckpt.path}: its model cannot be built for data of shape {info['shape']} ({e})"
        ) from None
    try:
        state = ckpt.state
        gan.G.load_state_dict(state["G"])
        gan.D.load_state_dict(state["D"])
        if gan.G_ema is not None:
            gan.G_ema.load_state_dict(state["G_ema"])
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{ckpt.path}: weights do not fit the model of its config ({first[:200]})") from None
    return cfg, gan.to(map_location).eval()


def load_run(path: str | Path, map_location: str | torch.device = "cpu") -> Run:
    """Load a run directory (its newest intact checkpoint) or a single checkpoint file for sampling."""
    path = Path(path)
    if not path.exists():
        raise RunDirError(f"{path}: no such run directory or checkpoint")
    built: dict[str, Any] = {}

    def fits(ckpt: Checkpoint) -> None:
        built["cfg"], built["gan"] = _gan_of(ckpt, map_location)

    if path.is_dir():
        run = RunDir.open(path)
        if not ever_checkpointed(run.checkpoints):
            raise CheckpointError(
                f"{path}: no checkpoint yet (the run stopped before its first one; "
                f"`origan train --resume {path}` starts it from step 0)"
            )
        ckpt = newest_good_checkpoint(run.checkpoints, check=fits)
        run_path: Path | None = run.path
    else:
        ckpt = load_checkpoint(path)
        fits(ckpt)
        run_path = path.parent.parent if path.parent.name == "checkpoints" else None
    return Run(run_path, built["cfg"], built["gan"], ckpt.step, ckpt.manifest["data"], ckpt.path)
