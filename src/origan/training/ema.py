"""A moving average of G's weights for sampling (Yazıcı et al. 2019, "The unusual effectiveness of averaging
in GAN training"), set by ``train.ema`` (the decay; 0 turns it off).

The trainer updates the average after every G step; :meth:`origan.gan.GAN.generate` runs it, so samples,
walks, the encoder and the metrics all see the averaged G. The average lives in checkpoints beside G, so a
resumed run continues it exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["update_ema"]


@torch.no_grad()
def update_ema(average: nn.Module, model: nn.Module, decay: float, updates: int) -> None:
    """``average <- beta * average + (1 - beta) * model`` for the parameters, with ``beta = min(decay, (1 + t)
    / (10 + t))`` after ``t`` updates (a short warm-up, so early weights do not linger); buffers (batch-norm
    statistics) are copied."""
    beta = min(decay, (1 + updates) / (10 + updates))
    avg_params: list[Tensor] = [p.detach() for p in average.parameters()]
    params: list[Tensor] = [p.detach() for p in model.parameters()]
    torch._foreach_lerp_(avg_params, params, 1.0 - beta)
    for b_avg, b in zip(average.buffers(), model.buffers(), strict=True):
        b_avg.copy_(b)
