"""``train.threads = 0``: the thread probe times G's and D's forward and backward passes in the precision the
run's steps will use (its decided ``train.autocast``), not forward passes in fp32 whatever the run: bf16
autocast and bf16 matmuls parallelise differently (``mnist-conv`` under autocast ran 1.6-1.7x faster on 2
threads than on 1). Which nets are timed at all is still decided by their fp32 forward pass."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import origan
from origan.training import build, speed
from origan.training.build import build_state

SMALL = ["data.name=digits", "generator.width=8", "discriminator.width=8", "train.batch_size=8", "train.threads=1"]


def _mkldnn_bf16() -> bool:
    """Whether oneDNN's bf16 math mode for fp32 matmuls is on just now."""
    mkldnn = torch.backends.mkldnn
    if hasattr(mkldnn, "matmul") and hasattr(mkldnn.matmul, "fp32_precision"):
        return mkldnn.matmul.fp32_precision == "bf16"
    return torch.get_float32_matmul_precision() == "medium"


@pytest.mark.parametrize(
    ("precision", "dtype", "bf16_matmul"),
    [("none", torch.float32, False), ("bf16", torch.bfloat16, False), ("bf16-matmul", torch.float32, True)],
)
def test_the_probe_runs_the_passes_in_the_runs_precision(monkeypatch, precision, dtype, bf16_matmul):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(speed, "available_cores", lambda: 2)
    monkeypatch.setattr(speed, "MIN_PARALLEL_S", 0.0)  # always measure on 1 and 2 threads
    cfg = origan.load_config("mnist-conv", overrides=SMALL)
    _, state, _ = build_state(cfg, torch.device("cpu"))
    seen: list[tuple[torch.dtype, bool]] = []
    hook = state.gan.G.register_forward_hook(
        lambda m, i, out: seen.append((torch.is_grad_enabled(), out.dtype, _mkldnn_bf16()))
    )
    try:
        speed.choose_threads(dataclasses.replace(cfg.train, threads=0), state.gan, (8, 1, 8, 8), precision)
    finally:
        hook.remove()
    # the timed passes (forward and backward) in the run's precision; the size gate's forward passes in fp32
    assert {(dt, mm) for grad, dt, mm in seen if grad} == {(dtype, bf16_matmul)}
    assert {(dt, mm) for grad, dt, mm in seen if not grad} == {(torch.float32, False)}
    assert not _mkldnn_bf16() and not torch.is_autocast_enabled("cpu")  # restored after the probe


@pytest.mark.parametrize("autocast", ["none", "bf16", "auto"])
def test_a_run_probes_in_its_decided_precision(monkeypatch, autocast):
    asked: list[str] = []

    def choose(train_cfg, gan, batch_shape, precision="none"):
        asked.append(precision)
        return 1

    monkeypatch.setattr(build, "choose_threads", choose)
    cfg = origan.load_config("mnist-conv", overrides=[*SMALL, f"train.autocast={autocast}"])
    build_state(cfg, torch.device("cpu"))
    assert asked == [speed.run_autocast(cfg, torch.device("cpu"))]
    assert asked[0] != "auto"


def test_the_backward_pass_of_the_probe_touches_no_grad_buffer_or_random_stream(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(speed, "available_cores", lambda: 2)
    monkeypatch.setattr(speed, "MIN_PARALLEL_S", 0.0)
    cfg = origan.load_config("mnist-conv", overrides=SMALL)  # batch norm in G, spectral norm in D
    _, state, _ = build_state(cfg, torch.device("cpu"))
    gens = {k: g.get_state() for k, g in state.generators().items()}
    rng, weights = torch.get_rng_state(), {k: v.clone() for k, v in state.gan.state_dict().items()}
    assert any(k.endswith("_u") for k in weights) and any(k.endswith("running_mean") for k in weights)
    speed.choose_threads(dataclasses.replace(cfg.train, threads=0), state.gan, (8, 1, 8, 8), "bf16")
    assert all(p.grad is None for p in state.gan.parameters())
    assert all(torch.equal(v, weights[k]) for k, v in state.gan.state_dict().items())
    assert all(torch.equal(g.get_state(), gens[k]) for k, g in state.generators().items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert state.gan.G.training and state.gan.D.training


@pytest.mark.parametrize(
    ("many_ms", "expected"),
    [
        ([85, 85, 85, 85, 45, 45, 45, 45, 45], 2),  # a streak of passes at one thread's speed: still 2 threads
        ([45, 85, 85, 85, 85, 85, 85, 85, 85], 1),  # one lucky fast pass among slow ones: 1 thread
        ([170, 160, 180, 175, 165, 170, 172, 168, 171], 1),  # a busy core slows every pass: 1 thread
    ],
)
def test_the_probe_compares_the_lower_quartiles_of_its_passes(monkeypatch, many_ms, expected):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(speed, "available_cores", lambda: 2)
    many = iter(many_ms)

    def fake_times(fn, repeats):  # 80 ms a pass on one thread; the many-thread passes in the order given
        return [(80.0 if torch.get_num_threads() == 1 else next(many, 45.0)) / 1e3] * repeats

    monkeypatch.setattr(speed, "_times", fake_times)
    cfg = origan.load_config("mnist-conv", overrides=SMALL)
    state = build_state(cfg, torch.device("cpu")).state
    torch.set_num_threads(1)
    # the warm-up passes on 2 threads (not timed by _times) do not enter the comparison
    assert speed.choose_threads(dataclasses.replace(cfg.train, threads=0), state.gan, (8, 1, 8, 8)) == expected
    assert speed._fast([5.0, 1.0, 4.0, 2.0, 3.0]) == 2.0 and speed._fast([3.0, 1.0, 2.0]) == 1.0
