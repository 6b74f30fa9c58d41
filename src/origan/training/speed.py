"""The speed options of ``[train]``: bf16 autocast, channels_last, torch.compile. Defaults change nothing.

- ``autocast = "bf16"``: G's and D's forward passes run under ``torch.autocast`` in bfloat16 (matmuls and
  convolutions in bf16, on CPUs with AMX/AVX512-BF16 and on GPUs); weights, gradients, optimizer states and
  the losses (computed on fp32 logits) stay fp32. The trajectory differs from fp32 by bf16 rounding.
- ``autocast = "bf16-matmul"`` (CPU): every tensor stays fp32; oneDNN computes the matmuls and convolutions
  of the forward and backward passes from bf16-rounded inputs with fp32 sums (its ``fp32_precision = bf16``
  math mode, :func:`matmul_precision`) where the CPU has AMX; on other AVX-512 CPUs it runs them in fp32
  (:func:`amx_bf16`). No cast passes, no bf16 activations: with AMX faster than autocast on the paper's MLP
  and closer to fp32.
- ``autocast = "auto"``: on a CPU with fast bf16 matmuls (AMX or AVX512-BF16, :func:`fast_bf16_matmul`)
  ``bf16-matmul`` for fully connected nets and ``bf16`` for convolutional ones (oneDNN's bf16 math mode does
  not speed their convolutions up: ``dcgan-digits``' step took 110 ms in fp32, 126 ms with ``bf16-matmul`` and
  79 ms under autocast, 2 threads, benchmarks/train_step.py); ``none`` elsewhere. Without AMX (AVX512-BF16
  alone: AMD Zen 4/5) ``bf16-matmul`` keeps fp32 arithmetic in oneDNN's kernels (on a Zen 5 EPYC twice the
  speed of MKL's); autocast ran the MLP's step faster still there, but ``mnist-cond`` trained under it
  collapsed to one class in one of two seeds (README, Speed).
  :func:`resolve_autocast` decides once, when a run is created, and the run's config records the choice (a
  resume keeps it).
- ``channels_last = true``: 4-D weights (convolutions) in channels_last layout, which tensor cores and
  oneDNN prefer; the maths is the same up to the order of the convolutions' sums.
- ``compile``: ``torch.compile`` of G's and D's forward (``reduce-overhead`` replays CUDA graphs on a GPU).
  The module objects, their parameters and their state_dict keys stay as they are.
- ``threads``: torch's intra-op threads on the CPU; ``0`` (the default) chooses by measurement at start
  (:func:`choose_threads`). A second thread cannot speed a small model up, and on a core another process
  keeps busy its threads wait for each other at every operation (12x slower for ``ring8``): so one thread,
  unless the model's forward pass takes long enough to split and runs clearly faster on every core.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..errors import ConfigError
from ..models import convolutional

if TYPE_CHECKING:
    from ..gan import GAN

__all__ = [
    "AUTOCAST_DTYPES",
    "amx_bf16",
    "autocast_context",
    "available_cores",
    "choose_threads",
    "cpu_description",
    "describe_precision",
    "fast_bf16_matmul",
    "matmul_precision",
    "prepare_modules",
    "resolve_autocast",
    "run_autocast",
]

log = logging.getLogger(__name__)

AUTOCAST_DTYPES = {"bf16": torch.bfloat16}
# train.threads = 0: a forward pass faster than this on one thread (its fastest of 3) stays on one thread: the
# gain of more is small at best, while one busy core makes 2 threads 8-12x slower (benchmarks/train_step.py
# --threads-table). ring8's pass takes ~1.4 ms, paper-mnist's ~30 ms, dcgan-digits' ~70 ms on one core.
MIN_PARALLEL_S = 0.004
MIN_SPEEDUP = 1.3  # every core is used only when the pass is at least this much faster on them
PROBE_PAIRS = 9  # passes timed on each count, alternately
PROBE_LIMIT_S = 2.0  # and no more once this long has passed: on a busy core the many-thread passes can take 10x longer


def fast_bf16_matmul() -> bool:
    """Whether this CPU multiplies bf16 matrices in hardware (AMX tiles or AVX512-BF16) and torch's oneDNN can
    use it; elsewhere bf16 matmuls are emulated and slower than fp32."""
    cpu = getattr(torch, "cpu", None)
    avx512_bf16 = getattr(cpu, "_is_avx512_bf16_supported", lambda: False)
    return bool(torch.backends.mkldnn.is_available() and (amx_bf16() or avx512_bf16()))


def amx_bf16() -> bool:
    """Whether this CPU has AMX tiles (Intel Sapphire Rapids and later), the only x86 units on which oneDNN's
    bf16 math mode (``bf16-matmul``) rounds fp32 matmul inputs to bf16. Without them the mode still sends
    fp32 matmuls to oneDNN on an AVX-512 CPU, whose kernels keep fp32 arithmetic: bit-level differences from
    MKL's, and on a Zen 5 EPYC twice MKL's speed (94-99 against 193-212 GFLOP/s on one core, train_step.py)."""
    return bool(getattr(getattr(torch, "cpu", None), "_is_amx_tile_supported", lambda: False)())


def describe_precision(name: str) -> str:
    """What ``train.autocast = name`` (a resolved one: not ``auto``) does on this CPU, in a few words: the
    ``precision:`` line a run prints at start."""
    if name == "bf16-matmul":
        if amx_bf16():
            return "matmuls from bf16-rounded inputs with fp32 sums (AMX), everything else fp32"
        return "matmuls by oneDNN in fp32 (this CPU has no AMX to round them to bf16), everything else fp32"
    if name in AUTOCAST_DTYPES:
        return f"forward passes in {str(AUTOCAST_DTYPES[name]).removeprefix('torch.')} autocast"
    return "fp32"


def cpu_description() -> str:
    """The CPU's model name and the flags that decide bf16 matmul speed (from /proc/cpuinfo where there is
    one), for benchmarks and reports."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    return f"{name} ({', '.join(shown) or 'none of avx2/avx512/amx'}; fast bf16 matmuls: {fast_bf16_matmul()})"


def resolve_autocast(name: str, device: torch.device, convolutional: bool = False) -> str:
    """The ``train.autocast`` a run records: ``auto`` becomes, on a CPU with fast bf16 matmuls, ``bf16`` for
    ``convolutional`` nets and ``bf16-matmul`` for others, else ``none``; ``bf16-matmul`` on another device is a
    ConfigError; other values pass through."""
    if name == "auto":
        if device.type != "cpu" or not fast_bf16_matmul():
            return "none"
        return "bf16" if convolutional else "bf16-matmul"
    if name == "bf16-matmul" and device.type != "cpu":
        raise ConfigError(
            f"train.autocast = bf16-matmul: oneDNN's bf16 matmuls are for the CPU, not {device.type}; "
            "use bf16 (autocast) on a GPU"
        )
    return name


def run_autocast(cfg: Any, device: torch.device) -> str:
    """:func:`resolve_autocast` of a run's ``train.autocast`` on ``device``, for its nets (convolutional or not)."""
    return resolve_autocast(cfg.train.autocast, device, convolutional(cfg.generator, cfg.discriminator))


@contextlib.contextmanager
def matmul_precision(name: str) -> Iterator[None]:
    """Within the block, fp32 matmuls and convolutions in oneDNN's bf16 math mode when ``name`` is
    ``bf16-matmul`` (restored afterwards); any other mode changes nothing."""
    if name != "bf16-matmul":
        yield
        return
    mkldnn: Any = torch.backends.mkldnn  # its matmul / conv settings are untyped
    if hasattr(mkldnn, "matmul") and hasattr(mkldnn.matmul, "fp32_precision"):  # torch >= 2.9
        before = (mkldnn.matmul.fp32_precision, mkldnn.conv.fp32_precision)
        mkldnn.matmul.fp32_precision = mkldnn.conv.fp32_precision = "bf16"
        try:
            yield
        finally:
            mkldnn.matmul.fp32_precision, mkldnn.conv.fp32_precision = before
    else:  # older torch: the global precision setting turns the same mode on for the CPU's matmuls
        previous = torch.get_float32_matmul_precision()
        torch.set_float32_matmul_precision("medium")
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(previous)


def autocast_context(name: str, device: torch.device) -> Callable[[], Any]:
    """A factory of the context the forward passes run in: ``torch.autocast`` or a no-op (``none``, and
    ``bf16-matmul``, whose precision :func:`matmul_precision` sets around the whole step)."""
    if name in ("none", "bf16-matmul"):
        return contextlib.nullcontext
    dtype = AUTOCAST_DTYPES[name]
    return lambda: torch.autocast(device_type=device.type, dtype=dtype)


def prepare_modules(train_cfg: Any, *modules: nn.Module) -> None:
    """Apply ``train.channels_last`` and ``train.compile`` to G and D, in place."""
    if train_cfg.compile != "none":
        # The simultaneous update backpropagates twice through one D pass (retain_graph), which compiled
        # backward graphs allow only without buffer donation.
        import torch._functorch.config as functorch_config

        functorch_config.donated_buffer = False
    for module in modules:
        if train_cfg.channels_last:
            # only 4-D parameters change layout; Module.to takes memory_format, its stubs do not say so
            module.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if train_cfg.compile != "none":
            module.compile(mode=train_cfg.compile)


def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def choose_threads(train_cfg: Any, gan: GAN, batch_shape: Sequence[int], precision: str = "none") -> int:
    """Torch's intra-op threads for a run: ``train.threads`` when set, else a choice by measurement.

    ``train.threads = 0`` on the CPU: ``OMP_NUM_THREADS`` when set (torchrun sets 1), else one thread unless
    G's and D's forward passes on a ``batch_shape`` batch take over ``MIN_PARALLEL_S`` on one thread in fp32
    (small nets stay on one, without more timing) and their forward and backward passes, in the run's
    ``precision`` (its decided ``train.autocast``: bf16 autocast or bf16 matmuls parallelise differently from
    fp32), run ``MIN_SPEEDUP`` times faster on every available core, timed alternately at start after a warm-up on
    each count (``PROBE_PAIRS`` passes on each, fewer past ``PROBE_LIMIT_S``).

    Each count's time is the lower quartile of its passes (:func:`_fast`): on a shared machine the many-thread
    passes ran at one thread's speed for streaks of several passes, which put the median of ``mnist-conv``'s
    at 1.0-1.1x in 3 of 6 processes where the lower quartile read 1.6-1.9x; a core kept busy by another
    process slows every many-thread pass, the fast ones included (0.4-0.9x).

    The probe runs both nets in eval mode on zeros, its gradients into fresh tensors: it draws no random number
    and changes no state, so the choice never changes a trajectory (nor, on the CPU, do the threads). On a GPU
    the CPU threads are left as they are.
    """
    if train_cfg.threads:
        return int(train_cfg.threads)
    if gan.device.type != "cpu":
        return torch.get_num_threads()
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    cores = available_cores()
    if cores == 1:
        return 1
    forward = _pass_probe(gan, batch_shape)  # the size gate: fp32, as the threshold was set
    probe = _pass_probe(gan, batch_shape, precision, backward=True)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        forward()  # warm-up
        one = min(_times(forward, 3))  # the fastest: what the model costs, whatever else the machine runs
        if one < MIN_PARALLEL_S:
            log.info("train.threads = 0: 1 intra-op thread (forward pass %.2f ms)", 1e3 * one)
            return 1
        probe()  # warm-up of the backward pass
        torch.set_num_threads(cores)
        for _ in range(2):  # warm-up here too: the first passes on more threads start their pool, prepare kernels
            probe()
        ones, manys, limit = [], [], time.perf_counter() + PROBE_LIMIT_S
        for _ in range(PROBE_PAIRS):  # alternately, so a machine that gets busier slows both alike
            torch.set_num_threads(1)
            ones += _times(probe, 1)
            torch.set_num_threads(cores)
            manys += _times(probe, 1)
            if time.perf_counter() > limit:
                break
    finally:
        torch.set_num_threads(before)
    one, speedup = _fast(ones), _fast(ones) / _fast(manys)
    chosen = cores if speedup >= MIN_SPEEDUP else 1
    log.info(
        "train.threads = 0: %d intra-op thread(s) (forward and backward %.1f ms on 1 thread, %.2fx faster on %d)",
        chosen,
        1e3 * one,
        speedup,
        cores,
    )
    return chosen


def _fast(times: Sequence[float]) -> float:
    """The lower quartile of ``times`` (the 3rd fastest of 9, the 2nd of 5): what a pass costs when the machine
    lets it run, robust to a single lucky pass."""
    return sorted(times)[len(times) // 4]


def _pass_probe(
    gan: GAN, batch_shape: Sequence[int], precision: str = "none", backward: bool = False
) -> Callable[[], None]:
    """A function running D on ``[x; G(z)]`` for zero x and z (with ``backward``, and back to G's and D's
    weights), as a training step's passes do, in ``precision`` (a decided ``train.autocast``). The gradients
    go to fresh tensors (``torch.autograd.grad``), never to the nets' ``.grad``; in eval mode no dropout mask
    is drawn and neither batch norm's statistics nor spectral norm's vectors move. Forward passes alone
    misjudged convolutional nets, whose backward passes parallelise better (``mnist-conv``: 1.1-1.9x from run
    to run against 1.7x for its training iteration).

    It runs the training G (:meth:`GAN.call`), not the moving average of its weights that
    :meth:`GAN.generate` samples from: the probe times training, whose steps run G (the average only follows
    it, with the same architecture, and is never compiled)."""
    m = int(batch_shape[0])
    x = torch.zeros(tuple(batch_shape), device=gan.device)  # (m, *shape)
    z = torch.zeros(m, gan.prior.dim, device=gan.device)  # (m, noise_dim)
    y = torch.zeros(m, dtype=torch.long, device=gan.device)  # (m,) class 0: given to conditional nets only
    amp = autocast_context(precision, gan.device)
    params = [p for net in (gan.G, gan.D) for p in net.parameters() if p.requires_grad]

    def probe() -> None:
        modes = [(module, module.training) for module in (gan.G, gan.D)]
        try:
            gan.G.eval()
            gan.D.eval()  # dropout off: no mask is drawn; batch norm reads its statistics without updating them
            with matmul_precision(precision), torch.set_grad_enabled(backward):
                with amp():
                    fake = gan.call("G", z, y)  # (m, *shape)
                    logits = gan.call("D", torch.cat([x, fake]), torch.cat([y, y]))  # (2m,)
                if backward and params:  # into fresh tensors: no .grad of the nets is touched
                    torch.autograd.grad(logits.float().sum(), params)
        finally:
            for module, training in modes:
                module.train(training)

    return probe


def _times(fn: Callable[[], None], repeats: int) -> list[float]:
    """Wall times of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def denormals_flushed() -> bool:
    """Whether this thread's float arithmetic flushes subnormal numbers to zero (x86 FTZ/DAZ) just now."""
    return float((torch.full((1,), 1e-39) * 1.0).item()) == 0.0


@contextlib.contextmanager
def flush_denormal() -> Iterator[None]:
    """Flush subnormal floats (below 1.2e-38 in fp32) to zero while training, and restore the setting after.

    They take a slow path in x86 arithmetic and long runs reach them (Adam's moments of weights whose gradients
    vanish): a 15,000-step table run stepped 7x slower after step 9,000 without this. The flag is the thread's
    (MXCSR), so it reaches every float operation, Python's own included; hence only around the training loop,
    never left on for the caller (a subnormal learning rate would read as 0, a density as 0)."""
    was = denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(was)
