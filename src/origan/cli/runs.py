"""The commands that read a run: `origan sample`, `eval`, `inspect` and `plot`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError
from ._common import command, number

__all__ = ["add_eval", "add_inspect", "add_plot", "add_sample", "cmd_eval", "cmd_inspect", "cmd_plot", "cmd_sample"]


def cmd_sample(args: argparse.Namespace) -> int:
    from ..io.export import check_output, write_samples
    from ..run import load_run

    if args.label is not None and args.per_class is not None:
        raise UserError("--label and --per-class: give one of them")
    run = load_run(args.run)
    n, labels = args.n, args.label
    if args.per_class is not None:
        labels = run.per_class_labels(args.per_class)  # k of each class, in class order (within the byte budget)
        n = len(labels)
    else:
        run.check_request(n, "-n")
    check_output(Path(args.out), run.data_info.kind, n)  # before a label or a sample is drawn
    y, chunks = run.labelled_chunks(n, seed=args.seed, labels=labels)  # drawn as written: memory follows a chunk
    out = write_samples(
        chunks,
        n,
        Path(args.out),
        run.data_info.kind,
        codec=run.data_info.codec,
        labels=y,
        classes=run.classes,
        per_row=args.per_class,
    )
    print(f"wrote {n} samples to {out}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from ..metrics import evaluate, summary_rows

    names = [m.strip() for m in args.metrics.split(",") if m.strip()] if args.metrics else None
    record = evaluate(
        args.run, metrics=names, n_samples=args.n_samples, seed=args.seed, inception_weights=args.inception_weights
    )
    print(
        f"{record['run'] or args.run}: step {record['step']}, data {record['data']}, "
        f"{record['n_samples']} samples, seed {record['seed']}"
    )
    if "classifier" in record:
        print(f"domain classifier: test accuracy {record['classifier']['test_accuracy']:.4f}")
    rows = summary_rows(record)
    w_metric = max([len(r[0]) for r in rows] + [6])
    w_quantity = max([len(r[1]) for r in rows] + [8])
    print(f"{'metric':<{w_metric}}  {'quantity':<{w_quantity}}  value")
    for metric, quantity, value in rows:
        print(f"{metric:<{w_metric}}  {quantity:<{w_quantity}}  {value}")
    if record["run"]:
        print(f"wrote {Path(record['run']) / 'eval.json'} in {record['seconds']['total']:.1f} s")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from ..run import inspect_run

    report = inspect_run(args.run)
    if args.json:
        print(json.dumps(report, indent=2))
        return 1 if report["status"] == "unhealthy" else 0
    print(f"run:        {report['path']}")
    print(
        f"data:       {report['data']}   seed: {report['seed']}   budget: "
        + ", ".join(f"{k}={v}" for k, v in report["budget"].items() if v)
    )
    print(f"steps done: {report['steps_done']}")
    print("checkpoints:" if report["checkpoints"] else "checkpoints: none yet")
    for c in report["checkpoints"]:
        status = "ok (checksum verified)" if c["ok"] else f"TORN: {c['problem']}"
        print(f"  {c['name']:<16} step {c['step'] if c['step'] is not None else '?':>9}  {status}")
    last = report["last_metrics"]
    if last:
        print(
            "last metrics: "
            + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in last.items())
        )
    for problem in report["problems"]:
        print(f"problem: {problem}")
    if report["status"] == "unhealthy":
        print(f"UNHEALTHY: {len(report['problems'])} problem(s); resume falls back to the newest intact checkpoint")
    elif report["status"] == "no checkpoint yet":
        print(f"no checkpoint yet: `origan train --resume {report['path']}` starts the run from step 0 with its config")
    else:
        print("healthy")
    return 1 if report["status"] == "unhealthy" else 0


def cmd_plot(args: argparse.Namespace) -> int:
    from ..io.rundir import RunDir
    from ..plotting import plot_curves

    run = RunDir.open(Path(args.run))
    problems: list[str] = []
    rows = run.read_metrics(problems)
    for problem in problems:
        print(f"origan: skipped a damaged row: {problem}", file=sys.stderr)
    for path in plot_curves(rows, run.plots):
        print(path)
    return 0


def add_sample(sub: Any) -> None:
    """Add ``sample``."""
    p = command(
        sub,
        "sample",
        "draw samples from a trained run",
        "origan sample runs/mnist -n 64 --out grid.png --seed 1",
        "Write N samples; the output path chooses the form: .npy, .npz, .csv, .png (one grid) or a folder of PNGs.\n"
        "A table run's .csv has the original columns, names and types.\n"
        "A conditional run (train.conditional) samples by class: --label C (an index or a class name) or\n"
        "--per-class K; without them the classes follow the training data's. Its samples keep their classes:\n"
        ".npz holds x, y and the class names, .csv a label column, a .png grid shows them in class order\n"
        "(one row per class with --per-class) and a folder has one sub-folder per class; .npy holds x alone.",
    )
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run directory or a checkpoint .json/.safetensors")
    number(p, "-n", bound="samples", default=64, help="number of samples")
    p.add_argument("--out", required=True, help="output path: .npy, .npz, .csv, .png or a folder")
    number(p, "--seed", bound="seed", default=0, help="seed of the noise draw")
    p.add_argument("--label", help="a conditional run: the class of every sample (an index or a class name)")
    number(p, "--per-class", bound="per_class", metavar="K", help="a conditional run: K samples of each class (not -n)")
    p.set_defaults(func=cmd_sample)


def add_eval(sub: Any) -> None:
    """Add ``eval`` (its help lists every registered metric)."""
    import textwrap

    from ..metrics import METRICS

    p = command(
        sub,
        "eval",
        "measure a trained run's samples (offline metrics)",
        "origan eval runs/mnist --metrics parzen,prdc --n-samples 10000 --seed 0",
        "Draw samples from RUN and measure them with every metric that applies to its data (or those\n"
        "named by --metrics); write RUN/eval.json, append RUN/eval-history.jsonl, print a table.\n"
        "Nothing is downloaded. Metrics:\n"
        + "\n".join(
            textwrap.fill(m.description, 100, initial_indent=f"  {m.name:<14}", subsequent_indent=" " * 16)
            for m in METRICS.values()
        ),
    )
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run directory or a checkpoint .json/.safetensors")
    p.add_argument("--metrics", metavar="A,B", help="comma-separated metric names (default: all that apply)")
    number(
        p,
        "--n-samples",
        bound="eval_samples",
        default=10_000,
        help="samples drawn from G (the Parzen protocol uses 10,000)",
    )
    number(p, "--seed", bound="seed", default=0, help="seed of the evaluation noise")
    p.add_argument(
        "--inception-weights",
        metavar="FILE.safetensors",
        help="local FID Inception-v3 weights (safetensors only) to add the Inception FID",
    )
    p.set_defaults(func=cmd_eval)


def add_inspect(sub: Any) -> None:
    """Add ``inspect``."""
    p = command(
        sub,
        "inspect",
        "check a run: config, steps, checkpoint checksums, last metrics",
        "origan inspect runs/mnist",
        "Report a run's health, one line per problem. Exit 0 for a healthy run or one with no checkpoint yet\n"
        "(resume starts it from step 0), 1 when its newest checkpoint is torn or edited, config.json is\n"
        "damaged or metrics.jsonl holds damaged rows.",
    )
    p.add_argument("run", metavar="RUN", help="a run directory")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_inspect)


def add_plot(sub: Any) -> None:
    """Add ``plot``."""
    p = command(sub, "plot", "redraw a run's loss and D-output curves", "origan plot runs/mnist")
    p.add_argument("run", metavar="RUN", help="a run directory")
    p.set_defaults(func=cmd_plot)
