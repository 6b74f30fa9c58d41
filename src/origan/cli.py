"""The command line: parse, build a config, call one library function. A UserError is one line, exit 2."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from .errors import UserError, one_line

__all__ = ["main"]

PROG = "origan"


class _Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse with the project's error form: one line on stderr (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {self.prog.removeprefix(PROG + ' ')}: {one_line(message)} (see --help)\n")


def _command(sub: Any, name: str, help: str, example: str, description: str = "") -> argparse.ArgumentParser:
    return sub.add_parser(
        name, help=help, description=(description or help), epilog=f"example:\n  {example}", formatter_class=_Formatter
    )


def _number(p: argparse.ArgumentParser, *flags: str, bound: str, **kwargs: Any) -> None:
    """Add a numeric option checked against ``origan.limits.BOUNDS[bound]`` before the command does any work
    (an int option unless the bound is for floats)."""
    from .limits import BOUNDS

    action = p.add_argument(*flags, type=int if BOUNDS[bound].integer else float, **kwargs)
    bounded = dict(p.get_default("bounded") or {})
    bounded[action.dest] = (flags[0], bound)
    p.set_defaults(bounded=bounded)


def _check_bounds(args: argparse.Namespace) -> None:
    """Every numeric option of the chosen command within its bounds (OptionError naming the option)."""
    from .limits import BOUNDS, check_float, check_int

    for dest, (flag, bound) in (getattr(args, "bounded", None) or {}).items():
        value = getattr(args, dest)
        if value is not None:
            (check_int if BOUNDS[bound].integer else check_float)(value, flag, bound)


# ---------------------------------------------------------------------------------------------------------
# Progress display (the library logs; showing progress is the CLI's business)


class Progress:
    """A tqdm bar on a terminal, plain lines otherwise, nothing with --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None

    def on_start(self, trainer: Any) -> None:
        if self.quiet:
            return
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=trainer.total_steps, initial=trainer.state.step, unit="step", dynamic_ncols=True)
        else:
            print(f"training {trainer.total_steps} steps from step {trainer.state.step}", flush=True)

    def on_log(self, trainer: Any, row: dict[str, Any]) -> None:
        if self.quiet:
            return
        stats = (
            f"d_loss={row['d_loss']:.4f} g_loss={row['g_loss']:.4f} "
            f"D(x)={row['d_real']:.3f} D(G(z))={row['d_fake']:.3f}"
        )
        if self.bar is not None:
            self.bar.update(row["step"] - self.bar.n)
            self.bar.set_postfix_str(stats, refresh=True)
        else:
            print(f"step {row['step']:>7} epoch {row['epoch']:8.2f}  {stats}  {row['img_per_s']:.0f} img/s", flush=True)

    def on_end(self, trainer: Any) -> None:
        if self.bar is not None:
            self.bar.close()


# ---------------------------------------------------------------------------------------------------------
# Commands


def cmd_presets(args: argparse.Namespace) -> int:
    from .config import PRESETS

    width = max(map(len, PRESETS))
    for name, (description, _) in PRESETS.items():
        print(f"{name:<{width}}  {description}")
    return 0


def _config_from_args(args: argparse.Namespace) -> Any:
    from .config import load_config
    from .names import check_registered

    if args.preset is None and args.config is None:
        raise UserError("train: give --preset NAME and/or --config FILE.toml (see `origan presets`)")
    if args.config is not None and Path(args.config).is_dir():
        raise UserError(f"{args.config}: a folder; --config expects a TOML file")
    return check_registered(load_config(args.preset, args.config, args.set or []))


def cmd_train(args: argparse.Namespace) -> int:
    from . import run as run_api
    from .config import parse_set, to_dict
    from .training import TrainingDiverged, TrainingInterrupted
    from .training.distributed import is_main_process

    main_process = is_main_process()  # under torchrun only rank 0 prints
    progress = Progress(args.quiet or not main_process)
    try:
        if args.resume:
            if args.preset or args.config or args.out:
                raise UserError("train --resume RUN: the run keeps its own config; drop --preset/--config/--out")
            overrides = dict(parse_set(s) for s in args.set or [])
            result = run_api.resume(args.resume, overrides=overrides, callbacks=[progress])
        else:
            cfg = _config_from_args(args)
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


def cmd_sample(args: argparse.Namespace) -> int:
    from .io.export import check_output, write_samples
    from .run import load_run

    if args.label is not None and args.per_class is not None:
        raise UserError("--label and --per-class: give one of them")
    run = load_run(args.run)
    n, labels = args.n, args.label
    if args.per_class is not None:
        labels = run.per_class_labels(args.per_class)  # k of each class, in class order (within the byte budget)
        n = len(labels)
    else:
        run.check_request(n, "-n")
    check_output(Path(args.out), run.data_info["kind"], n)  # before a label or a sample is drawn
    y, chunks = run.labelled_chunks(n, seed=args.seed, labels=labels)  # drawn as written: memory follows a chunk
    out = write_samples(
        chunks,
        n,
        Path(args.out),
        run.data_info["kind"],
        codec=run.data_info.get("codec"),
        labels=y,
        classes=run.classes,
        per_row=args.per_class,
    )
    print(f"wrote {n} samples to {out}")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    from .run import inspect_run

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
    from .io.rundir import RunDir
    from .plotting import plot_curves

    run = RunDir.open(Path(args.run))
    problems: list[str] = []
    rows = run.read_metrics(problems)
    for problem in problems:
        print(f"origan: skipped a damaged row: {problem}", file=sys.stderr)
    for path in plot_curves(rows, run.plots):
        print(path)
    return 0


def cmd_theory(args: argparse.Namespace) -> int:
    from .theory import run_lab

    def show(result: Any) -> None:
        failed = [c for c in result.claims if not c.passed]
        print(
            f"{result.name:<12} {'pass' if result.passed else 'FAIL'}  "
            f"{len(result.claims) - len(failed)}/{len(result.claims)} "
            f"claims  {result.seconds:.1f} s",
            flush=True,
        )
        for c in failed:
            print(f"  failed: {c.statement}: {c.measured:.4g} (target {c.relation} {c.tolerance:.4g})", flush=True)

    report = run_lab([args.experiment], Path(args.out), seed=args.seed, quick=args.quick, on_result=show)
    print(f"report: {report.out / 'report.md'} ({report.seconds:.1f} s)")
    return 0 if report.passed else 1


def cmd_eval(args: argparse.Namespace) -> int:
    from .metrics import evaluate, summary_rows

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


# ---------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    from .version import __version__

    parser = _Parser(
        prog=PROG,
        formatter_class=_Formatter,
        description="origan: the original GAN (Goodfellow et al. 2014), faithful and checked against its theory.",
        epilog="example:\n  origan train --preset ring8 --out runs/ring8\n"
        "  origan sample runs/ring8 -n 1000 --out ring.csv",
    )
    parser.add_argument("--version", action="version", version=f"origan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    p = _command(
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

    p = _command(
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
    _number(p, "-n", bound="samples", default=64, help="number of samples")
    p.add_argument("--out", required=True, help="output path: .npy, .npz, .csv, .png or a folder")
    _number(p, "--seed", bound="seed", default=0, help="seed of the noise draw")
    p.add_argument("--label", help="a conditional run: the class of every sample (an index or a class name)")
    _number(
        p, "--per-class", bound="per_class", metavar="K", help="a conditional run: K samples of each class (not -n)"
    )
    p.set_defaults(func=cmd_sample)

    import textwrap

    from .metrics import METRICS

    p = _command(
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
    _number(
        p,
        "--n-samples",
        bound="eval_samples",
        default=10_000,
        help="samples drawn from G (the Parzen protocol uses 10,000)",
    )
    _number(p, "--seed", bound="seed", default=0, help="seed of the evaluation noise")
    p.add_argument(
        "--inception-weights",
        metavar="FILE.safetensors",
        help="local FID Inception-v3 weights (safetensors only) to add the Inception FID",
    )
    p.set_defaults(func=cmd_eval)

    p = _command(sub, "presets", "list the named configs", "origan presets")
    p.set_defaults(func=cmd_presets)

    p = _command(
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

    from .theory.lab import EXPERIMENTS, experiment_names

    names = experiment_names()  # registers them
    p = _command(
        sub,
        "theory",
        "check the paper's Section 4 with exact numbers (the theory lab)",
        "origan theory identity --out lab/identity\n  origan theory all --out lab",
        "Run experiments that check the paper's theory with exact densities (flows and toy targets) and\n"
        "write report.json (every number, each claim's tolerance and pass/fail), report.md and figures.\n"
        "Exit code 0 when every claim passes, 1 when one fails.\n\nexperiments:\n"
        + "\n".join(f"  {name:<12} {title}" for name, (title, _) in EXPERIMENTS.items()),
    )
    p.add_argument("experiment", metavar="NAME", choices=[*names, "all"], help=f"one of {', '.join(names)}, or all")
    p.add_argument("--out", required=True, help="output folder for the reports and figures")
    _number(p, "--seed", bound="seed", default=0, help="seed of every random draw")
    p.add_argument(
        "--quick",
        action="store_true",
        help="the test suite's reduced budget (looser tolerances where training is involved)",
    )
    p.set_defaults(func=cmd_theory)

    p = _command(sub, "plot", "redraw a run's loss and D-output curves", "origan plot runs/mnist")
    p.add_argument("run", metavar="RUN", help="a run directory")
    p.set_defaults(func=cmd_plot)

    from .cli_latent import add_latent_commands

    add_latent_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="origan: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        _check_bounds(args)
        return func(args)
    except UserError as e:
        from .training.distributed import is_main_process

        if is_main_process():  # under torchrun every rank raises it; rank 0 says it
            print(f"origan: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("origan: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout went away (`origan ... | head`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141  # 128 + SIGPIPE
    except OSError as e:  # a path the system refuses (a name too long, no permission, a full disk): one line
        where = f"{e.filename}: " if e.filename is not None else ""
        print(f"origan: error: {one_line(where + (e.strerror or str(e)))}", file=sys.stderr)
        return 2
