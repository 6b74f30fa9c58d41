"""The fast paths keep the maths: the trainer against a plain reference loop, bit for bit; cheap dropout
masks against the Bernoulli law; the bf16 / channels_last / compile options on the CPU."""

import dataclasses

import pytest
import torch
import torch.nn.functional as F

import origan
from origan.models.mlp import Maxout
from origan.training import Trainer, speed
from origan.training.build import build_state
from origan.training.schedules import learning_rate, momentum

SMALL_MNIST = [
    "generator.hidden=[48,48]",
    "discriminator.hidden=[24,24]",
    "train.batch_size=20",
    "train.sample_every=0",
    "train.checkpoint_every=0",
    "train.log_every=2",
    "train.device=cpu",
]


def _reference_d(D, x):
    """The maxout D as the textbook writes it: max over the pieces by amax, the module's own dropout layers."""
    h = x.flatten(1)
    for layer in D.body:
        if isinstance(layer, Maxout):
            h = F.linear(h, layer.linear.weight, layer.linear.bias).view(len(h), layer.pieces, layer.units).amax(1)
        else:
            h = layer(h)  # dropout: the same mask stream as the module's
    return F.linear(h, D.logit.weight, D.logit.bias).squeeze(1)


class _PlainSGD:
    """torch.optim.SGD's update written out per tensor: buf = mu buf + g (buf = g at first); p -= lr buf."""

    def __init__(self, params):
        self.params, self.bufs = list(params), None

    def step(self, grads, lr, mu):
        if self.bufs is None:
            self.bufs = [g.clone() for g in grads]
        else:
            for b, g in zip(self.bufs, grads, strict=True):
                b.mul_(mu).add_(g)
        with torch.no_grad():
            for p, b in zip(self.params, self.bufs, strict=True):
                p.add_(b, alpha=-lr)


def _reference_run(cfg, steps):
    """Algorithm 1 / the simultaneous update in plain autograd, drawing data, noise and masks in origan's order."""
    _, s, _ = build_state(cfg, torch.device("cpu"))
    G, D, m = s.gan.G, s.gan.D, cfg.train.batch_size
    d_params, g_params = list(D.parameters()), list(G.parameters())
    opt_d, opt_g = _PlainSGD(d_params), _PlainSGD(g_params)
    n_d = n_g = 0

    def sched(o, n):
        return learning_rate(o, n), momentum(o, s.sampler.epoch)

    for _ in range(steps):
        if cfg.train.update == "simultaneous":
            x, _ = s.sampler.next()
            z = s.gan.prior.sample(m, s.noise_gen, "cpu")
            x_fake = G(z)
            logits = _reference_d(D, torch.cat([x, x_fake]))
            l_real, l_fake = logits[:m], logits[m:]
            d_obj = 0.5 * (F.softplus(-l_real).mean() + F.softplus(l_fake).mean())
            g_obj = F.softplus(-l_fake).mean()
            gd = torch.autograd.grad(d_obj, d_params, retain_graph=True)
            gg = torch.autograd.grad(g_obj, g_params)
            opt_d.step(gd, *sched(cfg.optim_d, n_d))
            opt_g.step(gg, *sched(cfg.optim_g, n_g))
            n_d, n_g = n_d + 1, n_g + 1
            continue
        for _ in range(cfg.train.k):
            x, _ = s.sampler.next()
            z = s.gan.prior.sample(m, s.noise_gen, "cpu")
            with torch.no_grad():
                x_fake = G(z)
            logits = _reference_d(D, torch.cat([x, x_fake]))
            d_obj = F.softplus(-logits[:m]).mean() + F.softplus(logits[m:]).mean()
            opt_d.step(torch.autograd.grad(d_obj, d_params), *sched(cfg.optim_d, n_d))
            n_d += 1
        z = s.gan.prior.sample(m, s.noise_gen, "cpu")
        g_obj = F.softplus(-_reference_d(D, G(z))).mean()
        opt_g.step(torch.autograd.grad(g_obj, g_params), *sched(cfg.optim_g, n_g))
        n_g += 1
    return s


@pytest.mark.parametrize("update", ["simultaneous", "alternating"])
def test_trainer_equals_the_plain_reference_loop_bit_for_bit(update):
    extra = ["train.update=alternating", "train.k=2"] if update == "alternating" else []
    cfg = origan.load_config("paper-mnist", overrides=[*SMALL_MNIST, "train.steps=6", *extra])
    ref = _reference_run(cfg, 6)
    _, state, _ = build_state(cfg, torch.device("cpu"))
    Trainer(cfg, state).fit()
    for (name, a), b in zip(state.gan.state_dict().items(), ref.gan.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert not torch.equal(state.gan.D.logit.weight, build_state(cfg, torch.device("cpu"))[1].gan.D.logit.weight)


# ---------------------------------------------------------------------------------------------------------
# Cheap dropout masks


def test_keep_threshold_is_exact_for_dyadic_keeps_and_within_2_pow_minus_33_otherwise():
    from origan.models.dropout import keep_threshold

    assert keep_threshold(0.5) == (1, 1)
    assert keep_threshold(0.75) == (2, 3)
    assert keep_threshold(1.0) == (1, 2)
    for keep in (0.8, 0.1, 1 / 3, 0.999):
        bits, t = keep_threshold(keep)
        assert bits == 32 and abs(t / 2**32 - keep) <= 2**-33


@pytest.mark.parametrize("keep", [0.5, 0.75, 0.8, 0.3, 0.25 + 1 / 256, 0.5 + 1 / 1024])
def test_keep_mask_equals_its_definition_from_the_raw_bits(keep):
    """The mask is read off the generator's 64-bit words exactly as documented (an independent decoding)."""
    from origan.models.dropout import keep_mask, keep_threshold

    n, row = 37, (11,)
    mask = keep_mask(n, row, keep, torch.Generator().manual_seed(3), "cpu")
    bits, t = keep_threshold(keep)
    words = torch.empty(-(-n * 11 * bits // 64), dtype=torch.int64).random_(
        -(2**63), None, generator=torch.Generator().manual_seed(3)
    )
    stream = "".join(format(b, "08b")[::-1] for b in words.view(torch.uint8).tolist())  # little-endian bit order
    codes = [int(stream[i * bits : (i + 1) * bits][::-1], 2) for i in range(n * 11)]  # unsigned, LSB first
    if bits >= 16:  # signed codes are compared with t - 2**(bits-1): the same as unsigned u ^ sign bit < t
        codes = [c ^ (1 << (bits - 1)) for c in codes]
    expected = torch.tensor([1.0 if c < t else 0.0 for c in codes]).view(n, 11)
    assert torch.equal(mask, expected)


@pytest.mark.parametrize("keep", [0.5, 0.8])
def test_keep_masks_are_bernoulli_and_independent(keep):
    from origan.models.dropout import keep_mask

    n = 400_000
    m = keep_mask(n // 200, (200,), keep, torch.Generator().manual_seed(11), "cpu").view(-1).double()
    sd = (keep * (1 - keep) / n) ** 0.5
    assert abs(m.mean().item() - keep) < 5 * sd  # the keep rate
    pairs = (m[:-1] * m[1:]).mean().item()  # neighbours (and, for keep 0.5, bits of one byte) independent
    assert abs(pairs - keep**2) < 5 * (keep**2 * (1 - keep**2) / n) ** 0.5
    again = keep_mask(n // 200, (200,), keep, torch.Generator().manual_seed(11), "cpu").view(-1).double()
    assert torch.equal(m, again)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_dropout_is_nn_dropouts_maths_given_the_same_mask(dtype):
    from origan.models.dropout import Dropout, keep_mask

    x = torch.randn(64, 30).to(dtype).requires_grad_()
    layer = Dropout(0.2)
    layer.generator = torch.Generator().manual_seed(5)
    out = layer(x)
    kept = keep_mask(64, (30,), 0.8, torch.Generator().manual_seed(5), "cpu", dtype)
    reference = x * kept.div_(0.8)  # ATen's CPU dropout: noise = bernoulli(1 - p).div_(1 - p); x * noise
    assert torch.equal(out, reference)
    g = torch.randn_like(out)
    (gx,) = torch.autograd.grad(out, x, g)
    (gr,) = torch.autograd.grad(reference, x, g)
    assert torch.equal(gx, gr)
    assert 0.7 < (out != 0).float().mean().item() < 0.9
    layer.eval()
    assert layer(x) is x


# ---------------------------------------------------------------------------------------------------------
# Maxout's backward


def test_maxout_gradient_is_autograds_and_passes_gradcheck():
    from origan.models.mlp import maxout

    torch.manual_seed(0)
    h = torch.randn(7, 5 * 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: maxout(t, 5), (h,))
    h32 = torch.randn(50, 5 * 240, requires_grad=True)
    g = torch.randn(50, 240)
    mine = torch.autograd.grad(maxout(h32, 5), h32, g)[0]
    amax = torch.autograd.grad(h32.view(50, 5, 240).amax(1), h32, g)[0]
    assert torch.equal(maxout(h32, 5), h32.view(50, 5, 240).amax(1)) and torch.equal(mine, amax)
    tied = torch.zeros(1, 5 * 2, requires_grad=True)  # all pieces tied: each gets the full gradient (Theano's max)
    assert torch.equal(torch.autograd.grad(maxout(tied, 5), tied, torch.ones(1, 2))[0], torch.ones(1, 10))


def test_no_nan_fill_of_fresh_tensors_gives_the_same_bits():
    """Deterministic mode's NaN fill of new tensors is switched off: the trainer never reads unwritten memory."""
    cfg = origan.load_config("paper-mnist", overrides=[*SMALL_MNIST, "train.steps=4"])
    states = []
    for fill in (True, False):
        _, state, _ = build_state(cfg, torch.device("cpu"))
        torch.utils.deterministic.fill_uninitialized_memory = fill
        try:
            Trainer(cfg, state).fit()
        finally:
            torch.utils.deterministic.fill_uninitialized_memory = False
        states.append(state.gan.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(states[0].values(), states[1].values(), strict=True))


# ---------------------------------------------------------------------------------------------------------
# The GPU-minded options, on the CPU


def _fit(cfg):
    _, state, _ = build_state(cfg, torch.device("cpu"))
    rows = []
    Trainer(cfg, state, write_row=rows.append).fit()
    return state, rows


def test_bf16_autocast_runs_the_matmuls_in_bf16_keeps_fp32_weights_and_tracks_fp32():
    from torch.utils.flop_counter import FlopCounterMode

    base = [*SMALL_MNIST, "train.steps=6"]
    cfg = origan.load_config("paper-mnist", overrides=[*base, "train.autocast=bf16"])
    _, state, _ = build_state(cfg, torch.device("cpu"))
    seen = []
    hook = state.gan.D.logit.register_forward_hook(lambda m, i, o: seen.append((i[0].dtype, o.dtype)))
    trainer = Trainer(cfg, state)
    with FlopCounterMode(display=False):
        trainer.iteration()
    hook.remove()
    assert seen == [(torch.bfloat16, torch.bfloat16)]  # D's layers ran in bf16
    assert all(p.dtype == torch.float32 for p in state.gan.parameters())
    assert state.acc.dtype == torch.float64 and torch.isfinite(state.acc).all()
    bf16_state, bf16_rows = _fit(cfg)
    fp32_state, fp32_rows = _fit(origan.load_config("paper-mnist", overrides=base))
    again_state, _ = _fit(cfg)
    assert all(
        torch.equal(a, b)
        for a, b in zip(bf16_state.gan.state_dict().values(), again_state.gan.state_dict().values(), strict=True)
    )
    for a, b in zip(bf16_rows, fp32_rows, strict=True):
        assert a["d_loss"] == pytest.approx(b["d_loss"], abs=2e-2) and a["g_loss"] == pytest.approx(
            b["g_loss"], abs=2e-2
        )
    pairs = zip(bf16_state.gan.parameters(), fp32_state.gan.parameters(), strict=True)
    diff = max((a - b).abs().max().item() for a, b in pairs)
    assert 0 < diff < 1e-2  # bf16 rounding, not another trajectory


class _TinyConvD(torch.nn.Module):
    def __init__(self, shape):
        super().__init__()
        self.conv = torch.nn.Conv2d(shape[0], 4, 3, stride=2, padding=1)
        self.logit = torch.nn.Linear(4 * ((shape[1] + 1) // 2) ** 2, 1)

    def forward(self, x):
        return self.logit(torch.relu(self.conv(x)).flatten(1)).squeeze(1)


def test_channels_last_lays_out_conv_weights_and_keeps_the_maths(monkeypatch):
    from origan.models import DISCRIMINATORS

    monkeypatch.setitem(DISCRIMINATORS._members, "tinyconv", lambda cfg, shape, bounded, dim: _TinyConvD(shape))
    base = [
        "data.name=digits",
        "discriminator.name=tinyconv",
        "generator.hidden=[32]",
        "train.batch_size=16",
        "train.steps=5",
        "train.sample_every=0",
        "train.checkpoint_every=0",
        "train.log_every=5",
    ]
    cl_state, cl_rows = _fit(origan.load_config("digits", overrides=[*base, "train.channels_last=true"]))
    state, rows = _fit(origan.load_config("digits", overrides=base))
    assert cl_state.gan.D.conv.weight.stride() == (9, 1, 3, 1)  # (out, in=1, 3, 3) in channels_last order
    assert state.gan.D.conv.weight.stride() == (9, 9, 3, 1)
    for a, b in zip(cl_state.gan.parameters(), state.gan.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)  # the same updates, sums in another order
    assert cl_rows[-1]["d_loss"] == pytest.approx(rows[-1]["d_loss"], abs=1e-5)


@pytest.mark.slow
def test_torch_compile_option_trains_like_eager():
    base = [*SMALL_MNIST, "train.steps=4"]
    compiled, _ = _fit(origan.load_config("paper-mnist", overrides=[*base, "train.compile=default"]))
    eager, _ = _fit(origan.load_config("paper-mnist", overrides=base))
    assert compiled.gan.D._compiled_call_impl is not None  # nn.Module.compile: same module, same state_dict keys
    for a, b in zip(compiled.gan.parameters(), eager.gan.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


# -- train.threads = 0: one thread unless the model is large and measurably faster on every core -------------


def _built(preset="ring8", *extra):
    cfg = origan.load_config(preset, overrides=[*SMALL_MNIST, "train.threads=1", *extra])
    data, state, _ = build_state(cfg, torch.device("cpu"))
    return cfg, state, (cfg.train.batch_size, *data.shape)


def _auto(cfg):
    return dataclasses.replace(cfg.train, threads=0)


def test_explicit_threads_and_omp_num_threads_win_without_measuring(monkeypatch):
    cfg, state, shape = _built()
    monkeypatch.setattr(speed, "_times", lambda fn, repeats: pytest.fail("measured"))
    assert speed.choose_threads(dataclasses.replace(cfg.train, threads=3), state.gan, shape) == 3
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert speed.choose_threads(_auto(cfg), state.gan, shape) == 2
    monkeypatch.delenv("OMP_NUM_THREADS")
    monkeypatch.setattr(speed, "available_cores", lambda: 1)
    assert speed.choose_threads(_auto(cfg), state.gan, shape) == 1


@pytest.mark.parametrize("preset", ["ring8", "dcgan-digits"])
def test_the_probe_draws_no_random_number_and_changes_no_state(monkeypatch, preset):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(speed, "available_cores", lambda: 4)
    monkeypatch.setattr(speed, "MIN_PARALLEL_S", 0.0)  # always measure on 1 and 4 threads
    extra = (
        ["discriminator.dropout_hidden=0.3"] if preset == "ring8" else ["generator.width=8", "discriminator.width=8"]
    )
    cfg, state, shape = _built(preset, *extra)
    gens = {k: g.get_state() for k, g in state.generators().items()}
    rng, weights = torch.get_rng_state(), {k: v.clone() for k, v in state.gan.state_dict().items()}
    chosen = speed.choose_threads(_auto(cfg), state.gan, shape)
    assert chosen in (1, 4) and torch.get_num_threads() == 1  # the caller sets the choice
    assert all(torch.equal(g.get_state(), gens[k]) for k, g in state.generators().items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(torch.equal(v, weights[k]) for k, v in state.gan.state_dict().items())  # BN statistics included
    assert state.gan.G.training and state.gan.D.training


@pytest.mark.parametrize(("one_ms", "speedup", "expected"), [(0.5, 3.0, 1), (20.0, 1.1, 1), (20.0, 1.8, 4)])
def test_every_core_only_for_a_slow_pass_that_runs_clearly_faster_on_them(monkeypatch, one_ms, speedup, expected):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(speed, "available_cores", lambda: 4)
    timed = []

    def fake_times(fn, repeats):  # the pass takes one_ms on one thread, speedup times less on four
        timed.append(torch.get_num_threads())
        return [one_ms / 1e3 / (speedup if torch.get_num_threads() == 4 else 1.0)] * repeats

    monkeypatch.setattr(speed, "_times", fake_times)
    cfg, state, shape = _built()
    assert speed.choose_threads(_auto(cfg), state.gan, shape) == expected
    assert (4 in timed) == (one_ms > 1e3 * speed.MIN_PARALLEL_S)  # a fast pass is never timed on more threads
    assert torch.get_num_threads() == 1


@pytest.mark.kernels
def test_the_thread_count_changes_no_draw_and_only_rounding():
    try:
        two, _ = _fit(origan.load_config("paper-mnist", overrides=[*SMALL_MNIST, "train.steps=4", "train.threads=2"]))
        one, _ = _fit(origan.load_config("paper-mnist", overrides=[*SMALL_MNIST, "train.steps=4", "train.threads=1"]))
    finally:
        torch.set_num_threads(1)
    # The thread count draws no random number and changes no batch: every stream ends in the same state.
    for gen in ("noise_gen", "dropout_gen"):
        assert torch.equal(getattr(two, gen).get_state(), getattr(one, gen).get_state()), gen
    assert torch.equal(two.sampler.generator.get_state(), one.sampler.generator.get_state())
    # The weights agree to the rounding of sums split across threads: bit for bit with this machine's own
    # kernels, within a few float32 ulps after 4 steps under others (torch's portable kernels split differently).
    for a, b in zip(two.gan.parameters(), one.gan.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)


def test_bf16_matmul_rounds_the_matmul_inputs_to_bf16_and_keeps_everything_else_fp32():
    """train.autocast = bf16-matmul: within the step, fp32 matmuls go to oneDNN in its bf16 math mode. With AMX
    it reads bf16-rounded inputs and sums in fp32; without AMX (AVX512-BF16 alone, as on AMD Zen 4/5, or no
    bf16 at all) oneDNN keeps fp32 arithmetic. The setting is restored after the block."""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(100, 784, generator=g), torch.randn(784, 240, generator=g)  # a layer of the paper's D
    exact = a.double() @ b.double()
    rounded = a.bfloat16().double() @ b.bfloat16().double()  # the product of the rounded inputs
    # fp32 sums of 784 products: errors of about sqrt(784) ulps of the summed magnitudes (|a||b| summed ~ 500) in
    # practice, blocked or not; bf16 rounds each input to 2^-9 of itself, 100x more
    fp32_tol = 784**0.5 * 2**-24 * (a.double().abs() @ b.double().abs()).max().item()
    assert (rounded - exact).abs().max() > 100 * fp32_tol  # the two outcomes are far apart: the test can tell
    with speed.matmul_precision("bf16-matmul"):
        inside = a @ b
        assert inside.dtype == torch.float32
    after = a @ b
    assert torch.allclose(after.double(), exact, rtol=0, atol=fp32_tol)  # fp32 again outside the block
    if speed.fast_bf16_matmul() and speed.amx_bf16():
        assert torch.allclose(inside.double(), rounded, rtol=0, atol=fp32_tol)  # bf16 inputs, fp32 sums
    else:
        assert torch.allclose(inside.double(), exact, rtol=0, atol=fp32_tol)
    with speed.matmul_precision("none"):
        assert torch.equal(a @ b, after)


def test_bf16_matmul_trains_fp32_weights_and_tracks_fp32():
    base = [*SMALL_MNIST, "train.steps=6"]
    cfg = origan.load_config("paper-mnist", overrides=[*base, "train.autocast=bf16-matmul"])
    state, rows = _fit(cfg)
    again, _ = _fit(cfg)
    fp32_state, fp32_rows = _fit(origan.load_config("paper-mnist", overrides=base))
    assert all(p.dtype == torch.float32 for p in state.gan.parameters())
    assert all(
        torch.equal(a, b) for a, b in zip(state.gan.state_dict().values(), again.gan.state_dict().values(), strict=True)
    )  # reproducible
    for a, b in zip(rows, fp32_rows, strict=True):
        assert a["d_loss"] == pytest.approx(b["d_loss"], abs=2e-2)
        assert a["g_loss"] == pytest.approx(b["g_loss"], abs=2e-2)
    pairs = zip(state.gan.parameters(), fp32_state.gan.parameters(), strict=True)
    diff = max((a - b).abs().max().item() for a, b in pairs)
    assert diff < 1e-2  # bf16 rounding of the matmul inputs, not another trajectory
    if speed.amx_bf16():  # rounded inputs; elsewhere oneDNN's fp32 kernels (AVX-512) or MKL's, the same sums
        assert diff > 1e-6
    elif not torch.ops.mkldnn._is_mkldnn_bf16_supported():  # no AVX-512 either: the mode leaves MKL's fp32 as is
        assert diff == 0


@pytest.mark.parametrize(("fast", "amx"), [(True, True), (True, False), (False, False)])
def test_autocast_auto_chooses_by_the_cpu_and_the_run_records_the_choice(tmp_path, monkeypatch, capsys, fast, amx):
    from origan.cli import main
    from origan.errors import ConfigError

    monkeypatch.setattr(speed, "fast_bf16_matmul", lambda: fast)
    monkeypatch.setattr(speed, "amx_bf16", lambda: amx)
    chosen = "bf16-matmul" if fast else "none"  # with AMX or without (AVX512-BF16 alone: oneDNN in fp32)
    assert speed.resolve_autocast("auto", torch.device("cpu")) == chosen
    assert speed.resolve_autocast("auto", torch.device("cpu"), convolutional=True) == ("bf16" if fast else "none")
    assert speed.resolve_autocast("auto", torch.device("cuda")) == "none"  # GPUs: autocast "bf16" is the choice
    assert speed.resolve_autocast("bf16", torch.device("cpu")) == "bf16"
    with pytest.raises(ConfigError, match="bf16-matmul"):
        speed.resolve_autocast("bf16-matmul", torch.device("cuda"))
    out = tmp_path / "run"
    argv = ["train", "--preset", "ring8", "--set", "train.steps=4", "--set", "train.autocast=auto", "--out", str(out)]
    assert main(argv) == 0
    import json

    assert json.loads((out / "config.json").read_text())["train"]["autocast"] == chosen
    manifest = json.loads((out / "checkpoints" / "last.json").read_text())
    assert manifest["config"]["train"]["autocast"] == chosen
    printed = capsys.readouterr().out
    said = "matmuls from bf16-rounded inputs" if amx else "matmuls by oneDNN in fp32"
    assert (f"precision: train.autocast = bf16-matmul ({said}" in printed) == fast
    assert ("precision:" in printed) == fast
    assert main(["train", "--resume", str(out), "--set", "train.steps=6"]) == 0  # the recorded choice resumes
    assert json.loads((out / "config.json").read_text())["train"]["autocast"] == chosen


def test_the_precision_line_says_what_bf16_matmul_does_on_this_cpu(monkeypatch):
    for amx, said in ((True, "bf16-rounded inputs"), (False, "oneDNN in fp32")):
        monkeypatch.setattr(speed, "amx_bf16", lambda amx=amx: amx)
        assert said in speed.describe_precision("bf16-matmul")
    assert speed.describe_precision("bf16") == "forward passes in bfloat16 autocast"


@pytest.mark.parametrize("fast", [True, False])
def test_autocast_auto_gives_convolutional_nets_autocast_and_the_run_records_it(tmp_path, monkeypatch, fast):
    from origan.training.session import resolve_precision

    monkeypatch.setattr(speed, "fast_bf16_matmul", lambda: fast)
    conv = origan.load_config("dcgan-digits", overrides=["train.autocast=auto"])
    assert resolve_precision(conv, torch.device("cpu")).train.autocast == ("bf16" if fast else "none")
    mlp_g = conv.replace(**{"generator.name": "mlp"})  # a convolutional D alone is enough
    assert resolve_precision(mlp_g, torch.device("cpu")).train.autocast == ("bf16" if fast else "none")
    mlp = origan.load_config("mnist", overrides=["train.autocast=auto"])
    assert resolve_precision(mlp, torch.device("cpu")).train.autocast == ("bf16-matmul" if fast else "none")
    cfg = origan.load_config(
        "dcgan-digits", overrides=["data.name=digits", "train.steps=2", "train.batch_size=8", "train.autocast=auto"]
    )
    run = origan.train(cfg, out=tmp_path / "run")
    assert run.config.train.autocast == ("bf16" if fast else "none")
