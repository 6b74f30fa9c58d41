"""The classes a conditional run samples: one class for every sample, one per sample, ``k`` of each, or a draw
from the training split's class frequencies (what :class:`origan.run.Run` and ``origan sample`` use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import UserError
from .limits import check_int

__all__ = ["ClassPlan", "Labels", "class_blocks"]

Labels = int | str | Sequence[int] | Tensor | None  # the classes asked of a conditional run


def class_blocks(n: int, n_classes: int) -> Tensor:
    """``(n,)`` classes in equal blocks, in class order (``n = 100``, 10 classes: one grid row per class); the
    classes of a conditional run's fixed sample figure."""
    return torch.arange(n) * n_classes // n


def _listing(names: Sequence[str], most: int = 20) -> str:
    shown = ", ".join(names[:most])
    return shown + (f", ... ({len(names)} in all)" if len(names) > most else "")


@dataclass(frozen=True)
class ClassPlan:
    """A run's classes: ``name`` (for messages), whether it is conditional, the class names and the training
    split's count of each (``None`` in checkpoints written before the counts were kept)."""

    name: str
    conditional: bool
    classes: list[str]
    counts: list[int] | None

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
        names = self.classes
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
