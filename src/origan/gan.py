"""The game: G, D and the noise prior, and the objectives of each player's step.

Networks are plain modules (they return samples and logits); the game says what each step optimises.
The trainer owns optimizers, ``backward`` and the order of steps (Algorithm 1).

Every objective takes the batch's labels ``y`` ``(m,)`` (None for unlabelled data). A net that declares
``conditional = True`` is called as ``G(z, y)`` / ``D(x, y)``; any other net is called as ``G(z)`` / ``D(x)``
and the labels are ignored, so unconditional runs keep their exact trajectories on labelled data too. The
fakes take the data's labels unless the objective is given ``y_fake`` (a conditional run draws them from the
training split's class frequencies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, cast

import torch
from torch import Tensor, nn

from .losses import d_loss, d_loss_halved, g_loss
from .priors import Prior

__all__ = ["GAN", "StepOutput"]


def _fp32(logits: Tensor) -> Tensor:
    """Logits from a bf16/fp16 autocast pass, in fp32 for the losses; fp32 and fp64 pass through untouched."""
    return logits.float() if logits.dtype in (torch.bfloat16, torch.float16) else logits


class _BindsPrior(Protocol):
    """A generator with an exact density (models.flows): it takes p_z for its log p_g."""

    def bind_prior(self, prior: Prior) -> None: ...


@dataclass
class StepOutput:
    """One objective with what the logs need. Tensors stay on the device (no host sync)."""

    loss: Tensor  # scalar, the objective being minimised
    logits_real: Tensor | None  # (m,) D's logits on data, when the step saw data
    logits_fake: Tensor  # (m,) D's logits on G(z)


class GAN(nn.Module):
    """G, D and p_z, with the generator cost chosen by name.

    Args:
        generator: ``z (n, noise_dim) -> x (n, *shape)``.
        discriminator: ``x (n, *shape) -> logits (n,)``.
        prior: the noise distribution p_z.
        generator_loss: ``"minimax"``, ``"nonsaturating"`` or ``"ml"`` (see :mod:`origan.losses`).
    """

    def __init__(
        self, generator: nn.Module, discriminator: nn.Module, prior: Prior, generator_loss: str = "nonsaturating"
    ) -> None:
        super().__init__()
        self.G = generator
        self.D = discriminator
        self.prior = prior
        if hasattr(generator, "bind_prior"):  # an invertible G gets p_z for its exact log p_g (models.flows)
            cast(_BindsPrior, generator).bind_prior(prior)  # the cast states what hasattr checked
        self.generator_loss = generator_loss
        self._g_loss = g_loss(generator_loss)
        self._update_modules: tuple[nn.Module, nn.Module] | None = None  # (G, D) called for the updated player
        self.augment: nn.Module | None = None  # T: what D sees of every image in training (training.augment)
        self.G_ema: nn.Module | None = None  # a moving average of G's weights; samples come from it when set
        self._conditional = {
            "G": bool(getattr(generator, "conditional", False)),
            "D": bool(getattr(discriminator, "conditional", False)),
        }

    def use_update_modules(self, generator: nn.Module, discriminator: nn.Module) -> None:
        """Call these (DDP wrappers of G and D) for the player an objective updates; the other player's net
        is called directly, so a wrapper only ever sees the passes whose gradients it must reduce."""
        self._update_modules = (generator, discriminator)

    def _updating(self, player: str) -> nn.Module:
        if self._update_modules is None:
            return self.G if player == "G" else self.D
        return self._update_modules[0] if player == "G" else self._update_modules[1]

    def _call(self, player: str, inputs: Tensor, y: Tensor | None, update: bool) -> Tensor:
        """``net(inputs, y)`` for a conditional net given labels, else ``net(inputs)``; ``update`` picks the
        module that reduces gradients (see :meth:`use_update_modules`)."""
        net = self._updating(player) if update else (self.G if player == "G" else self.D)
        if y is not None and self._conditional[player]:
            return net(inputs, y)
        return net(inputs)

    def call(self, player: str, inputs: Tensor, y: Tensor | None = None) -> Tensor:
        """``player``'s training net (``"G"``: G itself, never its average; ``"D"``) on ``inputs``, given the
        labels ``y`` if the net is conditional, exactly as the objectives call it; no mode or grad handling.
        For passes that stand for training's (the thread probe); samples come from :meth:`generate`."""
        return self._call(player, inputs, y, update=False)

    def _d_pass(self, x_real: Tensor, x_fake: Tensor, y: Tensor | None, y_fake: Tensor | None) -> tuple[Tensor, Tensor]:
        """``(m,), (m,)`` D's logits on data (labels ``y``) and on G's samples (labels ``y_fake``) from one pass
        over ``[x_real; x_fake]``; dropout masks are drawn per example, so it equals two passes."""
        labelled = self._conditional["D"] and y is not None and y_fake is not None
        y_both = torch.cat([y, y_fake]) if labelled else None  # type: ignore[list-item]  # (2m,)
        logits = _fp32(self._call("D", self._seen(torch.cat([x_real, x_fake])), y_both, update=True))  # (2m,)
        return logits[: len(x_real)], logits[len(x_real) :]

    def _seen(self, x: Tensor) -> Tensor:
        """What D sees of images in training: ``T(x)`` with augmentation on, else ``x`` itself."""
        return x if self.augment is None else self.augment(x)

    @property
    def sampler(self) -> nn.Module:
        """The generator samples come from: the moving average of G's weights when there is one, else G."""
        return self.G if self.G_ema is None else self.G_ema

    @property
    def device(self) -> torch.device:
        return next(self.G.parameters()).device

    def noise(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, noise_dim)`` draws from p_z on the model's device."""
        return self.prior.sample(n, generator=generator, device=self.device)

    def d_objective(
        self, x_real: Tensor, z: Tensor, y: Tensor | None = None, y_fake: Tensor | None = None
    ) -> StepOutput:
        """D's step: minimise -V on a data minibatch (labels ``y``) and G(z) (labels ``y_fake``, default ``y``);
        G is held fixed (no graph through G). Real and fake go through D in one pass."""
        y_fake = y if y_fake is None else y_fake
        with torch.no_grad():
            x_fake = self._call("G", z, y_fake, update=False)  # (m, *shape)
        logits_real, logits_fake = self._d_pass(x_real, x_fake, y, y_fake)
        return StepOutput(d_loss(logits_real, logits_fake), logits_real, logits_fake)

    def g_objective(self, z: Tensor, y: Tensor | None = None) -> StepOutput:
        """G's step: minimise the chosen generator cost of D's logits on G(z) (labels ``y`` for both)."""
        x_fake = self._call("G", z, y, update=True)  # (m, *shape)
        logits_fake = _fp32(self._call("D", self._seen(x_fake), y, update=False))  # (m,)
        return StepOutput(self._g_loss(logits_fake), None, logits_fake)

    def simultaneous_objectives(
        self, x_real: Tensor, z: Tensor, y: Tensor | None = None, y_fake: Tensor | None = None
    ) -> tuple[StepOutput, StepOutput]:
        """The authors' released update: one pass of D over data and G(z) (same dropout masks) gives both
        D's halved objective ``0.5 * (BCE(1, D(x)) + BCE(0, D(G(z))))`` and G's cost on the same logits.
        The fakes' labels are ``y_fake`` (default ``y``).
        """
        y_fake = y if y_fake is None else y_fake
        x_fake = self._call("G", z, y_fake, update=True)  # (m, *shape), with graph: G's cost needs it
        logits_real, logits_fake = self._d_pass(x_real, x_fake, y, y_fake)
        d_out = StepOutput(d_loss_halved(logits_real, logits_fake), logits_real, logits_fake)
        g_out = StepOutput(self._g_loss(logits_fake), logits_real, logits_fake)
        return d_out, g_out

    @property
    def conditional(self) -> bool:
        """Whether G is class-conditional (called as ``G(z, y)``)."""
        return self._conditional["G"]

    def generate(self, z: Tensor, y: Tensor | None = None, batch_size: int = 4096, *, grad: bool = False) -> Tensor:
        """``(n, *shape)`` G(z) for ``z`` ``(n, noise_dim)``: THE way to run a trained G, on the model's device.

        The net is :attr:`sampler` (the moving average of G's weights when the run keeps one, else G), in eval
        mode (dropout off, batch norm on its running statistics) and restored to its mode afterwards; ``z`` and
        ``y`` move to the model's device batch by batch. ``y`` ``(n,)``: the classes of a conditional G
        (required by one, ignored by an unconditional G).

        ``grad=False``: no graph. ``grad=True``: the graph runs through G into ``z`` (an encoder's refinement
        minimises ``||x - G(E(x))||^2``), while G's own weights are held fixed: they are frozen for the call,
        so a later ``backward`` reaches ``z`` but never G. Training's G steps do not come here (see
        :meth:`g_objective`): they update the raw G, not its average.
        """
        net = self.sampler
        if self._conditional["G"]:
            if y is None:
                raise ValueError("a conditional G needs the class of every sample (y)")
            if len(y) != len(z):
                raise ValueError(f"y holds {len(y)} classes for {len(z)} noise vectors")
        device = self.device
        was_training = net.training
        frozen = [p for p in net.parameters() if p.requires_grad] if grad else []
        net.eval()
        try:
            for p in frozen:
                p.requires_grad_(False)
            with torch.set_grad_enabled(grad):
                out = []
                for i in range(0, len(z), batch_size) if len(z) else [0]:  # an empty z still gives (0, *shape)
                    zb = z[i : i + batch_size].to(device)  # (b, noise_dim)
                    if self._conditional["G"]:
                        out.append(net(zb, y[i : i + batch_size].to(device)))  # type: ignore[index]
                    else:
                        out.append(net(zb))
                return out[0] if len(out) == 1 else torch.cat(out)
        finally:
            for p in frozen:
                p.requires_grad_(True)
            net.train(was_training)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        z: Tensor | None = None,
        batch_size: int = 4096,
        y: Tensor | None = None,
    ) -> Tensor:
        """``(n, *shape)`` samples G(z), z ~ p_z, by :meth:`generate` (from :attr:`sampler`, in eval mode);
        ``z`` overrides the draw; ``y`` ``(n,)``: the classes of a conditional G (required by one, ignored by an
        unconditional G)."""
        if z is None:
            z = self.prior.sample(
                n,
                generator=generator,
                device="cpu" if generator is None or generator.device.type == "cpu" else generator.device,
            )
        return self.generate(z, y, batch_size)

    @torch.no_grad()
    def discriminate(self, x: Tensor, batch_size: int = 4096) -> Tensor:
        """``(n,)`` D(x) = sigmoid(logit), with D in eval mode (dropout off)."""
        was_training = self.D.training
        self.D.eval()
        try:
            x = x.to(self.device)
            return torch.cat([torch.sigmoid(self.D(x[i : i + batch_size])) for i in range(0, len(x), batch_size)])
        finally:
            self.D.train(was_training)
