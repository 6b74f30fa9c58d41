"""Algorithm 1 of the paper, and the simultaneous update of the authors' released code.

``alternating``: each iteration takes k D steps, each on a fresh data minibatch and fresh noise, then one
G step on fresh noise. ``simultaneous``: one minibatch and one fake batch give both gradients (D's
objective halved), and both nets update at once.

Every data minibatch comes with its labels ``y`` (None for unlabelled data), and the steps hand them to the
game's objectives: the unconditional game ignores them, a conditional G(z, y) / D(x, y) uses them. In a
conditional run (``train.conditional``) every fake batch's classes, in D's steps and G's, are drawn from the
training split's class frequencies with the noise stream, after the batch's z; other runs draw nothing more
(G's step takes the labels of the iteration's last data minibatch), so their random streams are unchanged.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from .. import losses
from ..config import Config, OptimConfig
from ..gan import StepOutput
from .ema import update_ema
from .schedules import learning_rate, momentum
from .speed import autocast_context, flush_denormal, matmul_precision, run_autocast
from .state import TrainState

__all__ = ["Callback", "Trainer", "TrainingDiverged", "TrainingInterrupted", "class_frequencies", "make_optimizer"]

log = logging.getLogger(__name__)

# Running sums of a log interval, in TrainState.acc.
D_LOSS, VALUE, D_REAL, D_FAKE, N_D, G_LOSS, N_G = range(7)


class TrainingInterrupted(Exception):
    """Training stopped on SIGINT or SIGTERM after writing a checkpoint."""

    def __init__(self, signum: int, step: int) -> None:
        super().__init__(f"interrupted by signal {signum} at step {step}")
        self.signum, self.step = signum, step

    @property
    def exit_code(self) -> int:
        return 128 + self.signum  # 130 for SIGINT, 143 for SIGTERM


class TrainingDiverged(Exception):
    """The divergence guard gave up: NaN/Inf kept coming back after ``train.guard_max_rollbacks`` rollbacks."""

    exit_code = 1


class _NonFinite(Exception):
    """Internal: a NaN/Inf loss or weight was found; the state rolls back to the last good one."""


class Callback(Protocol):
    """Hooks the caller passes to :class:`Trainer` (e.g. a progress bar). All are optional: the trainer calls
    the ones a callback has, and a subclass of this class inherits a no-op for each one it leaves out."""

    def on_start(self, trainer: Trainer) -> None:
        return None

    def on_log(self, trainer: Trainer, row: dict[str, Any]) -> None:
        return None

    def on_end(self, trainer: Trainer) -> None:
        return None


def class_frequencies(labels: Tensor | None, n_classes: int = 0) -> Tensor:
    """``(K,)`` fp32 class frequencies ``bincount(labels) / n`` of the training split's labels (K at least
    ``n_classes``); what a conditional run draws its fakes' classes from."""
    if labels is None:
        raise ValueError("a conditional run needs labelled training data")
    return torch.bincount(labels, minlength=n_classes).float() / len(labels)


def make_optimizer(cfg: OptimConfig, params: Any) -> torch.optim.Optimizer:
    """SGD with momentum or Adam; learning rate and momentum are set before every update by the schedules.

    PyTorch's SGD keeps ``v = mu v + g; p -= lr v`` where pylearn2 kept ``v = mu v - lr g; p += v``: the two
    agree while the learning rate is constant and differ by the per-update decay (1/1.000004) otherwise.

    SGD runs fused (one pass over parameters, gradients and momenta; half the time of ``foreach`` and the
    same bits, which the tests check). Adam stays ``foreach``: its fused kernel rounds differently (1 ulp).
    """
    params = list(params)
    if cfg.name == "sgd":
        fused = all(p.device.type in ("cpu", "cuda") for p in params)
        return torch.optim.SGD(
            params,
            lr=cfg.lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            **({"fused": True} if fused else {"foreach": True}),
        )
    return torch.optim.Adam(
        params, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay, foreach=True
    )


@dataclass(frozen=True)
class _Player:
    """What one player's update needs: its optimizer, parameters, optimizer config and update counter."""

    name: str  # "D" or "G"
    opt: torch.optim.Optimizer
    params: list[torch.nn.Parameter]
    cfg: OptimConfig
    counter: str  # the TrainState attribute counting its updates (drives the learning-rate decay)


class Trainer:
    """Runs the game for the configured budget.

    Args:
        cfg: the resolved config.
        state: the run's :class:`TrainState` (fresh or loaded from a checkpoint).
        save_checkpoint: ``f(trainer, reason)`` writes a checkpoint (the run layer decides where).
        on_samples: ``f(trainer)`` draws the sample figure from the fixed noise batch.
        callbacks: progress display and the like.
        write_row: ``f(row)`` stores a metrics row.
        selector: scores G on the validation split (``train.select``), keeps its best weights and may stop the
            run early (``train.patience``); None: no selection.
    """

    def __init__(
        self,
        cfg: Config,
        state: TrainState,
        *,
        write_row: Callable[[dict[str, Any]], None] = lambda r: None,
        save_checkpoint: Callable[[Trainer, str], None] = lambda t, r: None,
        on_samples: Callable[[Trainer], None] = lambda t: None,
        callbacks: Sequence[Callback] = (),
        selector: Any = None,
    ) -> None:
        self.cfg = cfg
        self.state = state
        self.selector = selector  # train.select: a training.select.Selector, scored on the validation split
        self.write_row = write_row
        self.save_checkpoint = save_checkpoint
        self.on_samples = on_samples
        self.callbacks = list(callbacks)
        self._signal: int | None = None
        self._snapshot: tuple[Any, dict[str, torch.Tensor]] | None = None
        self._t_interval = time.perf_counter()
        self._g_params = list(state.gan.G.parameters())
        self._d_params = list(state.gan.D.parameters())
        self._d = _Player("D", state.opt_d, self._d_params, cfg.optim_d, "d_updates")
        self._g = _Player("G", state.opt_g, self._g_params, cfg.optim_g, "g_updates")
        self.precision = run_autocast(cfg, state.gan.device)  # "auto" decided (runs record it)
        self._amp = autocast_context(self.precision, state.gan.device)
        self._class_freqs = class_frequencies(state.sampler.labels) if cfg.train.conditional else None
        self._one = torch.ones((), device=state.gan.device)

    # -- budget ----------------------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        t = self.cfg.train
        if t.steps > 0:
            return t.steps
        per_epoch = self.state.sampler.batches_per_epoch / (t.k if t.update == "alternating" else 1)
        steps = max(1, math.ceil(t.epochs * per_epoch))
        return min(steps, t.max_steps) if t.max_steps else steps

    # -- one optimizer update --------------------------------------------------------------------------
    def _apply_schedules(self, opt: torch.optim.Optimizer, cfg: OptimConfig, updates: int) -> None:
        lr = learning_rate(cfg, updates) * self.state.lr_scale
        mom = momentum(cfg, self.state.sampler.epoch) if cfg.name == "sgd" else None
        for group in opt.param_groups:
            group["lr"] = lr
            if mom is not None:
                group["momentum"] = mom

    def _update(self, *steps: tuple[_Player, Tensor]) -> None:
        """Apply each ``(player, loss)``: gradients of every loss (each only for its player's parameters, all at
        the current point), the divergence guard's check, then each player's scheduled optimizer step."""
        for i, (player, loss) in enumerate(steps):
            for p in player.params:
                p.grad = None
            loss.backward(inputs=player.params, retain_graph=i < len(steps) - 1)  # DDP's hooks see the accumulation
        self._check_finite(*steps)
        for player, _ in steps:
            self._apply_schedules(player.opt, player.cfg, getattr(self.state, player.counter))
            player.opt.step()
            setattr(self.state, player.counter, getattr(self.state, player.counter) + 1)
            if player is self._g and self.state.gan.G_ema is not None:
                update_ema(self.state.gan.G_ema, self.state.gan.G, self.cfg.train.ema, self.state.g_updates)

    def _check_finite(self, *steps: tuple[_Player, Tensor]) -> None:
        """Raise _NonFinite before any update if a loss is NaN/Inf (one host sync in all).

        Gradients are not read here (a pass over every gradient cost about 1.9 ms, 4-6 % of an mnist step): a NaN/Inf
        gradient behind a finite loss reaches the weights, and from there the next step's losses (a matmul
        with a NaN/Inf weight gives NaN), the weights' check of every log row and the one before every sample
        figure and checkpoint. Each rolls back to the same last good state, so the run continues exactly as if
        the gradient had been caught; only the rollback's row names the later step.
        """
        if not self.cfg.train.guard:
            return
        totals = torch.stack([loss.detach().float() for _, loss in steps])  # NaN/Inf propagate
        for ok, (player, _) in zip(self._finite(totals), steps, strict=True):
            if not ok:
                raise _NonFinite(f"NaN/Inf in the {player.name} loss")

    def _finite(self, totals: torch.Tensor) -> list[bool]:
        """Which totals are finite (the host sync); data-parallel training agrees on it across ranks."""
        return torch.isfinite(totals).tolist()

    def _record_d(self, out: StepOutput) -> None:
        assert out.logits_real is not None
        with torch.no_grad():
            d_real = torch.sigmoid(out.logits_real).mean()
            d_fake = torch.sigmoid(out.logits_fake).mean()
            value = losses.value(out.logits_real, out.logits_fake)  # the minibatch V, whatever D minimised
            row = torch.stack([out.loss.detach().float(), value, d_real, d_fake, self._one])  # D_LOSS..N_D
            self.state.acc[D_LOSS : N_D + 1] += row.double()  # one add instead of five

    def _record_g(self, out: StepOutput) -> None:
        with torch.no_grad():
            self.state.acc[G_LOSS : N_G + 1] += torch.stack([out.loss.detach().float(), self._one]).double()

    # -- what a data-parallel trainer replaces (training/distributed.py) --------------------------------
    def _draw_real(self) -> tuple[Tensor, Tensor | None]:
        """``(m, *shape)`` the next data minibatch and ``(m,)`` its labels (None for unlabelled data)."""
        return self.state.sampler.next()

    def _draw_noise(self) -> Tensor:
        """``(m, noise_dim)`` fresh noise from the run's noise stream."""
        return self.state.gan.noise(self.cfg.train.batch_size, self.state.noise_gen)

    def _draw_fake_labels(self) -> Tensor | None:
        """``(m,)`` the classes of a fake batch in a conditional run (None otherwise): a categorical draw from
        the training split's class frequencies with the noise stream."""
        if self._class_freqs is None:
            return None
        return torch.multinomial(
            self._class_freqs, self.cfg.train.batch_size, replacement=True, generator=self.state.noise_gen
        )

    def _log_sums(self) -> list[float]:
        """The log interval's running sums (see ``TrainState.acc``) as numbers."""
        return self.state.acc.tolist()

    def _stop_requested(self) -> bool:
        return self._signal is not None

    # -- one iteration ---------------------------------------------------------------------------------
    def d_step(self, x_real: Tensor, y: Tensor | None = None) -> None:
        """One D update on the data minibatch ``x_real`` ``(m, *shape)`` (labels ``y`` ``(m,)`` or None) and
        fresh noise (G fixed)."""
        z = self._draw_noise()  # (m, noise_dim)
        y_fake = self._draw_fake_labels()  # (m,) in a conditional run, else None (the fakes take y)
        with self._amp():
            out = self.state.gan.d_objective(x_real, z, y, y_fake=y_fake)
        self._update((self._d, out.loss))
        self._record_d(out)

    def g_step(self, y: Tensor | None = None) -> None:
        """One G update on fresh noise (D fixed; D's dropout stays active, as in the authors' code); ``y``
        ``(m,)``: the labels of the fake batch, or None; a conditional run draws them instead."""
        z = self._draw_noise()  # (m, noise_dim)
        y_fake = self._draw_fake_labels()  # (m,) in a conditional run
        with self._amp():
            out = self.state.gan.g_objective(z, y if y_fake is None else y_fake)
        self._update((self._g, out.loss))
        self._record_g(out)

    def simultaneous_step(self, x_real: Tensor, y: Tensor | None = None) -> None:
        """Both players from one minibatch and one fake batch; gradients taken at the same parameters."""
        z = self._draw_noise()  # (m, noise_dim)
        y_fake = self._draw_fake_labels()  # (m,) in a conditional run, else None (the fakes take y)
        with self._amp():
            d_out, g_out = self.state.gan.simultaneous_objectives(x_real, z, y, y_fake=y_fake)
        self._update((self._d, d_out.loss), (self._g, g_out.loss))
        self._record_d(d_out)
        self._record_g(g_out)

    def iteration(self) -> None:
        """One training iteration of the configured update rule."""
        with matmul_precision(self.precision):  # forward and backward passes alike
            if self.cfg.train.update == "simultaneous":
                self.simultaneous_step(*self._draw_real())
            else:
                for _ in range(self.cfg.train.k):
                    x_real, y = self._draw_real()  # (m, *shape), (m,) or None
                    self.d_step(x_real, y)
                self.g_step(y)
        self.state.step += 1

    # -- logging ---------------------------------------------------------------------------------------
    def log_row(self) -> dict[str, Any]:
        """Close the current log interval: a row of means, and reset the running sums."""
        s, acc = self.state, self._log_sums()
        n_d, n_g = max(acc[N_D], 1), max(acc[N_G], 1)
        now = time.perf_counter()
        seconds = max(now - self._t_interval, 1e-9)
        self._t_interval = now
        examples = acc[N_D] * self.cfg.train.batch_size
        row = {
            "step": s.step,
            "epoch": round(s.sampler.epoch_float, 6),
            "d_loss": acc[D_LOSS] / n_d,
            "g_loss": acc[G_LOSS] / n_g,
            "value": acc[VALUE] / n_d,
            "d_real": acc[D_REAL] / n_d,
            "d_fake": acc[D_FAKE] / n_d,
            "lr_d": learning_rate(self.cfg.optim_d, s.d_updates) * s.lr_scale,
            "lr_g": learning_rate(self.cfg.optim_g, s.g_updates) * s.lr_scale,
            "momentum": momentum(self.cfg.optim_d, s.sampler.epoch) if self.cfg.optim_d.name == "sgd" else None,
            "elapsed_s": round(seconds, 4),
            "img_per_s": round(examples / seconds, 1),
        }
        if s.selection is not None and s.selection.last:  # train.select: the newest score, the best step so far
            last = {f"val_{k}": v if math.isfinite(v) else None for k, v in s.selection.last.items()}
            row |= last | {"best_step": s.selection.best_step}
        s.acc.zero_()
        return row

    # -- the divergence guard ------------------------------------------------------------------------
    def take_snapshot(self) -> None:
        """Remember the current state (copied to the CPU) as the last good one to roll back to."""
        from ..io.checkpoint import flatten

        self._snapshot = flatten(self.state.state_dict())

    def _weights_finite(self) -> bool:
        return all(bool(torch.isfinite(p).all()) for p in (*self._d_params, *self._g_params))

    def _rollback(self, reason: str) -> None:
        """Restore the last good state, scale the learning rates down, and record the event."""
        from ..io.checkpoint import unflatten

        s, t = self.state, self.cfg.train
        failed_at = s.step + 1
        if s.rollbacks >= t.guard_max_rollbacks:
            raise TrainingDiverged(
                f"training diverged: {reason} at step {failed_at} after {s.rollbacks} rollbacks; "
                "lower the learning rates (optim_d.lr, optim_g.lr)"
            )
        rollbacks, scale = s.rollbacks + 1, s.lr_scale * t.guard_lr_factor
        if self._snapshot is None:
            raise RuntimeError("no snapshot to roll back to: take_snapshot() runs before the first update")
        tree, tensors = self._snapshot
        s.load_state_dict(unflatten(tree, tensors))
        s.rollbacks, s.lr_scale = rollbacks, scale
        row = {
            "event": "rollback",
            "step": failed_at,
            "reason": reason,
            "to_step": s.step,
            "lr_scale": scale,
            "rollbacks": rollbacks,
        }
        self.write_row(row)
        log.warning(
            "%s at step %d: rolled back to step %d, learning rates x%g (rollback %d of at most %d)",
            reason,
            failed_at,
            s.step,
            scale,
            rollbacks,
            t.guard_max_rollbacks,
        )

    def _guarded_iteration(self) -> bool:
        """One iteration; False when it was rolled back instead."""
        try:
            self.iteration()
        except _NonFinite as e:
            self._rollback(str(e))
            return False
        return True

    # -- the loop --------------------------------------------------------------------------------------
    def _handle_signal(self, signum: int, frame: Any) -> None:
        if self._signal is not None:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self._signal = signum
        log.warning("signal %d: finishing step %d, then saving a checkpoint", signum, self.state.step + 1)

    def fit(self) -> TrainState:
        """Train until the budget is spent; returns the final state.

        Raises:
            TrainingInterrupted: after SIGINT/SIGTERM, once the current step is done and a checkpoint written.
        """
        t, total = self.cfg.train, self.total_steps
        installed = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                installed[sig] = signal.signal(sig, self._handle_signal)
        with flush_denormal():  # subnormal floats: zero while training (a 7x slowdown in long runs otherwise)
            self._fit(t, total, installed)
        return self.state

    def _fit(self, t: Any, total: int, installed: dict[Any, Any]) -> None:
        try:
            for cb in self.callbacks:
                getattr(cb, "on_start", lambda tr: None)(self)
            self._t_interval = time.perf_counter()
            self.take_snapshot()
            sel = self.selector
            while self.state.step < total and not (sel is not None and sel.stopped):
                if not self._guarded_iteration():
                    continue
                step = self.state.step
                logs = step % t.log_every == 0 or step == total
                samples = bool(t.sample_every) and step % t.sample_every == 0 and step != total
                saves = bool(t.checkpoint_every) and step % t.checkpoint_every == 0 and step != total
                scores = sel is not None and sel.due(step, total)
                kept = logs or samples or saves or scores or self._stop_requested()
                if t.guard and kept and not self._weights_finite():
                    self._rollback("NaN/Inf in the weights")  # before anything of this state is kept
                    continue
                if scores and sel is not None:
                    sel.score(step)
                    if sel.stopped:  # train.patience scores without a better one: the run ends at this step
                        log.info("step %d: no better validation score in %d scores; stopping", step, t.patience)
                        logs, samples, saves = True, False, False
                if logs:
                    row = self.log_row()
                    self.write_row(row)
                    for cb in self.callbacks:
                        getattr(cb, "on_log", lambda tr, r: None)(self, row)
                if samples:
                    self.on_samples(self)
                if saves:
                    self.save_checkpoint(self, "interval")
                    self.take_snapshot()
                if self._stop_requested():
                    self.save_checkpoint(self, "signal")
                    raise TrainingInterrupted(self._signal or signal.SIGTERM, step)
            self.on_samples(self)
            self.save_checkpoint(self, "end")
            for cb in self.callbacks:
                getattr(cb, "on_end", lambda tr: None)(self)
        finally:
            for sig, handler in installed.items():
                signal.signal(sig, handler)
