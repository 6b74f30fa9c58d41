"""How well the MNIST presets' samples stand in for real digits: train each preset (several seeds), evaluate
it with ``origan eval``'s metrics on MNIST 5k's own held-out split, and print one table.

    python benchmarks/mnist_quality.py                                  # the five MNIST presets x 3 seeds
    python benchmarks/mnist_quality.py --presets mnist --seeds 1 --out bench-runs   # keeps the runs
    python benchmarks/mnist_quality.py --presets mnist,mnist-cond --set train.autocast=bf16-matmul   # bf16 matmuls

Every preset trains at its full preset budget (``paper-mnist``: the paper's 20,000 steps of SGD). Columns,
mean ± standard error over seeds:

- Parzen: the paper's Table-1 log-likelihood (nats) of the 500 test digits under a Parzen window on 10,000
  samples, beside the same protocol with the training set itself and with its k-means centroids as samples;
- precision / recall (k=3), density / coverage (k=5) and the Fréchet distance, in the domain classifier's
  features, beside the Fréchet distance of the held-out test split (the floor set by finite samples);
- classes seen of 10 and the reverse KL of the class histogram;
- memorisation: the share of samples closer to a training digit (pixels) than the 5th-percentile held-out
  digit (fresh data: 0.05);
- train-on-synthetic: the domain classifier trained on as many labelled samples as there are training digits,
  tested on the real test split, beside the same classifier trained on the real digits (conditional runs),
  and the label accuracy: the share of samples the real-data classifier puts in the requested class;
- training time (wall seconds, and the threads the run chose).

A finished run found in ``--out`` (its ``eval.json`` at the preset's last step) is read, not trained again, so
an interrupted benchmark continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

import origan
from origan.metrics import evaluate

PRESETS = ("mnist", "mnist-cond", "paper-mnist", "mnist-conv", "mnist-conv-cond")


def _get(record: dict[str, Any], *keys: str) -> float | None:
    node: Any = record
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return None
        node = node[k]
    return float(node) if isinstance(node, (int, float)) else None


def run_tag(sets: Sequence[str]) -> str:
    """The part of a run folder's name that ``--set`` overrides give (``train.steps=10`` -> ``-steps-10``)."""
    return "".join(f"-{s.split('.')[-1].replace('=', '-')}" for s in sets)


def measure(preset: str, seed: int, folder: Path, sets: tuple[str, ...] = (), tag: str | None = None) -> dict[str, Any]:
    """Train (unless done) and evaluate one seed of ``preset`` with the ``--set`` overrides ``sets``; the numbers
    the table shows. The overrides name the run folder (unless ``tag`` does), so variants of a preset keep apart."""
    if tag is None:
        tag = run_tag(sets)
    out = folder / f"{preset}{tag}-seed{seed}"
    cfg = origan.load_config(preset, overrides=[f"seed={seed}", *sets])
    done = out / "eval.json"
    timing = out / "benchmark-timing.json"
    if done.exists() and timing.exists() and json.loads(done.read_text())["step"] == cfg.train.steps:
        record, t = json.loads(done.read_text()), json.loads(timing.read_text())
    else:
        t0 = time.perf_counter()
        run = origan.train(cfg, out=out, overwrite=out.exists())
        t = {"seconds": time.perf_counter() - t0, "threads": torch.get_num_threads(), "steps": run.step}
        timing.write_text(json.dumps(t))
        record = evaluate(out, n_samples=10_000, seed=0)
    m = record["metrics"]
    return {
        "parzen": _get(m, "parzen", "model", "log_likelihood"),
        "parzen_train": _get(m, "parzen", "baseline_train_set", "log_likelihood"),
        "parzen_kmeans": _get(m, "parzen", "baseline_kmeans", "log_likelihood"),
        **{k: _get(m, "prdc", k) for k in ("precision", "recall", "density", "coverage")},
        "fd": _get(m, "frechet", "distance"),
        "fd_floor": _get(m, "frechet", "held_out_baseline"),
        "classes": _get(m, "classes", "classes_seen"),
        "class_kl": _get(m, "classes", "reverse_kl"),
        "memorised": _get(m, "novelty", "share_closer_than_p05"),
        "tstr": _get(m, "tstr", "synthetic"),
        "trtr": _get(m, "tstr", "real"),
        "label_accuracy": _get(m, "label_accuracy", "accuracy"),
        "seconds": t["seconds"],
        "threads": t["threads"],
    }


def mean_se(values: list[float | None], digits: int) -> str:
    v = [x for x in values if x is not None]
    if not v:
        return "–"
    mean = sum(v) / len(v)
    if len(v) == 1:
        return f"{mean:.{digits}f}"
    se = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1) / len(v))
    return f"{mean:.{digits}f} ± {se:.{digits}f}"


COLUMNS = (  # (header, key, digits)
    ("Parzen (nats)", "parzen", 0),
    ("train-set baseline", "parzen_train", 0),
    ("k-means baseline", "parzen_kmeans", 0),
    ("precision", "precision", 2),
    ("recall", "recall", 2),
    ("density", "density", 2),
    ("coverage", "coverage", 2),
    ("Fréchet", "fd", 1),
    ("held-out floor", "fd_floor", 1),
    ("classes", "classes", 1),
    ("memorised", "memorised", 3),
    ("train on synthetic", "tstr", 3),
    ("train on real", "trtr", 3),
    ("label accuracy", "label_accuracy", 3),
    ("train time (s)", "seconds", 0),
)


def _count(least: int) -> Any:
    """An argparse type: an integer of at least ``least``."""

    def count(text: str) -> int:
        value = int(text)
        if value < least:
            raise ValueError(text)
        return value

    count.__name__ = f"integer >= {least}"  # argparse names the type in its error
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", default=",".join(PRESETS))
    parser.add_argument("--seeds", type=_count(1), default=3)
    parser.add_argument("--out", type=Path, default=Path("bench-runs/mnist-quality"), help="where the runs go")
    parser.add_argument("--seed0", type=_count(0), default=0, help="the first seed (seeds seed0 .. seed0 + seeds - 1)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a config override for every preset"
    )
    args = parser.parse_args()
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    try:  # every preset and override checked before the first run trains
        for preset in presets:
            origan.load_config(preset, overrides=[f"seed={args.seed0 + args.seeds - 1}", *args.set])
    except origan.UserError as e:
        raise SystemExit(f"mnist_quality.py: error: {e}") from None
    results: dict[str, list[dict[str, Any]]] = {}
    for preset in presets:
        for seed in range(args.seed0, args.seed0 + args.seeds):
            r = measure(preset, seed, args.out, tuple(args.set))
            results.setdefault(preset, []).append(r)
            print(f"{preset} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in r.items() if v is not None))
    print_table(results, args.set)


def print_table(results: dict[str, list[dict[str, Any]]], sets: list[str], columns: tuple = COLUMNS) -> None:
    """The Markdown table of ``results`` (preset -> one row of numbers per seed): mean ± standard error."""
    print()
    print("| preset | " + " | ".join(h for h, _, _ in columns) + " |")
    print("| --- " * (len(columns) + 1) + "|")
    for preset, rows in results.items():
        cells = [mean_se([r[key] for r in rows], digits) for _, key, digits in columns]
        label = f"`{preset}`" + "".join(f" `{s}`" for s in sets)
        print(f"| {label} ({len(rows)} seeds) | " + " | ".join(cells) + " |")
    print(f"\nthreads per run: {sorted({r['threads'] for rows in results.values() for r in rows})}")


if __name__ == "__main__":
    main()
