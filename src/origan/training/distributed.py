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
- A run ends in order (:func:`teardown`): a barrier once every rank is done (rank 0's last writes
  included), then the DDP wrappers go, then the process group, whose gloo threads are joined before
  the interpreter shuts down.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
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
    # the GANs whose nets parallelize() wrapped in DDP: teardown unwraps them before the group goes
    wrapped: list[Any] = field(default_factory=list, compare=False, repr=False)

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


# Why a run ends the way it does (the flaky SIGABRT of "terminate called without an active exception"):
#
# A gloo process group runs every collective on its own worker threads (``pt_gloo_runloop``, plus the
# transport's ``gloo_tcp_loop``). ``work.wait()`` returns once the worker marks the work complete; the worker
# drops its reference to the work, and so to the tensors it moved, a moment later. Those tensors were made in
# Python (``broadcast_object_list``'s buffers, in the last ``on_main``), so that last drop takes the GIL. If
# the rank has reached interpreter shutdown by then, CPython ends the worker thread with ``pthread_exit``
# from inside ``take_gil``; the forced unwind crosses the work's noexcept destructor and libstdc++ calls
# ``std::terminate`` (SIGABRT, exit -6). Rank 1 has nothing to do after the last collective (rank 0 alone
# plots and writes), so it got there first, and on a loaded machine its worker thread had not yet run.
#
# ``destroy_process_group`` makes that impossible only if it frees the group: the group's destructor runs
# with the GIL released, lets the workers finish and joins them. Two things kept the group alive past it:
# - The DDP wrappers (the Run's GAN keeps them; they and their reducers hold the group). They are dropped
#   first, while the group is still registered, so that the last reference is the one ``destroy_process_group``
#   drops (a reducer dropping it would run the destructor with the GIL held, which a worker waiting for the
#   GIL would deadlock).
# - ``torch.distributed.nn.functional`` binds ``group=group.WORLD`` as default arguments when first imported,
#   and DDP's constructor imports it (by importing ``torch._dynamo``): imported after ``init_process_group``,
#   ten functions' defaults hold the default group for the life of the process (torch 2.13). :func:`setup`
#   imports it, and torch._dynamo with whatever else it pulls in, before the group exists.
# And before any of this, on a run that finished, a barrier: no rank leaves until every rank is done (rank 0's
# plots and checkpoints included), so no rank tears its pairs down under a peer that still works.

_IMPORT_BEFORE_THE_GROUP = ("torch.distributed.nn.functional", "torch._dynamo")  # see the note above


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
        for name in _IMPORT_BEFORE_THE_GROUP:  # so that no default argument pins the group (see the note above)
            importlib.import_module(name)
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    log.info("rank %d of %d (local %d)", rank, world, local_rank)
    return DistContext(rank, world, local_rank, owns)


def teardown(ctx: DistContext | None) -> None:
    """Leave the job: a barrier when the run finished, then the DDP wrappers, then the group if origan made it.

    Called from ``finally``: after an exception no barrier, since a peer may never reach it. A group origan made
    is gone when this returns, its gloo threads joined (see the note above).
    """
    if ctx is None:
        return
    finished = sys.exc_info()[0] is None  # in a ``finally``, the exception on its way out, if any
    owned = ctx.owns_group and dist.is_initialized()
    try:
        if finished and owned:
            try:
                # every rank is done, rank 0's last writes included (NCCL's barrier takes this rank's GPU)
                dist.barrier(device_ids=[ctx.local_rank] if torch.cuda.is_available() else None)
            except RuntimeError as e:  # a peer left with an error, which it reports itself
                log.warning("rank %d: the final barrier failed (%s)", ctx.rank, str(e).splitlines()[0] if str(e) else e)
    finally:
        for gan in ctx.wrapped:
            gan.use_update_modules(gan.G, gan.D)  # the plain nets again: the wrappers and their reducers go
        ctx.wrapped.clear()
        gc.collect()  # any wrapper in a reference cycle too, while the group is still registered
        if owned:
            dist.destroy_process_group()  # the last reference: the group's destructor joins its gloo threads


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
    ctx.wrapped.append(gan)  # teardown unwraps it before the group goes
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
        selector: Any = None,
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
            selector=selector,  # every rank holds the same weights and scores them alike: all stop together
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
