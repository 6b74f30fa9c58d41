"""Latent walks (the paper's Figure 3): G along straight (or great-circle) paths between noise vectors.

```python
walk = run.interpolate(rows=8, steps=10, seed=0)     # walk.x: (8, 10, *shape), walk.z: (8, 10, noise_dim)
write_interpolation(walk, "walk.png", run.data_info["kind"])
```

Each row joins two draws ``z0``, ``z1`` of p_z in ``steps`` points ``z(t)``, ``t = 0, 1/(steps-1), ..., 1``:

- ``linear``: ``z(t) = (1 - t) z0 + t z1`` (the paper's "linearly interpolating between coordinates in z space");
- ``slerp`` (Gaussian noise only): ``z(t) = sin((1 - t) w) / sin w * z0 + sin(t w) / sin w * z1`` with
  ``w`` the angle between ``z0`` and ``z1``; it keeps the norm typical of N(0, I), which a straight line does
  not (the middle of a chord is shorter than its ends).

The first and last columns are exactly ``G(z0)`` and ``G(z1)``: the endpoints are evaluated as one batch of
``z0`` and one of ``z1`` (the same call as ``GAN.sample(rows, z=z0)``), the points between as a third batch.

For a conditional G (a net with ``conditional = True``, called ``G(z, y)``) each row keeps one class
(row ``i`` draws class ``i mod K``), and ``across_classes`` gives the other walk: one fixed ``z`` per row,
the columns the ``K`` classes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from .errors import ConfigError, UserError
from .io.files import open_atomic

if TYPE_CHECKING:
    from .data.toy import GaussianMixture
    from .gan import GAN

__all__ = [
    "METHODS",
    "Interpolation",
    "check_interpolation_output",
    "interpolate",
    "path_points",
    "write_interpolation",
]

METHODS = ("linear", "slerp")
FORMS = {".png": "picture", ".gif": "animation", ".npy": "npy"}
GIF_MS_PER_FRAME = 150


@dataclass
class Interpolation:
    """A grid of latent walks.

    Attributes:
        z: ``(rows, steps, noise_dim)`` the noise of every point.
        x: ``(rows, steps, *shape)`` G's output at every point (CPU).
        t: ``(steps,)`` the path parameter of each column (``None`` for a walk across classes).
        labels: ``(rows, steps)`` class indices given to a conditional G, else ``None``.
        method: ``linear``, ``slerp`` or ``classes``.
    """

    z: Tensor
    x: Tensor
    t: Tensor | None
    labels: Tensor | None
    method: str


def path_points(z0: Tensor, z1: Tensor, t: Tensor, method: str = "linear") -> Tensor:
    """``(rows, steps, dim)`` points between ``z0`` and ``z1`` (``(rows, dim)``) at ``t`` ``(steps,)`` in [0, 1].

    The first and last points are ``z0`` and ``z1`` themselves (copied, not recomputed) when ``t`` starts at 0
    and ends at 1.
    """
    if method not in METHODS:
        raise ConfigError(f"--method: expected one of {', '.join(METHODS)}, got {method!r}")
    a, b, tt = z0[:, None, :], z1[:, None, :], t[None, :, None].to(z0)  # (rows, 1, dim), (1, steps, 1)
    if method == "linear":
        z = (1 - tt) * a + tt * b
    else:
        cos = torch.nn.functional.cosine_similarity(z0, z1, dim=1).clamp(-1.0, 1.0)  # (rows,)
        omega = torch.arccos(cos)[:, None, None]  # (rows, 1, 1)
        sin = torch.sin(omega)
        near = sin.abs() < 1e-6  # (anti)parallel ends: the great circle is not unique; take the chord
        safe = torch.where(near, torch.ones_like(sin), sin)
        curved = torch.sin((1 - tt) * omega) / safe * a + torch.sin(tt * omega) / safe * b
        z = torch.where(near, (1 - tt) * a + tt * b, curved)
    if len(t) and float(t[0]) == 0.0:
        z[:, 0] = z0
    if len(t) and float(t[-1]) == 1.0:
        z[:, -1] = z1
    return z


def _classes(gan: GAN, data_info: dict[str, Any]) -> int:
    k = len(data_info.get("classes") or ()) or int(getattr(gan.G, "n_classes", 0) or 0)
    if k < 1:
        raise ConfigError("interpolate: the conditional generator's number of classes is unknown")
    return k


@torch.no_grad()
def _generate(gan: GAN, z: Tensor, y: Tensor | None, batch_size: int = 4096) -> Tensor:
    """``G(z)`` (or ``G(z, y)``) in eval mode, on the CPU, in batches."""
    was_training = gan.G.training
    gan.G.eval()
    try:
        out = []
        for i in range(0, len(z), batch_size):
            zb = z[i : i + batch_size].to(gan.device)
            out.append((gan.G(zb) if y is None else gan.G(zb, y[i : i + batch_size].to(gan.device))).cpu())
        return torch.cat(out)
    finally:
        gan.G.train(was_training)


def interpolate(
    gan: GAN,
    data_info: dict[str, Any],
    rows: int = 8,
    steps: int = 10,
    seed: int = 0,
    method: str = "linear",
    across_classes: bool = False,
    prior_name: str = "",
) -> Interpolation:
    """``rows`` latent walks of ``steps`` points each, endpoints drawn from p_z with a CPU generator seeded
    with ``seed`` (``z0`` for every row, then ``z1``). See the module docstring."""
    if rows < 1:
        raise ConfigError(f"--rows: expected a positive number of rows, got {rows}")
    conditional = bool(getattr(gan.G, "conditional", False))
    if across_classes:
        if not conditional:
            raise ConfigError("--across-classes: needs a conditional run (a generator called as G(z, y))")
        return _across_classes(gan, data_info, rows, seed)
    if steps < 2:
        raise ConfigError(f"--steps: expected at least 2 points per row (the two ends), got {steps}")
    if method == "slerp" and prior_name != "normal":
        raise ConfigError(
            f"--method slerp: needs Gaussian noise (noise.prior=normal); this run's prior is {prior_name}"
        )
    gen = torch.Generator().manual_seed(seed)
    z0 = gan.prior.sample(rows, generator=gen)  # (rows, dim)
    z1 = gan.prior.sample(rows, generator=gen)
    t = torch.linspace(0.0, 1.0, steps)
    z = path_points(z0, z1, t, method)  # (rows, steps, dim)
    y = None
    if conditional:
        y = (torch.arange(rows) % _classes(gan, data_info))[:, None].expand(rows, steps).contiguous()
    yc = (lambda cols: y[:, cols].reshape(-1)) if y is not None else (lambda cols: None)
    ends = [_generate(gan, z[:, c], yc(c)) for c in (0, steps - 1)]  # (rows, *shape) each: G(z0), G(z1)
    inner = _generate(gan, z[:, 1:-1].reshape(-1, z.shape[-1]), yc(slice(1, -1)))  # (rows * (steps - 2), *shape)
    shape = ends[0].shape[1:]
    x = torch.cat([ends[0][:, None], inner.reshape(rows, steps - 2, *shape), ends[1][:, None]], dim=1)
    return Interpolation(z, x, t, y, method)


def _across_classes(gan: GAN, data_info: dict[str, Any], rows: int, seed: int) -> Interpolation:
    k = _classes(gan, data_info)
    z0 = gan.prior.sample(rows, generator=torch.Generator().manual_seed(seed))  # (rows, dim)
    z = z0[:, None, :].expand(rows, k, z0.shape[1]).contiguous()  # (rows, K, dim)
    y = torch.arange(k)[None, :].expand(rows, k).contiguous()  # (rows, K)
    x = _generate(gan, z.reshape(rows * k, -1), y.reshape(-1))
    return Interpolation(z, x.reshape(rows, k, *x.shape[1:]), None, y, "classes")


# -------------------------------------------------------------------------------------------------------
# Writing


def check_interpolation_output(path: Path, kind: str, shape: tuple[int, ...]) -> str:
    """Refuse an output before anything is computed; return its form (``picture``, ``animation``, ``npy``)."""
    path = Path(path)
    form = FORMS.get(path.suffix.lower())
    if form is None:
        raise UserError(f"{path}: unknown output type {path.suffix!r}; expected .png, .gif or .npy")
    if form != "npy" and not (kind == "image" or (kind == "vector" and shape == (2,))):
        raise UserError(
            f"{path}: pictures of a walk need image data or 2-D points; this run's data are {kind} of shape "
            f"{list(shape)} (use .npy)"
        )
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist")
    if path.is_dir():
        raise UserError(f"{path}: is a folder; name a file")
    return form


def write_interpolation(
    walk: Interpolation, path: str | Path, kind: str, target: GaussianMixture | None = None
) -> Path:
    """Write ``walk`` by extension: ``.png`` (a grid for images, paths over the target density for 2-D
    points), ``.gif`` (one frame per column), ``.npy`` (``x`` as float32, ``(rows, steps, *shape)``)."""
    path = Path(path)
    form = check_interpolation_output(path, kind, tuple(walk.x.shape[2:]))
    if form == "npy":
        with open_atomic(path) as f:
            np.save(f, walk.x.float().numpy(), allow_pickle=False)
    elif kind == "image":
        _write_images(walk, path, form)
    else:
        _write_paths(walk, path, form, target)
    return path


def _write_images(walk: Interpolation, path: Path, form: str) -> None:
    from .io.export import image_grid, save_grid_png

    rows, steps = walk.x.shape[:2]
    if form == "picture":
        save_grid_png(walk.x.reshape(rows * steps, *walk.x.shape[2:]), path, nrow=steps)
        return
    scale = max(1, 112 // walk.x.shape[-1])
    frames = [image_grid(walk.x[:, j], nrow=min(rows, 8), scale=scale) for j in range(steps)]
    _save_gif(frames, path)


def _save_gif(frames: list[np.ndarray], path: Path) -> None:
    from PIL import Image

    images = [Image.fromarray(f[..., 0] if f.shape[-1] == 1 else f) for f in frames]
    with open_atomic(path) as out:
        images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=GIF_MS_PER_FRAME, loop=0)


def _write_paths(walk: Interpolation, path: Path, form: str, target: GaussianMixture | None) -> None:
    """The walks as paths over the target density: the whole paths (``.png``) or growing point by point
    (``.gif``); the density is drawn once."""
    import io

    from PIL import Image

    from .plotting import _plt, draw_density_2d

    plt = _plt()
    pts = walk.x.double().numpy()  # (rows, steps, 2)
    steps = pts.shape[1]
    fig, ax = plt.subplots(figsize=(5, 5))
    draw_density_2d(ax, target)
    colours = plt.get_cmap("tab10")
    lines = []
    for i, row in enumerate(pts):
        c = colours(i % 10)
        ax.plot(row[0, 0], row[0, 1], "o", color=c, ms=6, mfc="none")  # the start z0
        lines.append(ax.plot(row[:, 0], row[:, 1], ".-", color=c, lw=1.2, ms=4)[0])
    ax.set_aspect("equal")
    ax.set_title(f"G along {walk.method} paths in z")
    fig.tight_layout()
    try:
        if form == "picture":
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
            with open_atomic(path) as out:
                out.write(buf.getvalue())
            return
        frames = []
        for last in range(steps):
            for line, row in zip(lines, pts, strict=True):
                line.set_data(row[: last + 1, 0], row[: last + 1, 1])
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=90)
            frames.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    finally:
        plt.close(fig)
    _save_gif(frames, path)
