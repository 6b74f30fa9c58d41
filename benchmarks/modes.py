"""Mode coverage of the ring8 and grid25 presets over several seeds, beside the published vanilla-GAN rows.

    python benchmarks/modes.py                 # 5 seeds of each preset
    python benchmarks/modes.py --seeds 2 --presets ring8

Each seed trains the preset as shipped (the vanilla objective: non-saturating G cost, alternating updates)
and is measured with the ``modes`` metric (VEEGAN / PacGAN definitions: 2,500 samples, high-quality
within 3 std of the nearest mode, reverse KL of the mode histogram), averaged over 5 draws of noise. The
table gives mean +- standard error over seeds. Published rows are quoted for context; each paper used its
own architecture, budget and (slightly different) targets.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import torch

import origan
from origan.data import build_dataset
from origan.metrics import MetricContext, get_metric

PUBLISHED = {  # modes captured by a vanilla GAN (and the best PacGAN) as reported
    "ring8": [("vanilla GAN, VEEGAN (Srivastava et al. 2017)", "1"), ("vanilla GAN, PacGAN (Lin et al. 2018)", "6.3")],
    "grid25": [
        ("vanilla GAN, VEEGAN (Srivastava et al. 2017)", "3.3"),
        ("vanilla GAN, PacGAN (Lin et al. 2018)", "17.3"),
        ("PacGAN4, packing 4 (Lin et al. 2018)", "24.8"),
    ],
}


def mean_se(values: list[float], digits: int = 2) -> str:
    t = torch.tensor(values, dtype=torch.float64)
    se = float(t.std() / math.sqrt(len(t))) if len(t) > 1 else 0.0
    return f"{float(t.mean()):.{digits}f} ± {se:.{digits}f}"


def run_seed(preset: str, seed: int, folder: Path) -> dict:
    cfg = origan.load_config(preset, overrides=[f"seed={seed}", "train.sample_every=0", "train.checkpoint_every=0"])
    t0, cpu0 = time.perf_counter(), time.process_time()
    run = origan.train(cfg, out=folder / f"{preset}-{seed}")
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    data = build_dataset(cfg.data)
    draw = lambda n, s: run.sample(n, generator=torch.Generator().manual_seed(s))  # noqa: E731
    r = get_metric("modes").compute(torch.empty(0), data, MetricContext(seed=seed, draw=draw), draws=5)
    r["seconds"], r["cpu_seconds"] = seconds, cpu_seconds
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--presets", default="ring8,grid25")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for preset in args.presets.split(","):
            results = []
            for seed in range(args.seeds):
                r = run_seed(preset, seed, Path(tmp))
                results.append(r)
                print(
                    f"{preset} seed {seed}: {r['modes_captured']:.1f}/{r['modes_total']} modes, "
                    f"{100 * (r['high_quality'] or 0):.1f} % high-quality, reverse KL {r['reverse_kl']}, "
                    f"{r['seconds']:.0f} s ({r['cpu_seconds']:.0f} s CPU)",
                    flush=True,
                )
            total = results[0]["modes_total"]
            rows.append(
                (
                    preset,
                    f"origan preset `{preset}`, {args.seeds} seeds",
                    f"{mean_se([r['modes_captured'] for r in results])} / {total}",
                    mean_se([100 * (r["high_quality"] or 0) for r in results]),
                    mean_se([r["reverse_kl"] if r["reverse_kl"] is not None else float("nan") for r in results], 3),
                    f"{sum(r['seconds'] for r in results) / len(results):.0f} s "
                    f"({sum(r['cpu_seconds'] for r in results) / len(results):.0f} s CPU)",
                )
            )
            rows += [(preset, name, f"{modes} / {total}", "", "", "") for name, modes in PUBLISHED[preset]]
    header = ("target", "method", "modes captured", "high-quality %", "reverse KL", "train time per seed")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
