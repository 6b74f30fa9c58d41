"""The library's front door and the read side of a run: train, resume, load a run, sample from it.

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

The write side (creating the folder, training, resuming) is :mod:`origan.training.session`; :func:`train`
and :func:`resume` call it and return the :class:`Run` it left.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from .config import Config, from_dict
from .data import DataInfo
from .errors import CheckpointError, ConfigError, RunDirError, UserError
from .gan import GAN
from .io.checkpoint import (
    Checkpoint,
    ever_checkpointed,
    load_checkpoint,
    newest_good_checkpoint,
)
from .io.rundir import RunDir, inspect_run
from .limits import check_int, check_request, sample_bytes
from .training import Callback
from .training.build import build_gan, check_registered
from .training.session import Fitted, resume_run, train_run

__all__ = ["Run", "inspect_run", "load_run", "resume", "train"]

SAMPLE_CHUNK = 4096  # samples drawn and written at a time: memory follows the chunk, not the request


# -------------------------------------------------------------------------------------------------------
# The classes a conditional run samples: one class for every sample, one per sample, k of each, or a draw from
# the training split's class frequencies

Labels = int | str | Sequence[int] | Tensor | None  # the classes asked of a conditional run


def _listing(names: Sequence[str], most: int = 20) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


@dataclass(frozen=True)
class ClassPlan:
    """A run's classes: ``name`` (for messages), whether it is conditional, the class names and the training
    split's count of each (``None`` in checkpoints written before the counts were kept)."""

    name: str
    conditional: bool
    classes: Sequence[str]
    counts: Sequence[int] | None

    def check(self) -> None:
        """A UserError unless the run is conditional."""
        if not self.conditional:
            raise UserError(
                f"{self.name} was trained unconditionally; --label and --per-class (labels=) need a run "
                "trained with train.conditional = true"
            )

    def index(self, label: int | str) -> int:
        """The index of a class given by name or index; a UserError listing the known ones."""
        self.check()
        names = list(self.classes)
        if isinstance(label, str) and label in names:
            return names.index(label)
        text = str(label).strip()
        if text.isascii() and text.isdigit() and int(text) < len(names):  # ASCII digits only: "²" is no index
            return int(text)
        raise UserError(
            f"--label: {self.name} has no class {label!r}; its classes are {_listing(names)} "
            f"(a name, or an index 0..{len(names) - 1})"
        )

    def per_class(self, k: int) -> Tensor:
        """``(k * K,)`` the classes ``0, .., 0, 1, .., K - 1``, ``k`` of each."""
        self.check()
        k = check_int(k, "--per-class", "per_class")
        return torch.arange(len(self.classes)).repeat_interleave(k)

    def labels(self, n: int, labels: Labels = None, generator: torch.Generator | None = None) -> Tensor | None:
        """``(n,)`` class indices (see :meth:`origan.run.Run.sample_labels`), or None for an unconditional run."""
        if labels is None:
            if not self.conditional:
                return None
            if not self.counts:
                raise UserError(f"{self.name}: its checkpoint keeps no class counts; give the labels")
            freqs = torch.tensor(self.counts, dtype=torch.float32) / sum(self.counts)
            return torch.multinomial(freqs, n, replacement=True, generator=generator)
        if isinstance(labels, (int, str)):
            return torch.full((n,), self.index(labels), dtype=torch.int64)
        self.check()
        y = torch.as_tensor(labels).to(torch.int64).reshape(-1).cpu()
        if len(y) != n:
            raise UserError(f"labels: expected one class per sample ({n}), got {len(y)}")
        bad = y[(y < 0) | (y >= len(self.classes))]
        if len(bad):
            self.index(str(int(bad[0])))  # raises, naming the known classes
        return y


# -------------------------------------------------------------------------------------------------------
# A trained run


class Run:
    """A run directory and the GAN in its newest good checkpoint.

    Attributes:
        path: the run directory.
        config: the resolved :class:`Config`.
        gan: the trained :class:`GAN` (on the CPU unless moved).
        step: the G steps done when the checkpoint was written.
        data_info: what the run keeps of its training data (:class:`~origan.data.DataInfo`: name, shape, kind,
            boundedness, a table's codec, the classes and their training counts).
    """

    def __init__(
        self,
        path: Path | None,
        config: Config,
        gan: GAN,
        step: int,
        data_info: DataInfo,
        checkpoint: Path | None = None,
    ) -> None:
        self.path, self.config, self.gan, self.step, self.data_info = path, config, gan, step, data_info
        self.checkpoint = checkpoint

    @classmethod
    def of(cls, fitted: Fitted) -> Run:
        """The run a fit left (:mod:`origan.training.session`), its GAN as trained."""
        return cls(fitted.path, fitted.config, fitted.gan, fitted.step, fitted.data_info, fitted.checkpoint)

    @property
    def conditional(self) -> bool:
        """Whether G is class-conditional (``train.conditional``)."""
        return self.config.train.conditional

    @property
    def classes(self) -> list[str]:
        """The training data's class names, in class-index order (empty for unlabelled data)."""
        return list(self.data_info.classes)

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
        check_request(n, copies * sample_bytes(self.data_info.shape, self.conditional), option, what)
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
        return ClassPlan(name, self.conditional, self.classes, self.data_info.class_counts)

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
        """Latent walks (the paper's Figure 3): an :class:`~origan.latent.walks.Interpolation` whose ``x`` is
        ``(rows, steps, *shape)``; its first and last columns are exactly G(z0) and G(z1). ``method="slerp"``
        needs Gaussian noise; ``across_classes`` (conditional runs) fixes z and varies the class."""
        from .latent.walks import interpolate

        return interpolate(
            self.gan, self.data_info, rows, steps, seed, method, across_classes, prior_name=self.config.noise.prior
        )

    def encode(self, x: Tensor) -> Tensor:
        """``(n, noise_dim)`` codes E(x) of examples ``x`` ``(n, *shape)`` by the run's encoder (fitted with
        ``origan encode RUN --train`` or :func:`origan.latent.encoder.fit_encoder`)."""
        from .latent.encoder import encode, load_encoder

        return encode(load_encoder(self), x)

    def metrics(self) -> list[dict[str, Any]]:
        """The rows of ``metrics.jsonl``."""
        return RunDir(self.path).read_metrics() if self.path else []

    def __repr__(self) -> str:
        return f"Run(path={str(self.path)!r}, step={self.step}, data={self.data_info.name!r})"


# -------------------------------------------------------------------------------------------------------
# Training and resuming (the write side is origan.training.session)


def train(
    config: Config, out: str | Path | None = None, *, overwrite: bool = False, callbacks: Sequence[Callback] = ()
) -> Run:
    """Train a new run of ``config`` into ``out`` (default ``runs/NNNNN-<data>``) and return its :class:`Run`:
    :func:`origan.training.session.train_run` (every check before the first write; DDP under ``torchrun``)."""
    return Run.of(train_run(config, out, overwrite=overwrite, callbacks=callbacks))


def resume(path: str | Path, *, overrides: dict[str, Any] | None = None, callbacks: Sequence[Callback] = ()) -> Run:
    """Continue the run at ``path`` from its newest intact checkpoint, exactly where it stopped.

    A run stopped before its first checkpoint starts again from step 0 with its stored config (and says so).

    Args:
        overrides: ``{"train.steps": N}`` or ``{"train.epochs": E}`` to change the budget (setting one clears
            the other, as in a fresh config); nothing else may change.

    Under ``torchrun`` rank 0 reads the run and sends the checkpoint to the other ranks.
    """
    return Run.of(resume_run(path, overrides=overrides, callbacks=callbacks))


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
        best = state.get("select", {}).get("G_best")
        if best is not None:  # train.select: samples come from the weights kept at the best validation score
            gan.sampler.load_state_dict(best)
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
    return Run(run_path, built["cfg"], built["gan"], ckpt.step, DataInfo.from_json(ckpt.manifest["data"]), ckpt.path)
