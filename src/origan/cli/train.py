"""`origan train` (a new run, a resume, --dry-run) and `origan presets`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import UserError
from ._common import Progress, command

__all__ = ["add_presets", "add_train", "cmd_presets", "cmd_train", "config_from_args"]


def cmd_presets(args: argparse.Namespace) -> int:
    from ..config import PRESETS

    width = max(map(len, PRESETS))
    for name, (description, _) in PRESETS.items():
        print(f"{name:<{width}}  {description}")
    return 0


def config_from_args(args: argparse.Namespace) -> Any:
    from ..config import load_config
    from ..training.build import check_registered

    if args.preset is None and args.config is None:
        raise UserError("train: give --preset NAME and/or --config FILE.toml (see `origan presets`)")
    if args.config is not None and Path(args.config).is_dir():
        raise UserError(f"{args.config}: a folder; --config expects a TOML file")
    return check_registered(load_config(args.preset, args.config, args.set or []))


def cmd_train(args: argparse.Namespace) -> int:
    from .. import run as run_api
    from ..config import parse_set, to_dict
    from ..training import TrainingDiverged, TrainingInterrupted
    from ..training.distributed import is_main_process

    main_process = is_main_process()  # under torchrun only rank 0 prints
    progress = Progress(args.quiet or not main_process)
    try:
        if args.resume:
            if args.preset or args.config or args.out:
                raise UserError("train --resume RUN: the run keeps its own config; drop --preset/--config/--out")
            overrides = dict(parse_set(s) for s in args.set or [])
            result = run_api.resume(args.resume, overrides=overrides, callbacks=[progress])
        else:
            cfg = config_from_args(args)
            if args.dry_run:
                print(json.dumps(to_dict(cfg), indent=2))
                return 0
            result = run_api.train(cfg, args.out, overwrite=args.overwrite, callbacks=[progress])
    except TrainingInterrupted as e:
        where = args.resume or args.out or "RUN"
        if main_process:
            print(
                f"origan: interrupted at step {e.step}; checkpoint saved. Resume with: origan train --resume {where}",
                file=sys.stderr,
            )
        return e.exit_code
    except TrainingDiverged as e:
        if main_process:
            print(f"origan: {e}", file=sys.stderr)
        return TrainingDiverged.exit_code
    if not main_process:
        return 0
    if result.path is None:  # train and resume always return the run they wrote
        raise RuntimeError("the finished run has no run directory")
    rows = [r for r in result.metrics() if "d_loss" in r]
    last = rows[-1] if rows else {}
    print(f"run directory: {result.path}")
    if last:
        print(
            f"final step {last['step']}: D(x)={last['d_real']:.3f} D(G(z))={last['d_fake']:.3f} V={last['value']:.4f}"
        )
    samples = sorted((result.path / "samples").glob("*.png"))
    if samples:
        print(f"samples: {samples[-1]}")
    print(f"plots: {result.path / 'plots'}")
    return 0


def add_train(sub: Any) -> None:
    """Add ``train``."""
    p = command(
        sub,
        "train",
        "train a GAN (or resume one)",
        "origan train --preset paper-mnist --set train.steps=2000 --out runs/mnist",
        "Train a GAN from a preset, a TOML file and --set overrides (applied in that order).\n"
        "Setting one of train.steps / train.epochs clears the other.",
    )
    p.add_argument("--preset", help="a named config (see `origan presets`)")
    p.add_argument("--config", metavar="FILE.toml", help="a TOML file with config sections")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override one key, e.g. train.k=2 (repeatable)")
    p.add_argument("--out", help="run directory (default: runs/NNNNN-<data>)")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config as JSON and exit")
    p.add_argument("--resume", metavar="RUN", help="continue RUN from its newest intact checkpoint")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)


def add_presets(sub: Any) -> None:
    """Add ``presets``."""
    p = command(sub, "presets", "list the named configs", "origan presets")
    p.set_defaults(func=cmd_presets)
