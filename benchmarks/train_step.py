"""Speed of one training iteration: origan's trainer against a textbook eager loop, in one process.

For the paper's MLP (``paper-mnist``: batch 100, also 256 and 1024) and, when it is registered, a
DCGAN-style conv net (``dcgan-digits``, batch 64), one iteration is one D step and one G step (k = 1), or
the paper's simultaneous update. origan's iteration is ``Trainer.iteration()`` exactly as a run calls it.
The textbook loop is written below the way tutorials write it: a DataLoader, separate D passes on real and
fake data, a sigmoid + BCELoss, zero_grad / backward / step. Both are timed interleaved in rounds (so a
noisy machine slows both alike), after warm-up, and reported as medians over >= ``--iters`` iterations.
The fp32 (and bf16) matmul peak is measured in the same rounds with a large square GEMM.

GFLOP per iteration counts every GEMM (and convolution) forward and backward as executed
(torch.utils.flop_counter); "% of peak" is GFLOP/s over the median matmul peak of the same rounds;
"speedup" is textbook time over this row's time. The row "origan GEMMs alone" replays only the GEMMs and
convolutions of origan's iteration (same shapes and layouts): the floor that everything else adds to.
Printed as a Markdown table.

    python benchmarks/train_step.py                          # MLP batch 100/256/1024, both updates, fp32
    python benchmarks/train_step.py --dtype fp32 bf16 --batch 100
    python benchmarks/train_step.py --batch 100 --update simultaneous --profile   # + torch.profiler tables
    python benchmarks/train_step.py --threads-table --load        # train.threads: auto vs 1 vs 2, quiet and loaded

``--threads-table`` times origan's iteration for ``ring8`` and ``paper-mnist`` (``--threads-presets`` adds
``mnist`` and ``mnist-conv``) on the threads that
``train.threads = 0`` chooses at start (``choose_threads``), on 1 and on 2 threads, interleaved; with
``--load`` it does so twice: on the machine as it is, then with a competing busy process pinned to one
core (a pure-Python spin loop that stops itself after ``--load-seconds`` and is killed when the table ends).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

import origan
from origan.models import GENERATORS, build_discriminator, build_generator
from origan.training import Trainer
from origan.training.build import build_state
from origan.training.speed import available_cores, choose_threads, cpu_description, matmul_precision, run_autocast

# fp32; bf16: torch.autocast; bf16-matmul: fp32 tensors, oneDNN's bf16 math mode for matmuls (training/speed.py)
DTYPES = {"fp32": None, "bf16": torch.bfloat16, "bf16-matmul": None}
MODE = {"fp32": "none", "bf16": "bf16", "bf16-matmul": "bf16-matmul"}  # train.autocast


# ---------------------------------------------------------------------------------------------------------
# The textbook loop


class TextbookMaxout(nn.Module):
    """Maxout as usually written: pieces interleaved, ``view(n, units, pieces).max(-1)``."""

    def __init__(self, d_in: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(d_in, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(len(x), self.units, self.pieces).max(-1)[0]


def textbook_mlp_nets(cfg: Any, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """The paper's G and D as a tutorial writes them (nn.Sequential, nn.Dropout, a final Sigmoid)."""
    g, d, width = cfg.generator, cfg.discriminator, 1
    for s in shape:
        width *= s
    layers: list[nn.Module] = []
    prev = cfg.noise.dim
    for h in g.hidden:
        layers += [nn.Linear(prev, h), nn.ReLU()]
        prev = h
    G = nn.Sequential(*layers, nn.Linear(prev, width), nn.Sigmoid(), nn.Unflatten(1, shape))
    blocks: list[nn.Module] = [nn.Flatten(), nn.Dropout(d.dropout_input)]
    prev = width
    for h in d.hidden:
        blocks += [TextbookMaxout(prev, h, d.pieces), nn.Dropout(d.dropout_hidden)]
        prev = h
    D = nn.Sequential(*blocks, nn.Linear(prev, 1), nn.Sigmoid(), nn.Flatten(0))
    return G, D


def textbook_conv_nets(cfg: Any, shape: tuple[int, ...]) -> tuple[nn.Module, nn.Module]:
    """origan's registered conv nets with a final Sigmoid on D (the tutorial's loop, the same layers)."""
    G = build_generator(cfg.generator, shape, True, cfg.noise.dim)
    D = nn.Sequential(build_discriminator(cfg.discriminator, shape, True, cfg.noise.dim), nn.Sigmoid())
    return G, D


class Textbook:
    """The tutorial training loop (k = 1), alternating (fresh noise for G's step) or simultaneous."""

    def __init__(self, cfg: Any, x_train: torch.Tensor, conv: bool, amp: torch.dtype | None) -> None:
        torch.manual_seed(cfg.seed)
        shape = tuple(x_train.shape[1:])
        self.G, self.D = (textbook_conv_nets if conv else textbook_mlp_nets)(cfg, shape)
        self.m, self.noise_dim, self.update = cfg.train.batch_size, cfg.noise.dim, cfg.train.update
        o = cfg.optim_d

        def opt(params: Any) -> torch.optim.Optimizer:
            if o.name == "sgd":
                return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum)
            return torch.optim.Adam(params, lr=o.lr, betas=(o.beta1, o.beta2))

        self.opt_d, self.opt_g = opt(self.D.parameters()), opt(self.G.parameters())
        self.loader = DataLoader(TensorDataset(x_train), batch_size=self.m, shuffle=True, drop_last=True)
        self.batches = iter(self.loader)
        self.bce = nn.BCELoss()
        self.ones, self.zeros = torch.ones(self.m), torch.zeros(self.m)
        self.amp = amp

    def _batch(self) -> torch.Tensor:
        try:
            return next(self.batches)[0]
        except StopIteration:
            self.batches = iter(self.loader)
            return next(self.batches)[0]

    def _noise(self) -> torch.Tensor:
        return (torch.rand(self.m, self.noise_dim) * 2 - 1) * 3**0.5

    def _fwd(self) -> Any:
        return torch.autocast("cpu", dtype=self.amp) if self.amp else torch.autocast("cpu", enabled=False)

    def iteration(self) -> None:
        (self.simultaneous if self.update == "simultaneous" else self.alternating)()

    def alternating(self) -> None:
        x = self._batch()
        self.opt_d.zero_grad()
        with self._fwd():
            loss_real = self.bce(self.D(x).float(), self.ones)
        loss_real.backward()
        with self._fwd():
            fake = self.G(self._noise())
            loss_fake = self.bce(self.D(fake.detach()).float(), self.zeros)
        loss_fake.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        with self._fwd():
            loss_g = self.bce(self.D(self.G(self._noise())).float(), self.ones)  # fresh noise: Algorithm 1
        loss_g.backward()
        self.opt_g.step()

    def simultaneous(self) -> None:
        x = self._batch()
        with self._fwd():
            fake = self.G(self._noise())
            loss_g = self.bce(self.D(fake).float(), self.ones)
        self.opt_g.zero_grad()
        loss_g.backward()  # G's gradient, taken before D moves
        self.opt_d.zero_grad()
        with self._fwd():
            loss_d = 0.5 * (
                self.bce(self.D(x).float(), self.ones) + self.bce(self.D(fake.detach()).float(), self.zeros)
            )
        loss_d.backward()
        self.opt_d.step()
        self.opt_g.step()


# ---------------------------------------------------------------------------------------------------------
# Measurements


def origan_trainer(preset: str, batch: int, update: str, dtype: str, threads: int) -> tuple[Trainer, Any]:
    overrides = [
        f"train.batch_size={batch}",
        f"train.update={update}",
        "train.k=1",
        "train.steps=1000000",
        "train.device=cpu",
        f"train.threads={threads}",
        f"train.autocast={MODE[dtype]}",
    ]
    cfg = origan.load_config(preset, overrides=overrides)
    data, state, _ = build_state(cfg, torch.device("cpu"))
    return Trainer(cfg, state), (cfg, data)


def gemm_peak(dtype: torch.dtype, n: int = 2048, reps: int = 3, mode: str = "none") -> float:
    """GFLOP/s of the best of ``reps`` (n x n) @ (n x n) products (fp32 ones in ``mode``'s matmul precision)."""
    with matmul_precision(mode):
        return _gemm_peak(dtype, n, reps)


def _gemm_peak(dtype: torch.dtype, n: int, reps: int) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    c = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=c)
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


def count_flops(step: Callable[[], None]) -> float:
    with FlopCounterMode(display=False) as counter:
        step()
    return counter.get_total_flops() / 1e9


class _RecordGemms(TorchDispatchMode):
    """Records every GEMM / convolution an iteration executes, with copies of its operands."""

    OPS: ClassVar[set[Any]] = {
        torch.ops.aten.mm.default,
        torch.ops.aten.addmm.default,
        torch.ops.aten.bmm.default,
        torch.ops.aten.convolution.default,
        torch.ops.aten.convolution_backward.default,
    }

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func in self.OPS:
            copy = lambda a: a.detach().clone() if isinstance(a, torch.Tensor) else a  # noqa: E731
            self.calls.append((func, tuple(copy(a) for a in args), {k: copy(v) for k, v in kwargs.items()}))
        return func(*args, **kwargs)


def gemm_floor(step: Callable[[], None], mode: str = "none") -> Callable[[], None]:
    """A function that runs only the GEMMs (and convolutions) of one iteration of ``step``, as executed (in the
    matmul precision of ``train.autocast = mode``)."""
    recorder = _RecordGemms()
    with recorder, matmul_precision(mode):
        step()
    calls = recorder.calls

    def replay() -> None:
        with matmul_precision(mode):  # the precision the iteration ran its GEMMs in
            for func, args, kwargs in calls:
                func(*args, **kwargs)

    return replay


def time_interleaved(
    steps: dict[str, Callable[[], None]],
    iters: int,
    chunk: int,
    peak_dtypes: list[torch.dtype],
    warmup: int,
    mode: str = "none",
) -> tuple[dict[str, list[float]], dict[torch.dtype, list[float]]]:
    """Per-iteration wall times of each step function, interleaved in rounds of ``chunk``; GEMM peaks too."""
    for f in steps.values():
        for _ in range(warmup):
            f()
    times: dict[str, list[float]] = {k: [] for k in steps}
    peaks: dict[torch.dtype, list[float]] = {d: [] for d in peak_dtypes}
    names = list(steps)
    r = 0
    while min(len(v) for v in times.values()) < iters:
        for name in names if r % 2 == 0 else reversed(names):
            f = steps[name]
            for _ in range(chunk):
                t = time.perf_counter()
                f()
                times[name].append(time.perf_counter() - t)
        for d in peak_dtypes:
            peaks[d].append(gemm_peak(d, reps=2, mode=mode))
        r += 1
    return times, peaks


def bench_config(
    args: argparse.Namespace, preset: str, batch: int, update: str, dtype: str, conv: bool
) -> list[dict[str, Any]]:
    trainer, (cfg, data) = origan_trainer(preset, batch, update, dtype, args.threads)
    textbook = Textbook(cfg, data.train, conv, DTYPES[dtype])
    mode = MODE[dtype]

    def textbook_step() -> None:
        with matmul_precision(mode):  # the textbook loop in the same matmul precision as origan's step
            textbook.iteration()

    steps = {"origan": trainer.iteration, "textbook": textbook_step}
    flops = {k: count_flops(f) for k, f in steps.items()}
    steps["origan GEMMs alone"] = gemm_floor(trainer.iteration, mode)  # the floor: origan's GEMMs, nothing else
    flops["origan GEMMs alone"] = flops["origan"]
    peak_dtype = DTYPES[dtype] or torch.float32
    times, peaks = time_interleaved(steps, args.iters, args.chunk, [peak_dtype], args.warmup, mode)
    peak = statistics.median(peaks[peak_dtype])
    rows = []
    for name in steps:
        ms = statistics.median(times[name]) * 1e3
        rows.append(
            {
                "net": "conv" if conv else "mlp",
                "preset": preset,
                "batch": batch,
                "update": update,
                "dtype": dtype,
                "impl": name,
                "ms": ms,
                "img_s": batch / ms * 1e3,
                "gflop": flops[name],
                "gflops": flops[name] / ms * 1e3,
                "peak": peak,
                "peak_max": max(peaks[peak_dtype]),
                "n": len(times[name]),
            }
        )
    base = next(r["ms"] for r in rows if r["impl"] == "textbook")
    for row in rows:
        row["speedup"] = base / row["ms"]
    if args.profile:
        profile(trainer.iteration, f"origan {preset} batch {batch} {update} {dtype}", args.profile_rows)
        profile(textbook.iteration, f"textbook {preset} batch {batch} {update} {dtype}", args.profile_rows)
    return rows


def profile(step: Callable[[], None], title: str, rows: int) -> None:
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    for _ in range(5):
        step()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(30):
            step()
    print(f"\n### profile: {title} (30 iterations)\n")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=48))


# ---------------------------------------------------------------------------------------------------------
# train.threads: the automatic choice against 1 and 2 threads, on a quiet and on a loaded machine

BUSY_LOOP = (
    "import os, sys, time\nos.sched_setaffinity(0, {int(sys.argv[1])})\n"
    "end = time.time() + float(sys.argv[2])\nwhile time.time() < end:\n    pass\n"
)


@contextlib.contextmanager
def busy_core(core: int, seconds: float) -> Iterator[None]:
    """A competing process spinning on ``core`` for at most ``seconds`` (it stops itself; killed on exit)."""
    proc = subprocess.Popen([sys.executable, "-c", BUSY_LOOP, str(core), str(seconds)])
    try:
        time.sleep(0.5)  # let it start spinning
        yield
    finally:
        proc.kill()
        proc.wait()


def threads_rows(args: argparse.Namespace, preset: str, load: str) -> list[dict[str, Any]]:
    """ms per iteration of ``preset``'s trainer on the auto-chosen threads, 1 and 2, interleaved in rounds."""
    overrides = ["train.device=cpu", "train.threads=1", "train.steps=1000000"]
    cfg = origan.load_config(preset, overrides=overrides)
    data, state, _ = build_state(cfg, torch.device("cpu"))
    trainer = Trainer(cfg, state)
    t0 = time.perf_counter()
    auto = choose_threads(
        dataclasses.replace(cfg.train, threads=0),
        state.gan,
        (cfg.train.batch_size, *data.shape),
        run_autocast(cfg, state.gan.device),
    )
    choose_ms = (time.perf_counter() - t0) * 1e3
    settings = {f"auto ({auto})": auto, "1": 1, "2": 2}

    def on(n: int) -> Callable[[], None]:
        def step() -> None:
            torch.set_num_threads(n)
            trainer.iteration()

        return step

    steps = {name: on(n) for name, n in settings.items()}
    times, _ = time_interleaved(steps, args.threads_iters[preset], max(1, args.threads_iters[preset] // 5), [], 3)
    return [
        {
            "preset": preset,
            "load": load,
            "threads": name,
            "ms": statistics.median(times[name]) * 1e3,
            "img_s": cfg.train.batch_size / statistics.median(times[name]),
            "choose_ms": choose_ms,
            "n": len(times[name]),
        }
        for name in settings
    ]


THREADS_ITERS = {"ring8": 200, "paper-mnist": 20, "mnist": 20, "mnist-conv": 10}  # timed iterations per setting
THREADS_PRESETS = tuple(THREADS_ITERS)


def _threads_presets(text: str) -> tuple[str, ...]:
    """``--threads-presets``: a comma-separated list of THREADS_PRESETS."""
    names = tuple(n.strip() for n in text.split(","))
    if not all(n in THREADS_PRESETS for n in names) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"expected distinct names of {', '.join(THREADS_PRESETS)}, got {text!r}")
    return names


def threads_table(args: argparse.Namespace) -> None:
    rows = []
    loads = ["as is", "1 core busy"] if args.load else ["as is"]
    for load in loads:
        for preset in args.threads_presets:
            if load == "as is":
                rows += threads_rows(args, preset, load)
            else:
                with busy_core(available_cores() - 1, args.load_seconds):
                    rows += threads_rows(args, preset, load)
    print("\n| preset | machine | threads | ms/iter | img/s | vs 1 thread | choice took |")
    print("|---|---|---|---:|---:|---:|---:|")
    for r in rows:
        one = next(x["ms"] for x in rows if (x["preset"], x["load"], x["threads"]) == (r["preset"], r["load"], "1"))
        print(
            f"| {r['preset']} | {r['load']} | {r['threads']} | {r['ms']:.2f} | {r['img_s']:.0f} | "
            f"{one / r['ms']:.2f}x | {r['choose_ms']:.0f} ms |"
        )


def print_table(rows: list[dict[str, Any]]) -> None:
    columns = [
        "net",
        "batch",
        "update",
        "dtype",
        "impl",
        "ms/iter",
        "img/s",
        "GFLOP/iter",
        "GFLOP/s",
        "peak GFLOP/s",
        "% of peak",
        "speedup vs textbook",
    ]
    print("\n| " + " | ".join(columns) + " |")
    print("|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [
            r["net"],
            r["batch"],
            r["update"],
            r["dtype"],
            r["impl"],
            f"{r['ms']:.2f}",
            f"{r['img_s']:.0f}",
            f"{r['gflop']:.3f}",
            f"{r['gflops']:.0f}",
            f"{r['peak']:.0f}",
            f"{100 * r['gflops'] / r['peak']:.0f} %",
            f"{r['speedup']:.2f}x",
        ]
        print("| " + " | ".join(str(c) for c in cells) + " |")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, nargs="+", default=[100, 256, 1024], help="MLP batch sizes")
    p.add_argument(
        "--update", nargs="+", default=["simultaneous", "alternating"], choices=["simultaneous", "alternating"]
    )
    p.add_argument("--dtype", nargs="+", default=["fp32"], choices=list(DTYPES))
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--iters", type=int, default=100, help="timed iterations per implementation (at least)")
    p.add_argument("--chunk", type=int, default=10, help="iterations per implementation per round")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--no-conv", action="store_true", help="skip the conv net")
    p.add_argument("--profile", action="store_true", help="print torch.profiler tables for every configuration")
    p.add_argument("--profile-rows", type=int, default=25)
    p.add_argument("--threads-table", action="store_true", help="only the train.threads table (auto vs 1 vs 2)")
    p.add_argument(
        "--threads-presets",
        type=_threads_presets,
        default=("ring8", "paper-mnist"),
        help="the presets of the threads table, comma-separated: ring8, paper-mnist, mnist, mnist-conv",
    )
    p.add_argument("--load", action="store_true", help="the threads table also with one core kept busy")
    p.add_argument("--load-seconds", type=float, default=300, help="the busy process stops itself after this")
    args = p.parse_args()
    args.threads_iters = THREADS_ITERS
    if args.threads_table:
        load0 = os.getloadavg()
        print(f"torch {torch.__version__}, {available_cores()} cores; load average at start {load0[0]:.2f}")
        threads_table(args)
        print(f"load average at end {os.getloadavg()[0]:.2f}")
        return
    torch.set_num_threads(args.threads)
    load0 = os.getloadavg()
    print(
        f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; load average at start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}"
    )
    rows = []
    for dtype in args.dtype:
        for batch in args.batch:
            for update in args.update:
                rows += bench_config(args, "paper-mnist", batch, update, dtype, conv=False)
        if not args.no_conv and "dcgan" in GENERATORS:
            rows += bench_config(args, "dcgan-digits", 64, "alternating", dtype, conv=True)
    if not args.no_conv and "dcgan" not in GENERATORS:
        print("conv net: no 'dcgan' generator is registered yet; skipped")
    print_table(rows)
    for dtype in args.dtype:
        meds = [r["peak"] for r in rows if r["dtype"] == dtype]
        best = max(r["peak_max"] for r in rows if r["dtype"] == dtype)
        print(
            f"matmul peak ({dtype}, 2048^3 GEMM, {args.threads} threads): per-configuration medians "
            f"{min(meds):.0f}-{max(meds):.0f} GFLOP/s (each row uses its own), best single product {best:.0f}"
        )
    load1 = os.getloadavg()
    print(f"load average at end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    print(f"CPU: {cpu_description()}")
    ms = {(r["net"], r["batch"], r["update"], r["dtype"], r["impl"]): r["ms"] for r in rows}
    for (net, batch, update, dtype, impl), t in ms.items():
        if impl == "origan":
            floor = ms[(net, batch, update, dtype, "origan GEMMs alone")]
            line = f"{net} batch {batch} {update} {dtype}: the step at {100 * floor / t:.0f} % of its GEMM floor"
            fp32 = ms.get((net, batch, update, "fp32", "origan"))
            if dtype != "fp32" and fp32:
                line += f", {fp32 / t:.2f}x the fp32 step"
            print(line)
    for r in rows:
        if (r["net"], r["batch"], r["update"], r["dtype"], r["impl"]) == ("mlp", 100, "simultaneous", "fp32", "origan"):
            frac = r["gflops"] / r["peak"]
            print(
                f"targets (paper MLP, batch 100, fp32, simultaneous): {100 * frac:.0f} % of peak (>= 60 %: "
                f"{'met' if frac >= 0.6 else 'missed'}), {r['speedup']:.2f}x textbook (>= 2x: "
                f"{'met' if r['speedup'] >= 2 else 'missed'})"
            )


if __name__ == "__main__":
    main()
