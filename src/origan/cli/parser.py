"""The command line: parse, build a config, call one library function. A UserError is one line, exit 2.

One module per command family (train.py, runs.py, theory.py, latent.py) adds its subcommands and their
handlers; each handler imports the library when it runs, so `--help` stays fast. No library code here."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence

from ..errors import UserError, one_line
from . import latent, runs, theory, train
from ._common import PROG, Formatter, Parser, check_bounds

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    parser = Parser(
        prog=PROG,
        formatter_class=Formatter,
        description="origan: the original GAN (Goodfellow et al. 2014), faithful and checked against its theory.",
        epilog="example:\n  origan train --preset ring8 --out runs/ring8\n"
        "  origan sample runs/ring8 -n 1000 --out ring.csv",
    )
    parser.add_argument("--version", action="version", version=f"origan {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)

    train.add_train(sub)
    runs.add_sample(sub)
    runs.add_eval(sub)
    train.add_presets(sub)
    runs.add_inspect(sub)
    theory.add_theory(sub)
    runs.add_plot(sub)
    latent.add_interpolate(sub)
    latent.add_encode(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="origan: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        check_bounds(args)
        return func(args)
    except UserError as e:
        from ..training.distributed import is_main_process

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
