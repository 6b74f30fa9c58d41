"""The speed options of ``[train]``: bf16 autocast, channels_last, torch.compile. Defaults change nothing.

- ``autocast = "bf16"``: G's and D's forward passes run under ``torch.autocast`` in bfloat16 (matmuls and
  convolutions in bf16, on CPUs with AMX/AVX512-BF16 and on GPUs); weights, gradients, optimizer states and
  the losses (computed on fp32 logits) stay fp32. The trajectory differs from fp32 by bf16 rounding.
- ``channels_last = true``: 4-D weights (convolutions) in channels_last layout, which tensor cores and
  oneDNN prefer; the maths is the same up to the order of the convolutions' sums.
- ``compile``: ``torch.compile`` of G's and D's forward (``reduce-overhead`` replays CUDA graphs on a GPU).
  The module objects, their parameters and their state_dict keys stay as they are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

__all__ = ["AUTOCAST_DTYPES", "autocast_context", "prepare_modules"]

AUTOCAST_DTYPES = {"bf16": torch.bfloat16}


def autocast_context(name: str, device: torch.device) -> Callable[[], Any]:
    """A factory of the context the forward passes run in: ``torch.autocast`` or a no-op."""
    if name == "none":
        return contextlib.nullcontext
    dtype = AUTOCAST_DTYPES[name]
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def prepare_modules(train_cfg: Any, *modules: nn.Module) -> None:
    """Apply ``train.channels_last`` and ``train.compile`` to G and D, in place."""
    if train_cfg.compile != "none":
        # The simultaneous update backpropagates twice through one D pass (retain_graph), which compiled
        # backward graphs allow only without buffer donation.
        import torch._functorch.config as functorch_config

        functorch_config.donated_buffer = False
    for module in modules:
        if train_cfg.channels_last:
            module.to(memory_format=torch.channels_last)  # only 4-D parameters change layout
        if train_cfg.compile != "none":
            module.compile(mode=train_cfg.compile)
