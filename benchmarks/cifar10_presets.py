"""Training speed of the paper's CIFAR-10 presets with their full-size nets, on a fake folder of batch files.

Each preset (``paper-cifar10-fc``, ``paper-cifar10-conv``) is built exactly as ``origan train`` builds it,
on a temporary folder of CIFAR-10 binary batches holding random bytes (64 records each; speed does not depend
on the pixels), and ``Trainer.iteration()`` is timed for ``--steps`` steps after ``--warmup`` steps. The
baseline is the machine's fp32 matmul peak, measured in the same run (``train_step.gemm_peak``, before and
after each preset; the best of the two): "% of peak" is the iteration's GFLOP (every GEMM and convolution,
forward and backward, as ``torch.utils.flop_counter`` counts them) per second over that peak. Printed as a
Markdown table with the load average before and after, since a shared machine slows every row.

    OMP_NUM_THREADS=2 python benchmarks/cifar10_presets.py --threads 2 --steps 20
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from train_step import count_flops, gemm_peak  # benchmarks/ is on the path when this script runs

import origan
from origan.data.cifar import RECORD_BYTES
from origan.training import Trainer
from origan.training.build import build_state

PRESETS = ("paper-cifar10-fc", "paper-cifar10-conv")
BATCHES = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin")


def fake_folder(folder: Path, records: int = 64) -> Path:
    rng = np.random.default_rng(0)
    for name in BATCHES:
        data = rng.integers(0, 256, (records, RECORD_BYTES), dtype=np.uint8)
        data[:, 0] %= 10  # labels 0-9
        (folder / name).write_bytes(data.tobytes())
    return folder


def time_preset(preset: str, folder: Path, threads: int, steps: int, warmup: int) -> dict[str, float]:
    cfg = origan.load_config(preset, overrides={"data.path": str(folder), "train.threads": threads})
    _, state, _ = build_state(cfg, torch.device("cpu"))
    trainer = Trainer(cfg, state)
    for _ in range(warmup):
        trainer.iteration()
    gflop = count_flops(trainer.iteration)
    peak = gemm_peak(torch.float32)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.iteration()
    seconds = time.perf_counter() - start
    peak = max(peak, gemm_peak(torch.float32))
    params = sum(p.numel() for p in state.gan.parameters())
    return {
        "steps_per_s": steps / seconds,
        "img_per_s": steps * cfg.train.batch_size / seconds,
        "params": params,
        "gflop": gflop,
        "peak_pct": 100 * gflop * steps / seconds / peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (train.threads)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per preset")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = fake_folder(Path(tmp))
        for preset in PRESETS:
            rows.append((preset, time_preset(preset, folder, args.threads, args.steps, args.warmup)))
    print(f"{args.threads} threads, {args.steps} steps after {args.warmup}; load average {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")  # fmt: skip
    print("| preset | parameters | GFLOP/step | steps/s | images/s | % of matmul peak |")
    print("| --- | --- | --- | --- | --- | --- |")
    for preset, r in rows:
        print(
            f"| {preset} | {r['params'] / 1e6:.1f} M | {r['gflop']:.0f} | {r['steps_per_s']:.2f} | "
            f"{r['img_per_s']:.0f} | {r['peak_pct']:.0f} % |"
        )


if __name__ == "__main__":
    main()
