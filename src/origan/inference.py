"""Learned approximate inference (the paper's Section 7.2): an encoder E: x -> z fitted to a trained G.

"The inference net may be trained for a fixed generator net after the generator net has finished training":
each step draws a fresh batch ``z ~ p_z`` and minimises the mean squared error ``||E(G(z)) - z||^2`` over it
(G fixed, in eval mode). Optional refinement steps then minimise ``||x - G(E(x))||^2`` on real training
examples (gradients through the fixed G into E).

E is an MLP for vector data and a convolutional net for images (the DCGAN discriminator's body: stride-2
convolutions with LeakyReLU) followed by a hidden layer (its features) and a linear map to z; for a uniform
prior its output is squashed into the prior's box. It is stored as ``RUN/encoder/encoder.safetensors`` +
``encoder.json`` in the checkpoint format (atomic, checksummed, no pickle), with the G checkpoint it was
fitted to: after more training of G the encoder is refused until it is fitted again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from .errors import CheckpointError, ConfigError, DataError

if TYPE_CHECKING:
    from .run import Run

__all__ = [
    "ENCODER_DIR",
    "Encoder",
    "EncoderSpec",
    "check_encoder",
    "encode",
    "encoder_path",
    "fit_encoder",
    "has_encoder",
    "load_encoder",
    "read_inputs",
    "save_encoder",
    "usable_encoder",
]

log = logging.getLogger(__name__)

ENCODER_DIR = "encoder"
ENCODER_NAME = "encoder"


@dataclass(frozen=True)
class EncoderSpec:
    """How an encoder is built and fitted (stored in its manifest)."""

    shape: tuple[int, ...]  # one sample's shape
    noise_dim: int
    prior: str  # "uniform" (output squashed into the prior's box) or "normal"
    half_width: float = 0.0  # the uniform prior's half-width
    arch: str = "mlp"  # "mlp" or "conv"
    hidden: tuple[int, ...] = (256, 256)  # MLP widths; the last is the feature layer
    width: int = 32  # channels of the first convolution (conv)
    features: int = 256  # the feature layer after the convolutions (conv)


class Encoder(nn.Module):
    """``x (n, *shape) -> z (n, noise_dim)``; :meth:`features` gives the last hidden layer."""

    def __init__(self, spec: EncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        if spec.arch == "conv":
            from .models.conv import DCGANDiscriminator

            body = DCGANDiscriminator(spec.shape, spec.width).body  # stride-2 convs, LeakyReLU(0.2)
            with torch.no_grad():
                flat = body(torch.zeros(1, *spec.shape)).numel()
            self.body = nn.Sequential(body, nn.Flatten(), nn.Linear(flat, spec.features), nn.ReLU())
            width = spec.features
        else:
            layers: list[nn.Module] = [nn.Flatten()]
            width = math.prod(spec.shape)
            for h in spec.hidden:
                layers += [nn.Linear(width, h), nn.ReLU()]
                width = h
            self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, spec.noise_dim)

    def features(self, x: Tensor) -> Tensor:
        """``(n, F)`` the last hidden layer."""
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        z = self.head(self.body(x))  # (n, noise_dim)
        return self.spec.half_width * torch.tanh(z) if self.spec.prior == "uniform" else z


def default_spec(run: Run, hidden: Sequence[int] = (), width: int = 0) -> EncoderSpec:
    """The encoder for ``run``'s data: convolutional for square images the DCGAN body takes, else an MLP."""
    from .models.conv import dcgan_plan

    shape = tuple(run.data_info["shape"])
    arch = "mlp"
    if run.data_info["kind"] == "image":
        try:
            dcgan_plan(shape)
            arch = "conv"
        except ConfigError:
            pass
    prior = run.config.noise.prior
    half = float(getattr(run.gan.prior, "half_width", 0.0)) if prior == "uniform" else 0.0
    spec = EncoderSpec(shape, run.config.noise.dim, prior, half, arch)
    if hidden:
        spec = EncoderSpec(**{**asdict(spec), "hidden": tuple(hidden), "features": hidden[-1]})
    if width:
        spec = EncoderSpec(**{**asdict(spec), "width": width})
    return spec


def encoder_path(run_path: Path) -> Path:
    """The manifest of ``run_path``'s encoder."""
    return Path(run_path) / ENCODER_DIR / f"{ENCODER_NAME}.json"


def has_encoder(run: Run) -> bool:
    """Whether ``run`` has a stored encoder (intact or not)."""
    return run.path is not None and encoder_path(run.path).exists()


def usable_encoder(run: Run) -> bool:
    """Whether ``run`` has an encoder that loads and fits its G; a damaged or stale one is logged, not raised
    (for defaults that add the encoder's metrics only when they can run)."""
    if not has_encoder(run):
        return False
    try:
        load_encoder(run)
    except CheckpointError as e:
        log.warning("not using the encoder: %s", e)
        return False
    return True


def _generator_sha(run: Run) -> str:
    from .io.checkpoint import verify_checkpoint

    if run.checkpoint is None:
        raise CheckpointError("encode: this run was not loaded from a checkpoint")
    return str(verify_checkpoint(run.checkpoint)["sha256"])


def _freeze(gan_g: nn.Module) -> list[bool]:
    flags = [p.requires_grad for p in gan_g.parameters()]
    for p in gan_g.parameters():
        p.requires_grad_(False)
    return flags


def fit_encoder(
    run: Run,
    steps: int = 2000,
    refine_real: int = 0,
    batch_size: int = 128,
    lr: float = 1e-3,
    seed: int = 0,
    spec: EncoderSpec | None = None,
    real: Tensor | None = None,
) -> tuple[Encoder, list[dict[str, float]]]:
    """Fit E to the run's G: ``steps`` Adam steps on fresh pairs (z, G(z)), then ``refine_real`` steps on
    ``real`` examples (default: the run's training split). Returns E (eval mode) and per-phase losses."""
    if steps < 1:
        raise ConfigError(f"--steps: expected a positive number of steps, got {steps}")
    if refine_real < 0:
        raise ConfigError(f"--refine-real: expected a number of steps >= 0, got {refine_real}")
    if batch_size < 1 or not (math.isfinite(lr) and lr > 0):
        raise ConfigError(f"--batch-size / --lr: expected positive values, got {batch_size} / {lr}")
    if getattr(run.gan.G, "conditional", False):
        raise ConfigError("encode: an encoder for a conditional generator G(z, y) is not supported")
    spec = spec or default_spec(run)
    gen = torch.Generator().manual_seed(seed)
    G, was_training = run.gan.G, run.gan.G.training
    G.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        E = Encoder(spec)
    opt = torch.optim.Adam(E.parameters(), lr=lr)
    history: list[dict[str, float]] = []
    flags = _freeze(G)
    try:
        E.train()
        for step in range(1, steps + 1):
            z = run.gan.prior.sample(batch_size, generator=gen)  # (b, dim), fresh each step
            with torch.no_grad():
                x = G(z)
            loss = (E(x) - z).square().sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % 100 == 0 or step == steps:
                history.append({"phase": 0.0, "step": float(step), "z_sq_error": float(loss.detach())})
        if refine_real:
            history += _refine(E, G, opt, _real_examples(run, real), refine_real, batch_size, gen)
    finally:
        for p, f in zip(G.parameters(), flags, strict=True):
            p.requires_grad_(f)
        G.train(was_training)
    return E.eval(), history


def _real_examples(run: Run, real: Tensor | None) -> Tensor:
    if real is not None:
        return real
    from .data import build_dataset

    return build_dataset(run.config.data).train


def _refine(
    E: Encoder, G: nn.Module, opt: Any, x_all: Tensor, steps: int, batch_size: int, gen: torch.Generator
) -> list[dict[str, float]]:
    history = []
    for step in range(1, steps + 1):
        x = x_all[torch.randint(0, len(x_all), (batch_size,), generator=gen)].float()
        loss = (G(E(x)) - x).flatten(1).square().sum(1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps:
            history.append({"phase": 1.0, "step": float(step), "x_sq_error": float(loss.detach())})
    return history


@torch.no_grad()
def check_encoder(run: Run, E: Encoder, n: int = 1000, seed: int = 0) -> dict[str, float]:
    """E on ``n`` fresh draws (never trained on) with their baselines: the mean ``||E(G(z)) - z||^2`` beside
    ``||z||^2`` (the error of guessing p_z's mean, 0), and the mean ``||G(E(G(z))) - G(z)||`` beside
    ``||G(z') - G(z)||`` for an independent ``z'`` (two unrelated samples)."""
    from .seeding import derive_seed

    gen = torch.Generator().manual_seed(derive_seed(seed, "encoder-check"))
    z, z_other = run.gan.prior.sample(n, generator=gen), run.gan.prior.sample(n, generator=gen)  # (n, dim) each
    x = run.gan.sample(n, z=z).cpu()
    z_hat = encode(E, x)

    def l2(a: Tensor, b: Tensor) -> float:
        return float((a.double() - b.double()).flatten(1).square().sum(1).sqrt().mean())

    return {
        "z_sq_error": float((z_hat.double() - z.double()).square().sum(1).mean()),
        "z_sq_norm": float(z.double().square().sum(1).mean()),
        "x_l2": l2(run.gan.sample(n, z=z_hat).cpu(), x),
        "x_l2_independent": l2(run.gan.sample(n, z=z_other).cpu(), x),
        "n": float(n),
    }


def save_encoder(
    run: Run,
    E: Encoder,
    history: list[dict[str, float]],
    options: dict[str, Any],
    check: dict[str, float] | None = None,
) -> Path:
    """Write ``RUN/encoder/encoder.{safetensors,json}`` atomically; return the manifest's path."""
    from .config import to_dict
    from .io.checkpoint import save_checkpoint

    if run.path is None:
        raise CheckpointError("encode --train: needs a run directory to store the encoder in")
    extra = {
        "step": run.step,
        "config": to_dict(run.config),
        "data": run.data_info,
        "encoder": {
            "spec": asdict(E.spec),
            "generator_sha256": _generator_sha(run),
            "options": options,
            "history": history,
            "check": check or {},
        },
    }
    return save_checkpoint(Path(run.path) / ENCODER_DIR, ENCODER_NAME, {"E": E.state_dict()}, extra)


def load_encoder(run: Run) -> Encoder:
    """The run's stored encoder; a missing, damaged or stale one (G trained since) is a CheckpointError."""
    from .io.checkpoint import load_checkpoint

    if run.path is None or not encoder_path(run.path).exists():
        where = run.path if run.path is not None else "this checkpoint"
        raise CheckpointError(f"{where}: no encoder yet; fit one with `origan encode {where} --train`")
    ckpt = load_checkpoint(encoder_path(run.path))
    info: Any = ckpt.manifest.get("encoder")
    try:
        spec_d = dict(info["spec"])
        spec = EncoderSpec(**{**spec_d, "shape": tuple(spec_d["shape"]), "hidden": tuple(spec_d["hidden"])})
        E = Encoder(spec)
        E.load_state_dict(ckpt.state["E"])
        sha = info["generator_sha256"]
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{ckpt.path}: not an encoder of this run ({first[:200]})") from None
    if sha != _generator_sha(run) or spec.shape != tuple(run.data_info["shape"]):
        raise CheckpointError(
            f"{ckpt.path}: fitted to G at step {ckpt.step}, the run's G is now step {run.step}; "
            f"fit it again with `origan encode {run.path} --train`"
        )
    return E.eval()


@torch.no_grad()
def encode(E: Encoder, x: Tensor, batch_size: int = 1024) -> Tensor:
    """``(n, noise_dim)`` E(x) for ``x`` ``(n, *shape)`` (or ``(n, prod(shape))``)."""
    shape = E.spec.shape
    x = x.detach().float().cpu()
    if tuple(x.shape[1:]) != shape and not (x.ndim == 2 and x.shape[1] == math.prod(shape)):
        raise DataError(f"encode: expected examples of shape {list(shape)}, got {list(x.shape[1:])}")
    x = x.reshape(len(x), *shape)
    if not torch.isfinite(x).all():
        raise DataError("encode: the input holds NaN or infinite values")
    return (
        torch.cat([E(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
        if len(x)
        else x.new_zeros(0, E.spec.noise_dim)
    )


def read_inputs(path: str | Path, shape: Sequence[int], kind: str) -> Tensor:
    """Examples to encode from ``path``: a ``.npy`` array ``(n, *shape)``, one image, or a folder of images
    (decoded to the run's ``(C, S, S)`` in [0, 1], sorted by path)."""
    import numpy as np

    from .data.folders import IMAGE_SUFFIXES, decode_image, list_images

    path, shape = Path(path), tuple(shape)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        if kind != "image" or len(shape) != 3:
            raise DataError(f"{path}: images given, but this run's data are {kind} of shape {list(shape)}")
        files = list_images(path) if path.is_dir() else [path]
        if not files:
            raise DataError(f"{path}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        arr = np.stack([decode_image(f, shape[1], shape[0]) for f in files]).astype(np.float32) / 255.0
        return torch.from_numpy(arr)
    if path.suffix.lower() != ".npy":
        raise DataError(f"{path}: unknown input type {path.suffix!r}; expected .npy, an image or a folder of images")
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"{path}: not a readable .npy array ({str(e).splitlines()[0][:120]})") from None
    if arr.dtype.kind not in "fiub":
        raise DataError(f"{path}: expected a numeric array, got dtype {arr.dtype}")
    x = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    if x.ndim == 0 or (tuple(x.shape[1:]) != shape and not (x.ndim == 2 and x.shape[1] == math.prod(shape))):
        raise DataError(f"{path}: expected an array of shape (n, {', '.join(map(str, shape))}), got {list(x.shape)}")
    return x.reshape(len(x), *shape)
