"""What every command module of the CLI shares: the parser's error form, bounded numeric options, progress."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from ..errors import one_line

__all__ = ["PROG", "Formatter", "Parser", "Progress", "check_bounds", "command", "number"]

PROG = "origan"


class Formatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    pass


class Parser(argparse.ArgumentParser):
    """argparse with the project's error form: one line on stderr (no usage block), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {self.prog.removeprefix(PROG + ' ')}: {one_line(message)} (see --help)\n")


def command(sub: Any, name: str, help: str, example: str, description: str = "") -> argparse.ArgumentParser:
    return sub.add_parser(
        name, help=help, description=(description or help), epilog=f"example:\n  {example}", formatter_class=Formatter
    )


def number(p: argparse.ArgumentParser, *flags: str, bound: str, **kwargs: Any) -> None:
    """Add a numeric option checked against ``origan.limits.BOUNDS[bound]`` before the command does any work
    (an int option unless the bound is for floats)."""
    from ..limits import BOUNDS

    action = p.add_argument(*flags, type=int if BOUNDS[bound].integer else float, **kwargs)
    bounded = dict(p.get_default("bounded") or {})
    bounded[action.dest] = (flags[0], bound)
    p.set_defaults(bounded=bounded)


def check_bounds(args: argparse.Namespace) -> None:
    """Every numeric option of the chosen command within its bounds (OptionError naming the option)."""
    from ..limits import BOUNDS, check_float, check_int

    for dest, (flag, bound) in (getattr(args, "bounded", None) or {}).items():
        value = getattr(args, dest)
        if value is not None:
            (check_int if BOUNDS[bound].integer else check_float)(value, flag, bound)


class Progress:
    """A tqdm bar on a terminal, plain lines otherwise, nothing with --quiet."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.bar: Any = None

    def on_start(self, trainer: Any) -> None:
        if self.quiet:
            return
        if trainer.precision != "none":  # what train.autocast (auto included) chose for this run
            from ..training.speed import describe_precision

            what = describe_precision(trainer.precision)
            print(f"precision: train.autocast = {trainer.precision} ({what})", flush=True)
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
