"""The paper's schedules as pure functions of the update count and the epoch.

pylearn2's ``ExponentialDecay(decay_factor=1.000004, min_lr=1e-6)`` divides the learning rate by the
factor after every update; ``MomentumAdjustor(start=1, saturate=250, final_momentum=0.7)`` moves the
momentum linearly from its initial to its final value as epochs pass. Pure functions make resume exact.
"""

from __future__ import annotations

from ..config import OptimConfig

__all__ = ["learning_rate", "momentum"]


def learning_rate(cfg: OptimConfig, updates: int) -> float:
    """lr after ``updates`` updates: ``max(lr / lr_decay**updates, lr_min)``; never above the initial lr."""
    try:
        decayed = cfg.lr / cfg.lr_decay**updates
    except OverflowError:  # decay**updates beyond float range: fully decayed
        decayed = 0.0
    return max(decayed, min(cfg.lr_min, cfg.lr))


def momentum(cfg: OptimConfig, epoch: int) -> float:
    """SGD momentum once ``epoch`` epochs are complete: linear from ``momentum`` at ``momentum_start_epoch``
    to ``momentum_final`` at ``momentum_saturate_epoch``."""
    span = cfg.momentum_saturate_epoch - cfg.momentum_start_epoch
    alpha = min(max((epoch - cfg.momentum_start_epoch) / span, 0.0), 1.0)
    return cfg.momentum * (1.0 - alpha) + cfg.momentum_final * alpha
