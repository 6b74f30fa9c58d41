"""Data-parallel training with PyTorch's DDP under ``torchrun``, on one node or many. All rank logic lives here.

    torchrun --nproc_per_node 4 -m origan train --preset paper-mnist --out runs/mnist
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --rdzv_backend c10d \\
             --rdzv_endpoint HOST:29500 -m origan train --preset paper-mnist --out runs/mnist

How N ranks make one process's updates at the same global batch (``train.batch_size``, which must divide by N):

- Every rank builds the same run: same weights, and the same training streams (noise, data order,
  dropout), seeded from the run's seed. The global RNGs (Python, NumPy, torch) get per-rank seeds
  (``seed + rank``); origan's own nets draw nothing from them.
- Each global batch is cut into N shards of ``m = batch_size / N`` rows and rank r takes the r-th: its
  rows of the data minibatch and of its labels (the permutation is the same everywhere), of the noise
  batch (drawn whole and sliced), and of the dropout masks (:class:`~origan.models.dropout.Dropout` draws
  the whole batch's mask and keeps its rows). D's one pass over ``[real; fake]`` is, globally,
  ``[all ranks' real; all ranks' fake]``.
- D and G are wrapped in ``DistributedDataParallel``; the wrapper of the player being updated runs its
  forward pass and averages its gradients over the ranks during backward. Each rank's loss is the mean
  over its rows, so the averaged gradient is the gradient of the global mean: the update equals one
  process's up to the order of floating-point sums (the tests bound the difference by 1e-6 over 12 steps).
  Over a run the game and Adam amplify that rounding (ring8: weights ~1e-4 apart after 100 steps, ~0.1
  after 300), so N ranks train a run of the same quality as one process, not the same weights (a slow
  test checks ring8's modes on 2 ranks against 1).
- The divergence guard's NaN check, the stop-on-signal flag and the logged means are reduced over ranks,
  so every rank takes the same branch. Only rank 0 writes files (config, metrics, samples, checkpoints);
  a checkpoint holds every rank's RNG states (gathered to rank 0). Resume reads the checkpoint on rank 0
  and broadcasts it: with the same number of ranks each rank gets its own RNG states back and the run is
  bit-identical to an uninterrupted one; with another number the shared streams carry on exactly (so each
  update is the same up to the sums' order, and the weights drift apart as above) and the global RNGs
  are reseeded per rank.
- Batch normalisation uses each rank's batch statistics (SyncBatchNorm needs a GPU); nets without BN
  (the paper's) make exactly one process's updates, up to the sums' order.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel

from ..errors import ConfigError
from ..models.dropout import bind_dropout
from ..seeding import capture_rng
from .state import BatchSampler, TrainState
from .trainer import Trainer

__all__ = [
    "DistContext",
    "DistributedTrainer",
    "ShardedBatchSampler",
    "broadcast",
    "environment",
    "is_main_process",
    "on_main",
    "parallelize",
    "setup",
    "teardown",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job: ``rank`` of ``world``, ``local_rank`` on its node."""

    rank: int
    world: int
    local_rank: int
    owns_group: bool  # whether origan initialised the process group (and so tears it down)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """The run's resolved device for this rank: ``cuda:LOCAL_RANK`` for CUDA, else unchanged."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" else device


def environment() -> tuple[int, int, int] | None:
    """``(rank, world, local_rank)`` from torchrun's variables; ``None`` outside torchrun or for one process."""
    world = int(os.environ.get("WORLD_SIZE", "1") or "1")
    if world <= 1:
        return None
    return int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0"))


def setup() -> DistContext | None:
    """Join the torchrun job (gloo for CPU tensors, NCCL for CUDA ones); ``None`` when not under torchrun."""
    env = environment()
    if env is None:
        return None
    rank, world, local_rank = env
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)  # before any NCCL communicator exists
    owns = not dist.is_initialized()
    if owns:
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    log.info("rank %d of %d (local %d)", rank, world, local_rank)
    return DistContext(rank, world, local_rank, owns)


def teardown(ctx: DistContext | None) -> None:
    """Leave the job (only when origan joined it). Rank 0's last writes were already waited for."""
    if ctx is not None and ctx.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def is_main_process() -> bool:
    """True outside torchrun and on its rank 0 (the process that prints and writes), before and after setup."""
    env = environment()
    return env is None or env[0] == 0


def broadcast(ctx: DistContext | None, value: T) -> T:
    """Rank 0's ``value`` on every rank (any picklable object, tensors included)."""
    if ctx is None:
        return value
    box = [value if ctx.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[return-value]


def on_main(ctx: DistContext | None, fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and give its result to every rank; its exception is raised on every rank."""
    if ctx is None:
        return fn()
    outcome: tuple[str, Any] = ("ok", None)
    error: BaseException | None = None
    if ctx.is_main:
        try:
            outcome = ("ok", fn())
        except Exception as e:
            error, outcome = e, ("error", (type(e), str(e)))
    outcome = broadcast(ctx, outcome)
    if outcome[0] == "error":
        if error is not None:
            raise error
        cls, message = outcome[1]
        raise cls(message)
    return outcome[1]


# ---------------------------------------------------------------------------------------------------------
# Shards of the global batch


class ShardedBatchSampler(BatchSampler):
    """The same permutation as one process's sampler; ``next()`` returns this rank's rows of each batch."""

    def __init__(self, base: BatchSampler, rank: int, world: int) -> None:
        self.__dict__.update(base.__dict__)  # same data, generator, epoch, cursor and permutation (no draw)
        self.rank, self.world = rank, world

    def next(self) -> tuple[Tensor, Tensor | None]:
        """``(m / world, *shape)`` this rank's shard of the next global minibatch, and its labels' shard."""
        idx = self.next_indices()  # (m,) the global batch
        share = self.batch_size // self.world
        return self.take(idx[self.rank * share : (self.rank + 1) * share])


def parallelize(ctx: DistContext, cfg: Any, state: TrainState) -> None:
    """Shard ``state``'s batches, noise and dropout masks for this rank, and wrap G and D in DDP (in place)."""
    m = cfg.train.batch_size
    if m % ctx.world:
        raise ConfigError(
            f"train.batch_size: expected a multiple of the {ctx.world} processes (each takes an "
            f"equal shard of the global batch), got {m}"
        )
    gan = state.gan
    device = gan.device
    kwargs: dict[str, Any] = {"device_ids": [device.index]} if device.type == "cuda" else {}
    gan.use_update_modules(DistributedDataParallel(gan.G, **kwargs), DistributedDataParallel(gan.D, **kwargs))
    bind_dropout(gan, state.dropout_gen, shard=(ctx.rank, ctx.world, m // ctx.world))
    state.sampler = ShardedBatchSampler(state.sampler, ctx.rank, ctx.world)


def rank_state(ctx: DistContext, tree: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's state with this rank's RNG states put where ``TrainState.load_state_dict`` reads them."""
    ranks = tree.get("rng_ranks")
    if ranks is not None and len(ranks) == ctx.world:
        return tree | {"rng": ranks[ctx.rank]}
    if ctx.is_main:
        log.warning(
            "resuming on %d processes a checkpoint written by %s: the shared training streams continue "
            "exactly, the global RNGs are reseeded per rank",
            ctx.world,
            len(ranks) if ranks else 1,
        )
    return tree | {"rng": tree["rng"] | {k: v for k, v in capture_rng().items() if k != "generators"}}


# ---------------------------------------------------------------------------------------------------------
# The trainer


class DistributedTrainer(Trainer):
    """:class:`Trainer` with each rank drawing its shard and the decisions reduced over ranks.

    Only rank 0 gets the caller's ``write_row``, ``on_samples`` and callbacks; ``save_checkpoint`` runs on
    rank 0 after every rank's RNG states are gathered there.
    """

    def __init__(
        self,
        ctx: DistContext,
        cfg: Any,
        state: TrainState,
        *,
        write_row: Callable[[dict[str, Any]], None],
        save_checkpoint: Callable[[Trainer, str], None],
        on_samples: Callable[[Trainer], None],
        callbacks: Any = (),
    ) -> None:
        self.ctx = ctx

        def save(trainer: Trainer, reason: str) -> None:
            gathered: list[Any] | None = [None] * ctx.world if ctx.is_main else None
            dist.gather_object(capture_rng(state.generators()), gathered, dst=0)
            state.rng_ranks = gathered
            try:
                on_main(ctx, lambda: save_checkpoint(trainer, reason))
            finally:
                state.rng_ranks = None

        main = ctx.is_main
        super().__init__(
            cfg,
            state,
            write_row=write_row if main else (lambda row: None),
            save_checkpoint=save,
            on_samples=on_samples if main else (lambda t: None),
            callbacks=callbacks if main else (),
        )

    def _draw_noise(self) -> Tensor:
        s, m = self.state, self.cfg.train.batch_size
        z = s.gan.noise(m, s.noise_gen)  # (m, noise_dim): the global batch's noise, the same on every rank
        share = m // self.ctx.world
        return z[self.ctx.rank * share : (self.ctx.rank + 1) * share]

    def _draw_fake_labels(self) -> Tensor | None:
        y = super()._draw_fake_labels()  # (m,): the global batch's classes, the same on every rank
        if y is None:
            return None
        share = self.cfg.train.batch_size // self.ctx.world
        return y[self.ctx.rank * share : (self.ctx.rank + 1) * share]

    def _finite(self, totals: Tensor) -> list[bool]:
        totals = totals.detach().clone()
        dist.all_reduce(totals)  # a NaN/Inf on any rank reaches every rank
        return torch.isfinite(totals).tolist()

    def _log_sums(self) -> list[float]:
        acc = self.state.acc.clone()
        dist.all_reduce(acc)
        return (acc / self.ctx.world).tolist()  # means of the ranks' means = means over the global batch

    def _stop_requested(self) -> bool:
        flag = torch.tensor([0.0 if self._signal is None else 1.0], device=self.state.gan.device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)  # one rank's SIGTERM stops every rank at the same step
        return bool(flag.item())
