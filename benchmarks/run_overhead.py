"""What a real run adds around the training step: a real ``origan.train`` of a preset (default ``mnist``)
against its bare step, in one process.

    python benchmarks/run_overhead.py                                  # mnist, 2,000 steps, fp32
    python benchmarks/run_overhead.py --steps 4000 --autocast none bf16-matmul
    python benchmarks/run_overhead.py --preset ring8 --set train.ema=0.999       # any preset, any override

The run is the library's own ``origan.train`` (what ``origan train`` calls): its moving average of G, the
divergence guard, metrics rows, TensorBoard (when installed), sample figures and checkpoints at the preset's
intervals, and the loss curves at the end. Each of those is timed where it happens (the functions are
wrapped with a clock, which costs well under a microsecond a call). The bare step is ``Trainer.iteration()``
of the same config with the guard and the moving average off and no hooks: the update of Algorithm 1 alone.
It is timed in rounds before and after the run (a machine that gets busier slows both), median per step,
taking turns in every round with the same step plus the moving average, plus the guard, and plus both.

Printed: each part's time per step and as a share of the bare step; "unattributed" is the loop's time less
the bare steps and the parts (Python around the step, the progress callback, the host's noise); the loop
against the bare step; start-up (config to first step: data, nets, the thread probe) and the end (the last
sample figure, checkpoint and curves). Then the step with each per-step part on against the bare step: a
part's clock sees its own time, not what it does to the next step (the average streams G's weights and
their average through the cache, evicting the step's data where the cache is smaller than the working set),
and the loop against the step with every per-step part on. With the CPU's name and its bf16 flags.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import torch

import origan
from origan.errors import one_line
from origan.io.files import check_writable
from origan.io.rundir import RunDir
from origan.training import Trainer, session, speed
from origan.training import trainer as trainer_module
from origan.training.build import build_state


class Clock:
    """Seconds and calls of each named part."""

    def __init__(self) -> None:
        self.parts: dict[str, list[float]] = {}

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        part = self.parts.setdefault(name, [0.0, 0])

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                part[0] += time.perf_counter() - t
                part[1] += 1

        return timed


@contextlib.contextmanager
def patched(clock: Clock) -> Iterator[None]:
    """Every part of a run wrapped with ``clock`` for the duration of the block."""
    originals: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, attr: str, name: str, factory: bool = False) -> None:
        original = getattr(owner, attr)
        originals.append((owner, attr, original))
        if factory:  # a function that makes the hook: time the hook it returns

            def make(*args: Any, **kwargs: Any) -> Any:
                return clock.wrap(name, original(*args, **kwargs))

            setattr(owner, attr, make)
        else:
            setattr(owner, attr, clock.wrap(name, original))

    from origan.io import tensorboard

    patch(trainer_module, "update_ema", "moving average of G (every G step)")
    patch(Trainer, "_check_finite", "divergence guard: losses and gradients (every step)")
    patch(Trainer, "_weights_finite", "divergence guard: weights (every log row)")
    patch(Trainer, "take_snapshot", "divergence guard: snapshots (start, every checkpoint)")
    patch(Trainer, "log_row", "metrics rows: means of the interval")
    patch(RunDir, "append_metrics", "metrics rows: metrics.jsonl")
    patch(tensorboard.TensorBoardLogger, "write_row", "TensorBoard: scalars")
    patch(tensorboard.TensorBoardLogger, "add_figure", "TensorBoard: sample figures")
    patch(session, "_sample_writer", "sample figures (PNG)", factory=True)
    patch(session, "_checkpoint_writer", "checkpoints", factory=True)
    patch(session, "plot_curves", "loss curves (end)")
    try:
        yield
    finally:
        for owner, attr, original in reversed(originals):
            setattr(owner, attr, original)


class Marks:
    """A callback noting when the loop starts and ends."""

    def __init__(self) -> None:
        self.start = self.end = 0.0
        self.steps = 0

    def on_start(self, trainer: Trainer) -> None:
        self.start, self.steps = time.perf_counter(), trainer.total_steps

    def on_end(self, trainer: Trainer) -> None:
        self.end = time.perf_counter()


# The step with each per-step part of a run turned on, timed interleaved: a part's cost at the step includes what
# its clock cannot see, such as the moving average's pass over G's weights evicting the step's data from the cache.
VARIANTS = {
    "bare": {"train.guard": False, "train.ema": 0.0},
    "with the moving average": {"train.guard": False},
    "with the guard": {"train.ema": 0.0},
    "with both": {},
}


def step_ms(cfg: Any, rounds: int, iters: int) -> dict[str, list[float]]:
    """ms per ``Trainer.iteration()`` of ``cfg`` in each of VARIANTS (no hooks, no files), one value a round;
    the variants take turns within every round."""
    device = torch.device(cfg.train.device if cfg.train.device != "auto" else "cpu")
    trainers = {}
    for name, overrides in VARIANTS.items():
        if not cfg.train.ema and "train.ema" not in overrides:
            continue  # a preset without the average: the bare step and the guard
        variant = cfg.replace(**overrides)
        _, state, _ = build_state(variant, device)
        trainers[name] = Trainer(variant, state)
        if variant.train.guard:
            trainers[name].take_snapshot()  # as a run does before its first step
    out: dict[str, list[float]] = {name: [] for name in trainers}
    for trainer in trainers.values():
        for _ in range(5):
            trainer.iteration()  # warm-up
    for _ in range(rounds):
        for name, trainer in trainers.items():
            t = time.perf_counter()
            for _ in range(iters):
                trainer.iteration()
            out[name].append((time.perf_counter() - t) / iters * 1e3)
    return out


def run_config(args: argparse.Namespace, autocast: str) -> Any:
    """The measured run's config: the preset, then ``--set``, then ``--steps``, ``autocast`` and ``--threads``."""
    extra = [f"train.steps={args.steps}", f"train.autocast={autocast}", f"train.threads={args.threads}"]
    return origan.load_config(args.preset, overrides=[*args.set, *extra])


def measure(cfg: Any, preset: str, folder: Path, rounds: int, iters: int) -> None:
    autocast = cfg.train.autocast  # as asked for ("auto" included): the run's folder is named after it
    cfg = session.resolve_precision(cfg, torch.device("cpu"))
    before = step_ms(cfg, rounds, iters)
    clock, marks = Clock(), Marks()
    t0 = time.perf_counter()
    with patched(clock):
        origan.train(cfg, out=folder / f"{preset}-{autocast}", overwrite=True, callbacks=[marks])
    total = time.perf_counter() - t0
    after = step_ms(cfg, rounds, iters)
    variants = {name: before[name] + after[name] for name in before}
    bare_rounds = variants["bare"]
    bare = statistics.median(bare_rounds)
    loop = marks.end - marks.start
    n = marks.steps
    print(f"\n### `{preset}`, {n} steps, train.autocast = {cfg.train.autocast}, {torch.get_num_threads()} thread(s)\n")
    print("| part | calls | seconds | ms per step | % of the bare step |")
    print("| --- | ---: | ---: | ---: | ---: |")

    def row(name: str, calls: Any, seconds: float) -> None:
        per = seconds / n * 1e3
        print(f"| {name} | {calls} | {seconds:.2f} | {per:.3f} | {100 * per / bare:.1f} % |")

    row("bare step (Algorithm 1's update; median of rounds before and after)", n, bare * n / 1e3)
    in_loop = 0.0
    for name, (seconds, calls) in clock.parts.items():
        if calls:
            row(name, calls, seconds)
            if name != "loss curves (end)":
                in_loop += seconds
    unattributed = loop - bare * n / 1e3 - in_loop
    row("unattributed (Python around the step, progress, noise)", "", unattributed)
    added = loop - bare * n / 1e3
    print(
        f"\nloop: {loop:.1f} s = {loop / n * 1e3:.2f} ms per step against a bare step of {bare:.2f} ms "
        f"(rounds {min(bare_rounds):.2f}-{max(bare_rounds):.2f}): the run adds {100 * added / loop:.1f} % "
        f"of its loop ({added / n * 1e3:.2f} ms a step, {100 * added / (bare * n / 1e3):.1f} % of the bare step)"
    )
    print(
        f"end to end: {total:.1f} s = {total / n * 1e3:.2f} ms per step, {total / (bare * n / 1e3):.2f}x the bare "
        f"steps; start-up {marks.start - t0:.1f} s, after the loop {t0 + total - marks.end:.1f} s"
    )
    print(
        "\nThe step with each per-step part on, the variants interleaved in every round (median of "
        f"{len(bare_rounds)} rounds of {iters}): what a part costs the step, its effect on the cache included\n"
    )
    print("| step | ms per step | added to the bare step |")
    print("| --- | ---: | ---: |")
    for name, times in variants.items():
        ms = statistics.median(times)
        print(f"| {name} | {ms:.2f} | {ms - bare:+.2f} ms ({100 * (ms - bare) / bare:+.1f} %) |")
    full = statistics.median(variants["with both" if "with both" in variants else "with the guard"])
    print(
        f"\nthe loop against the step with every per-step part: {100 * (loop / n * 1e3 - full) / full:+.1f} % "
        "(files, TensorBoard, the progress lines, Python around the step, the host's noise)"
    )


OWN_OPTIONS = {"train.steps": "--steps", "train.autocast": "--autocast", "train.threads": "--threads"}


def fail(message: str) -> NoReturn:
    print(f"run_overhead.py: error: {one_line(message)}", file=sys.stderr)
    raise SystemExit(2)


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage block
        fail(message)


def positive(text: str) -> int:
    """An argparse type: a positive integer (argparse turns the ValueError into a one-line usage error)."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def main() -> None:
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="mnist")
    p.add_argument("--steps", type=positive, default=2000)
    p.add_argument("--autocast", nargs="+", default=["none"], help="train.autocast values (none, bf16-matmul, ...)")
    p.add_argument("--threads", type=positive, default=1, help="train.threads of the run and the bare step")
    p.add_argument("--rounds", type=positive, default=5, help="bare-step rounds before and after the run")
    p.add_argument("--iters", type=positive, default=40, help="iterations per bare-step round")
    p.add_argument("--out", type=Path, default=None, help="where the runs go (default: a temporary folder)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override (repeatable)")
    args = p.parse_args()
    for override in args.set:
        key = override.split("=", 1)[0].strip()
        if key in OWN_OPTIONS:
            fail(f"--set {override!r}: {key} has its own option, {OWN_OPTIONS[key]}")
    try:
        configs = [run_config(args, autocast) for autocast in args.autocast]  # all checked before anything runs
        if args.out is not None:
            check_writable(args.out, "the runs (--out)", folder=True)
        print(f"torch {torch.__version__}, CPU: {speed.cpu_description()}")
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        with tempfile.TemporaryDirectory() as tmp:
            for cfg in configs:
                measure(cfg, args.preset, args.out or Path(tmp), args.rounds, args.iters)
    except origan.UserError as e:
        fail(str(e))
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
