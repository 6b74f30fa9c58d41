"""Speed of a spectrally normalised D: origan's fused backward against PyTorch's spectral_norm, in one process.

One iteration of ``mnist-conv``'s nets, unconditional (without its clusters; Algorithm 1, k = 1: a D step and a
G step, batch 64, the preset's autocast)
with D's weights normalised by ``origan.models.spectral`` (the gradient of W / sigma as one reduction and one
rank-one update) and by ``torch.nn.utils.parametrizations.spectral_norm`` (autograd through the division), for
D's dense layer at the preset's 256 units and at 1,024, and without spectral norm as the reference. The rows
are timed interleaved in rounds (so a noisy machine slows all alike), after warm-up; medians, and the ratio of
each row to the same D with PyTorch's spectral norm. Printed as a Markdown table.

    python benchmarks/spectral_norm.py                  # the threads torch chose
    python benchmarks/spectral_norm.py --threads 1 --iters 100
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from train_step import time_interleaved

import origan
from origan.limits import MAX_THREADS
from origan.models import builders
from origan.training.build import build_state
from origan.training.speed import cpu_description
from origan.training.trainer import Trainer

MAX_ITERS = 100_000  # hours per row at ~0.1 s an iteration


@contextmanager
def pytorch_spectral_norm() -> Iterator[None]:
    """D's layers normalised by PyTorch's own parametrisation while the block runs."""
    ours = builders.spectral_norm
    builders.spectral_norm = nn.utils.parametrizations.spectral_norm  # type: ignore[assignment]
    try:
        yield
    finally:
        builders.spectral_norm = ours


UNCONDITIONAL = ("train.conditional=false", "train.clusters=0")  # the nets the README's numbers were measured on


def iteration(dense: int, sn: bool, threads: int) -> Callable[[], None]:
    overrides = [f"discriminator.dense={dense}", f"discriminator.spectral_norm={str(sn).lower()}", *UNCONDITIONAL]
    cfg = origan.load_config("mnist-conv", overrides=[*overrides, "train.steps=1000000", f"train.threads={threads}"])
    torch.manual_seed(0)
    _, state, _ = build_state(cfg, torch.device("cpu"))
    return Trainer(cfg, state).iteration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=0, help=f"torch threads, 0..{MAX_THREADS} (0: torch's choice)")
    parser.add_argument("--iters", type=int, default=60, help=f"timed iterations per row, 1..{MAX_ITERS:,}")
    args = parser.parse_args()
    if not 0 <= args.threads <= MAX_THREADS or not 1 <= args.iters <= MAX_ITERS:
        parser.error(f"--threads must be in [0, {MAX_THREADS}] and --iters in [1, {MAX_ITERS:,}]")
    if args.threads:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    steps: dict[str, Callable[[], None]] = {}
    for dense in (256, 1024):
        steps[f"dense {dense}, no spectral norm"] = iteration(dense, False, threads)
        with pytorch_spectral_norm():
            steps[f"dense {dense}, PyTorch's spectral norm"] = iteration(dense, True, threads)
        steps[f"dense {dense}, origan's spectral norm"] = iteration(dense, True, threads)
    times, _ = time_interleaved(steps, iters=args.iters, chunk=10, peak_dtypes=[], warmup=5)
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"mnist-conv iteration (D step + G step, batch 64), {threads} thread(s), {cpu_description()}\n")
    print("| D | ms per iteration | vs PyTorch's spectral norm |")
    print("| --- | --- | --- |")
    for name, t in median.items():
        dense = name.split(",")[0]
        base = median[f"{dense}, PyTorch's spectral norm"]
        print(f"| {name} | {1000 * t:.1f} | {t / base:.2f}x |")


if __name__ == "__main__":
    main()
