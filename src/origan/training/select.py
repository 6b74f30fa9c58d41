"""Checkpoint selection and early stopping on a validation score (``train.select``).

GAN quality moves during training, and on a small table a G trained too long starts to reproduce its
training rows. With ``train.select = "table"`` the run scores the weights G samples with (the moving
average when ``train.ema`` is on) every ``train.select_every`` steps on the *validation* split, never the
test split, keeps a copy of them at the best score, and with ``train.patience = P`` stops once ``P`` scores
in a row were no better. Samples of the finished run (``Run``, ``origan sample``, ``TableGAN.sample``) come
from the kept weights; training itself is untouched (the score draws its own noise), so a run with selection
trains exactly as one without until it stops.

The kept weights and the counters live in the run's state and in every checkpoint (``select/...``), so a
resumed run continues exactly where it stopped.

The ``table`` score (:func:`origan.metrics.tables.validation_scorer`, registered in :data:`SCORES`) of ``n``
rows drawn from G (``n`` = the training rows, at most :data:`SCORE_ROWS`), decoded as a user reads them:
``quality`` in [0, 1] (SDMetrics' Column Shapes and Column Pair Trends against the validation rows),
``closeness`` (the share of drawn rows nearer to a training row than the median validation row is: 0.5 for
fresh rows, 1 for copies) and ``score = quality - max(0, closeness - CLOSENESS_FREE)``: fidelity, less a
penalty for every point of closeness above what fresh rows and sampling noise give. A point of closeness costs
as much as a point of quality, so a G that starts to copy loses more than its rising fidelity can win.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from ..registry import Registry
from ..seeding import derive_seed

if TYPE_CHECKING:
    from ..config import Config
    from ..data import Dataset

__all__ = ["CLOSENESS_FREE", "SCORES", "SCORE_ROWS", "Scorer", "Selection", "Selector", "best_sampler", "check_select"]

log = logging.getLogger(__name__)

SCORE_ROWS = 2000  # rows G draws for one score (at most; as many as the training rows below that)
CLOSENESS_FREE = 0.6  # closeness below this costs nothing: fresh rows score 0.5, plus room for sampling noise

Scorer = Callable[[Tensor], dict[str, float]]  # encoded samples -> {"score": to maximise, and its parts}
# train.select's scores: name -> a factory that takes the run's Dataset and returns its Scorer (or raises a
# ConfigError naming train.select for data it cannot score). The table score lives with the table metrics.
SCORES: Registry[Callable[[Dataset], Scorer]] = Registry(
    "validation score", modules=("origan.metrics.tables", "origan.metrics.fid")
)


@dataclass
class Selection:
    """The best weights so far and the counters of the selection (part of the run's state and checkpoints).

    Attributes:
        best_score: the best score so far (-inf before the first).
        best_step: the step it was reached at (-1 before the first score).
        since: scores since the best one (``train.patience`` of them stop the run).
        weights: the sampling G's weights at ``best_step`` (None before the first score).
        last: the newest score's parts (``score``, ``quality``, ``closeness``), for logs.
    """

    best_score: float = -math.inf
    best_step: int = -1
    since: int = 0
    weights: dict[str, Tensor] | None = None
    last: dict[str, float] = field(default_factory=dict)

    def state_dict(self) -> dict[str, Any]:
        return {
            "counters": {"best_step": self.best_step, "since": self.since},
            "best_score": torch.tensor(self.best_score, dtype=torch.float64),
            **({"G_best": dict(self.weights)} if self.weights is not None else {}),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        c = state["counters"]
        self.best_step, self.since = int(c["best_step"]), int(c["since"])
        self.best_score = float(state["best_score"])
        g = state.get("G_best")
        self.weights = {k: v.clone() for k, v in g.items()} if g is not None else None


def check_select(cfg: Config, data: Dataset) -> Scorer | None:
    """The scorer of ``train.select`` for ``data`` (None for ``none``); data it cannot score is a ConfigError
    naming the key, raised before anything is written. A dataset whose classes were found in it (``source``) is
    scored as the data it was made from: in the data's own terms, not the clusters'."""
    if cfg.train.select == "none":
        return None
    return SCORES.get(cfg.train.select, "train.select")(data if data.source is None else data.source)


class Selector:
    """Scores the run's sampling G on the validation split and keeps its best weights in ``state.selection``."""

    def __init__(self, cfg: Config, data: Dataset, state: Any) -> None:
        scorer = check_select(cfg, data)
        assert scorer is not None, "Selector: train.select is none"
        self.cfg, self.state, self.scorer = cfg, state, scorer
        self.n = min(len(data.train), SCORE_ROWS)
        freqs = None
        if cfg.train.conditional and data.labels is not None:
            counts = torch.bincount(data.labels["train"].cpu(), minlength=len(data.classes)).double()
            freqs = counts / counts.sum()
        self.freqs = freqs
        if state.selection is None:
            state.selection = Selection()

    @property
    def selection(self) -> Selection:
        assert self.state.selection is not None
        return self.state.selection

    def due(self, step: int, total: int) -> bool:
        """Whether ``step`` is a scoring step (every ``train.select_every`` steps, and the last)."""
        return step % self.cfg.train.select_every == 0 or step == total

    @property
    def stopped(self) -> bool:
        """Whether ``train.patience`` scores in a row were no better than the best."""
        p = self.cfg.train.patience
        return p > 0 and self.selection.since >= p

    def draw(self) -> Tensor:
        """``(n, *shape)`` samples of the sampling G from the scores' own noise: the same z (and classes) at every
        score, drawn apart from the run's streams."""
        gan = self.state.gan
        gen = torch.Generator().manual_seed(derive_seed(self.cfg.seed, "select"))
        y = torch.multinomial(self.freqs, self.n, replacement=True, generator=gen) if self.freqs is not None else None
        z = gan.prior.sample(self.n, generator=gen).to(gan.device)
        return gan.sample(self.n, z=z, y=None if y is None else y.to(gan.device)).cpu()

    def score(self, step: int) -> dict[str, float]:
        """Score the sampling G at ``step``; keep its weights if the score is the best so far."""
        gan = self.state.gan
        x = self.draw()
        if not torch.isfinite(x).all():
            parts = {"score": -math.inf}  # a G that draws NaN or Inf is never the best
        else:
            parts = self.scorer(x)
        sel = self.selection
        sel.last = {k: parts[k] for k in ("score", "quality", "closeness", "frechet") if k in parts}
        if parts["score"] > sel.best_score:
            sel.best_score, sel.best_step, sel.since = parts["score"], step, 0
            sel.weights = {k: v.detach().clone().cpu() for k, v in gan.sampler.state_dict().items()}
        else:
            sel.since += 1
        shown = ", ".join(f"{k} {v:.4g}" for k, v in sel.last.items() if k != "score")
        log.info(
            "step %d: validation score %.4f (%s); best %.4f at step %d",
            step, parts["score"], shown, sel.best_score, sel.best_step,
        )  # fmt: skip
        return parts


def best_sampler(gan: Any, selection: Selection | None) -> Any:
    """A copy of ``gan`` whose sampling G holds the selected weights (``gan`` itself without a selection)."""
    if selection is None or selection.weights is None:
        return gan
    best = copy.deepcopy(gan)
    best.sampler.load_state_dict(selection.weights)
    return best
