"""Differentiable augmentation of everything D sees (Zhao et al. 2020, "DiffAugment").

With a few thousand images D memorises the training set and its feedback to G turns to noise. DiffAugment
keeps the game's objective: the same random, differentiable transform T is applied to real and generated
images alike, in D's step and in G's, so D plays the same game against ``T(p_data)`` and ``T(p_g)``, and
those are equal when p_g = p_data. (The converse holds where T loses no information in distribution, e.g.
shifts of digits whose borders are empty; cutout and brightness only hide detail from D.) Unlike augmenting
the real data alone, G is not taught to produce shifted or holed digits.

Operations (``train.augment``, applied in this order, each to every image with probability
``train.augment_p``; the ratios are DiffAugment's):

- ``translation``: shift by up to 1/8 of the side in each direction, zero fill (the background of [0, 1]
  digits);
- ``cutout``: zero a square of half the side at a random position (it may overhang the border);
- ``brightness`` / ``contrast``: add U(-0.5, 0.5) / scale the deviation from the image mean by U(0.5, 1.5).

Every random number comes from one ``torch.Generator`` (the run's ``augment`` stream, in checkpoints), so
runs stay reproducible and resumes bit-exact.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ..config import AUGMENTATIONS

__all__ = ["AUGMENTATIONS", "DiffAugment"]

TRANSLATION_RATIO = 0.125  # DiffAugment: shifts of up to 1/8 of the side
CUTOUT_RATIO = 0.5  # DiffAugment: a square of half the side


class DiffAugment(nn.Module):
    """``x (n, C, H, W) -> T(x)``: random differentiable transforms drawn per example from ``generator``.

    Args:
        ops: names from :data:`AUGMENTATIONS`, applied in the order given.
        generator: the random stream (on the images' device).
        p: probability that each operation is applied to each image.
    """

    def __init__(self, ops: Sequence[str], generator: torch.Generator, p: float = 1.0) -> None:
        super().__init__()
        unknown = [o for o in ops if o not in AUGMENTATIONS]
        if unknown:
            raise ValueError(f"unknown augmentation {unknown[0]!r}; expected some of {', '.join(AUGMENTATIONS)}")
        self.ops, self.generator, self.p = tuple(ops), generator, float(p)

    def _uniform(self, n: int, x: Tensor) -> Tensor:
        return torch.rand(n, 1, 1, 1, generator=self.generator, device=x.device, dtype=x.dtype)  # (n, 1, 1, 1)

    def _chosen(self, n: int, x: Tensor) -> Tensor:
        """``(n, 1, 1, 1)`` 1 where the operation applies (probability p), else 0 (no draw when p = 1)."""
        if self.p >= 1.0:
            return torch.ones(n, 1, 1, 1, device=x.device, dtype=x.dtype)
        return (self._uniform(n, x) < self.p).to(x.dtype)

    def _translation(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        sh, sw = int(h * TRANSLATION_RATIO + 0.5), int(w * TRANSLATION_RATIO + 0.5)
        dy = torch.randint(-sh, sh + 1, (n, 1, 1), generator=self.generator, device=x.device)
        dx = torch.randint(-sw, sw + 1, (n, 1, 1), generator=self.generator, device=x.device)
        if self.p < 1.0:
            keep = self._chosen(n, x).view(n, 1, 1).to(dy.dtype)
            dy, dx = dy * keep, dx * keep
        rows = torch.arange(h, device=x.device).view(1, h, 1) + dy + sh  # (n, h, 1) rows of the padded image
        cols = torch.arange(w, device=x.device).view(1, 1, w) + dx + sw  # (n, 1, w)
        padded = nn.functional.pad(x, (sw, sw, sh, sh))  # (n, C, h + 2sh, w + 2sw), zeros around
        batch = torch.arange(n, device=x.device).view(n, 1, 1)
        return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (n, C, h, w)

    def _cutout(self, x: Tensor) -> Tensor:
        n, _, h, w = x.shape
        ch, cw = int(h * CUTOUT_RATIO + 0.5), int(w * CUTOUT_RATIO + 0.5)
        # the square's top-left corner, so that its centre lies anywhere in the image (DiffAugment's offsets)
        top = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=self.generator, device=x.device) - ch // 2
        left = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=self.generator, device=x.device) - cw // 2
        r = torch.arange(h, device=x.device).view(1, h, 1)
        c = torch.arange(w, device=x.device).view(1, 1, w)
        hole = ((r >= top) & (r < top + ch) & (c >= left) & (c < left + cw)).unsqueeze(1)  # (n, 1, h, w)
        hole = hole.to(x.dtype) * self._chosen(n, x)
        return x * (1 - hole)

    def _brightness(self, x: Tensor) -> Tensor:
        return x + (self._uniform(len(x), x) - 0.5) * self._chosen(len(x), x)

    def _contrast(self, x: Tensor) -> Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        factor = 1 + (self._uniform(len(x), x) - 0.5) * self._chosen(len(x), x)  # U(0.5, 1.5) where chosen
        return (x - mean) * factor + mean

    def forward(self, x: Tensor) -> Tensor:
        for op in self.ops:
            x = getattr(self, f"_{op}")(x)
        return x
