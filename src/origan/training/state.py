"""Everything a run needs to continue exactly where it stopped, as one ``state_dict``.

Weights (and the moving average of G's, when on), both optimizers, counters, the data order (the epoch's
permutation and the cursor in it), the log interval's running sums and every RNG state (Python, NumPy, torch
CPU and CUDA, the noise, data-order, dropout and augmentation generators; under DDP every rank's). Schedules
are pure functions of the counters, so they need no state of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..gan import GAN
from ..seeding import capture_rng, restore_rng

if TYPE_CHECKING:
    from .select import Selection

__all__ = ["BatchSampler", "TrainState"]


class BatchSampler:
    """Minibatches ``(x, y)`` from tensors resident on their device, in the order of a seeded permutation.

    Each epoch is a fresh permutation of the ``n`` examples drawn with ``generator``; an incomplete batch at
    the end of an epoch is dropped (as pylearn2's iterator did). ``labels`` (class indices, when the data
    has them) are gathered with the same indices, so they cost no random numbers: a run draws the same
    batches with or without them.
    """

    def __init__(self, data: Tensor, batch_size: int, generator: torch.Generator, labels: Tensor | None = None) -> None:
        if labels is not None and labels.shape != (len(data),):
            raise ValueError(f"labels: expected shape ({len(data)},) (one per example), got {tuple(labels.shape)}")
        self.data = data  # (n, *shape) on the training device
        self.labels = None if labels is None else labels.to(data.device)  # (n,) int64 class indices, or None
        self.batch_size = batch_size
        self.generator = generator
        self.n = len(data)
        self.epoch = 0  # epochs completed
        self.cursor = 0  # position in the current permutation
        self.perm = torch.randperm(self.n, generator=generator)  # (n,) on the CPU
        self._perm_on_device: tuple[Tensor, Tensor] | None = None  # (perm, its copy on the data's device)

    @property
    def batches_per_epoch(self) -> int:
        return self.n // self.batch_size

    def next_indices(self) -> Tensor:
        """``(m,)`` the indices of the next minibatch, on the data's device; starts a new epoch when due."""
        if self.cursor + self.batch_size > self.n:
            self.epoch += 1
            self.cursor = 0
            self.perm = torch.randperm(self.n, generator=self.generator)
        if self._perm_on_device is None or self._perm_on_device[0] is not self.perm:
            self._perm_on_device = (self.perm, self.perm.to(self.data.device))  # one copy per epoch
        idx = self._perm_on_device[1][self.cursor : self.cursor + self.batch_size]
        self.cursor += self.batch_size
        return idx

    def next(self) -> tuple[Tensor, Tensor | None]:
        """``(m, *shape)`` the next minibatch and ``(m,)`` its labels (None without labels); starts a new
        epoch when the current one is used up."""
        return self.take(self.next_indices())

    def take(self, idx: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(x[idx], y[idx])``: plain gathers (~3x faster than ``data[idx]``); ``y`` is None without labels."""
        y = None if self.labels is None else self.labels.index_select(0, idx)
        return self.data.index_select(0, idx), y

    @property
    def epoch_float(self) -> float:
        return self.epoch + self.cursor / max(self.batches_per_epoch * self.batch_size, 1)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "cursor": self.cursor, "perm": self.perm}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["perm"]) != self.n:
            from ..errors import CheckpointError

            raise CheckpointError(
                f"checkpoint: its data order covers {len(state['perm'])} examples, the dataset has {self.n}"
            )
        self.epoch, self.cursor, self.perm = int(state["epoch"]), int(state["cursor"]), state["perm"].to(torch.int64)


class TrainState:
    """The whole mutable state of a run.

    Attributes:
        gan: G, D and the prior.
        opt_d, opt_g: the two optimizers.
        sampler: data order.
        noise_gen: the generator every z of training is drawn with.
        step: G steps done (training iterations of Algorithm 1).
        d_updates, g_updates: optimizer updates done (they drive the learning-rate decay).
        acc: ``(7,)`` running sums of the current log interval (see ``Trainer``).
    """

    def __init__(
        self,
        gan: GAN,
        opt_d: torch.optim.Optimizer,
        opt_g: torch.optim.Optimizer,
        sampler: BatchSampler,
        noise_gen: torch.Generator,
        dropout_gen: torch.Generator | None = None,
        augment_gen: torch.Generator | None = None,
    ) -> None:
        self.gan, self.opt_d, self.opt_g, self.sampler, self.noise_gen = gan, opt_d, opt_g, sampler, noise_gen
        self.dropout_gen = dropout_gen  # the stream of D's (and G's) dropout masks, when bound to the nets
        self.augment_gen = augment_gen  # the stream of the augmentations D sees, when they are on
        self.rng_ranks: list[dict[str, Any]] | None = None  # under DDP: every rank's RNG states, for checkpoints
        self.step = 0
        self.d_updates = 0
        self.g_updates = 0
        self.rollbacks = 0  # divergence-guard rollbacks so far
        self.lr_scale = 1.0  # product of the guard's learning-rate factors
        self.acc = torch.zeros(7, dtype=torch.float64, device=gan.device)
        self.selection: Selection | None = None  # train.select: the best weights so far (training/select.py)

    @property
    def epoch(self) -> int:
        return self.sampler.epoch

    def generators(self) -> dict[str, torch.Generator]:
        gens = {"noise": self.noise_gen, "data_order": self.sampler.generator}
        if self.dropout_gen is not None:
            gens["dropout"] = self.dropout_gen
        if self.augment_gen is not None:
            gens["augment"] = self.augment_gen
        return gens

    def state_dict(self) -> dict[str, Any]:
        out = {
            "G": dict(self.gan.G.state_dict()),
            "D": dict(self.gan.D.state_dict()),
            **({"G_ema": dict(self.gan.G_ema.state_dict())} if self.gan.G_ema is not None else {}),
            "opt_d": self.opt_d.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "sampler": self.sampler.state_dict(),
            "counters": {
                "step": self.step,
                "d_updates": self.d_updates,
                "g_updates": self.g_updates,
                "rollbacks": self.rollbacks,
                "lr_scale": self.lr_scale,
            },
            "acc": self.acc,
            "rng": capture_rng(self.generators()),
        } | ({"rng_ranks": self.rng_ranks} if self.rng_ranks is not None else {})
        if self.selection is not None:  # train.select: the kept weights and the counters
            out["select"] = self.selection.state_dict()
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gan.G.load_state_dict(state["G"])
        self.gan.D.load_state_dict(state["D"])
        if self.gan.G_ema is not None:
            self.gan.G_ema.load_state_dict(state["G_ema"])
        self.opt_d.load_state_dict(_int_keys(state["opt_d"]))
        self.opt_g.load_state_dict(_int_keys(state["opt_g"]))
        self.sampler.load_state_dict(state["sampler"])
        c = state["counters"]
        self.step, self.d_updates, self.g_updates = int(c["step"]), int(c["d_updates"]), int(c["g_updates"])
        self.rollbacks, self.lr_scale = int(c["rollbacks"]), float(c["lr_scale"])
        self.acc = state["acc"].to(self.acc)
        saved = state["rng"]["generators"]
        restore_rng(state["rng"], {k: g for k, g in self.generators().items() if k in saved})
        if self.selection is not None and "select" in state:
            self.selection.load_state_dict(state["select"])


def _int_keys(opt_state: dict[str, Any]) -> dict[str, Any]:
    """JSON turned the optimizer's integer parameter ids into strings; turn them back."""
    return {"state": {int(k): v for k, v in opt_state["state"].items()}, "param_groups": opt_state["param_groups"]}
