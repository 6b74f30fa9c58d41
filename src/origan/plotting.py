"""Figures drawn from run files and samples; matplotlib is imported lazily, with the Agg backend."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from .losses import LOG4

if TYPE_CHECKING:
    from .data.mixture import GaussianMixture

__all__ = ["draw_density_2d", "plot_curves", "plot_samples_1d", "plot_samples_2d", "save_sample_figure"]


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_samples_1d(x: Tensor, target: GaussianMixture | None, path: Path, title: str = "") -> Path:
    """Histogram of 1-D samples over the true density."""
    plt = _plt()
    xs = x.detach().cpu().reshape(-1).double()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    lo, hi = float(xs.min()), float(xs.max())
    if target is not None:
        ((tlo, thi),) = target.bounds(4.0)
        lo, hi = min(lo, tlo), max(hi, thi)
        grid = torch.linspace(tlo, thi, 600, dtype=torch.float64)
        ax.plot(grid, target.log_prob(grid[:, None]).exp(), "k-", lw=1.5, label="p_data")
    ax.hist(xs.numpy(), bins=80, range=(lo, hi), density=True, color="tab:green", alpha=0.5, label="samples of G")
    ax.set_xlabel("x")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_samples_2d(x: Tensor, target: GaussianMixture | None, path: Path, title: str = "") -> Path:
    """Scatter of 2-D samples over the target density's contours."""
    plt = _plt()
    xs = x.detach().cpu().double()
    fig, ax = plt.subplots(figsize=(5, 5))
    draw_density_2d(ax, target)
    ax.scatter(xs[:, 0], xs[:, 1], s=4, c="tab:green", alpha=0.6)
    ax.set_aspect("equal")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_density_2d(ax: Any, target: GaussianMixture | None) -> None:
    """The target density's contours on ``ax`` (and limits around them); nothing without a target."""
    if target is not None:
        (x0, x1), (y0, y1) = target.bounds(6.0)
        pad = 0.15 * max(x1 - x0, y1 - y0)
        x0, x1, y0, y1 = x0 - pad, x1 + pad, y0 - pad, y1 + pad
        gx, gy = torch.meshgrid(
            torch.linspace(x0, x1, 700, dtype=torch.float64),
            torch.linspace(y0, y1, 700, dtype=torch.float64),
            indexing="xy",
        )
        logp = target.log_prob(torch.stack([gx.reshape(-1), gy.reshape(-1)], 1)).reshape(gx.shape)
        top = float(logp.max())
        # For a well-separated isotropic component, log p = top - r^2 / (2 s^2): these are its 1, 2, 3 std circles.
        ax.contour(gx, gy, logp, levels=[top - 4.5, top - 2.0, top - 0.5], colors="k", linewidths=0.6)
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)


def save_sample_figure(x: Tensor, kind: str, target: GaussianMixture | None, path: Path, title: str = "") -> Path:
    """The right picture for the data: an image grid, a 1-D histogram or a 2-D scatter."""
    from .io.export import save_grid_png

    path = Path(path)
    if kind == "image":
        return save_grid_png(x, path)
    flat = x.reshape(len(x), -1)
    if flat.shape[1] == 1:
        return plot_samples_1d(flat, target, path, title)
    return plot_samples_2d(flat[:, :2], target, path, title)


def plot_curves(rows: list[dict[str, Any]], folder: Path) -> list[Path]:
    """``losses.png`` (d_loss, g_loss, V with -log 4) and ``d_outputs.png`` (mean D(x), mean D(G(z)))."""
    rows = [r for r in rows if "d_loss" in r]
    if not rows:
        return []
    plt = _plt()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    steps = [r["step"] for r in rows]
    out = []
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, label in (("d_loss", "D loss"), ("g_loss", "G loss"), ("value", "V(D, G) estimate")):
        ax.plot(steps, [r[key] for r in rows], label=label)
    ax.axhline(-LOG4, color="gray", ls=":", label="-log 4 (equilibrium V)")
    ax.set_xlabel("step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "losses.png", dpi=110)
    plt.close(fig)
    out.append(folder / "losses.png")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, [r["d_real"] for r in rows], label="mean D(x)")
    ax.plot(steps, [r["d_fake"] for r in rows], label="mean D(G(z))")
    ax.axhline(0.5, color="gray", ls=":", label="1/2 (equilibrium)")
    ax.set_ylim(0, 1)
    ax.set_xlabel("step")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "d_outputs.png", dpi=110)
    plt.close(fig)
    out.append(folder / "d_outputs.png")
    return out
