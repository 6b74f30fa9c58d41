"""Optional Inception FID from a local weights file: never a download, never pickle.

``origan eval RUN --inception-weights FILE.safetensors`` adds the usual FID: the Fréchet distance of the
2048-d pool features of the FID variant of Inception-v3 (Szegedy et al. 2016; the TF-ported network of
Heusel et al. 2017 whose average pools exclude padding and whose last block max-pools). Images are
resized to 299x299 (bilinear), grey images repeated to three channels, and scaled to [-1, 1].

The file must be safetensors with the state-dict names of that network (``Conv2d_1a_3x3.conv.weight``,
``Mixed_5b.branch1x1.bn.running_mean``, ...); anything else is refused before any byte is deserialised as
an object. On a CPU the network costs about 6 GFLOP per image, so only ``inception_n`` images are used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..errors import CheckpointError
from .registry import MetricContext, register_metric

__all__ = ["InceptionFID", "check_inception_weights", "inception_fid_metric", "load_inception"]

N_DEFAULT = 2000


class _Conv(nn.Module):
    """Conv (no bias) -> BatchNorm (eps 1e-3) -> ReLU, named ``conv`` / ``bn`` as in the weight files."""

    def __init__(
        self, cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1, padding: int | tuple[int, int] = 0
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)))


class _Shape(TypedDict):
    """The kernel and padding of a 1x7 or 7x1 convolution, passed to :class:`_Conv` as keywords."""

    kernel: tuple[int, int]
    padding: tuple[int, int]


def _avg3(x: Tensor) -> Tensor:
    return F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)  # the FID network's pooling


class _BlockA(nn.Module):
    def __init__(self, cin: int, pool: int) -> None:
        super().__init__()
        self.branch1x1 = _Conv(cin, 64, 1)
        self.branch5x5_1, self.branch5x5_2 = _Conv(cin, 48, 1), _Conv(48, 64, 5, padding=2)
        self.branch3x3dbl_1, self.branch3x3dbl_2 = _Conv(cin, 64, 1), _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, padding=1)
        self.branch_pool = _Conv(cin, pool, 1)

    def forward(self, x: Tensor) -> Tensor:
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_avg3(x))], 1)


class _BlockB(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3 = _Conv(cin, 384, 3, stride=2)
        self.branch3x3dbl_1, self.branch3x3dbl_2 = _Conv(cin, 64, 1), _Conv(64, 96, 3, padding=1)
        self.branch3x3dbl_3 = _Conv(96, 96, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch3x3(x), b3, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockC(nn.Module):
    def __init__(self, cin: int, c7: int) -> None:
        super().__init__()
        row: _Shape = {"kernel": (1, 7), "padding": (0, 3)}
        col: _Shape = {"kernel": (7, 1), "padding": (3, 0)}
        self.branch1x1 = _Conv(cin, 192, 1)
        self.branch7x7_1, self.branch7x7_2 = _Conv(cin, c7, 1), _Conv(c7, c7, **row)
        self.branch7x7_3 = _Conv(c7, 192, **col)
        self.branch7x7dbl_1, self.branch7x7dbl_2 = _Conv(cin, c7, 1), _Conv(c7, c7, **col)
        self.branch7x7dbl_3, self.branch7x7dbl_4 = _Conv(c7, c7, **row), _Conv(c7, c7, **col)
        self.branch7x7dbl_5 = _Conv(c7, 192, **row)
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for i in range(1, 6):
            d = getattr(self, f"branch7x7dbl_{i}")(d)
        return torch.cat([self.branch1x1(x), b7, d, self.branch_pool(_avg3(x))], 1)


class _BlockD(nn.Module):
    def __init__(self, cin: int) -> None:
        super().__init__()
        self.branch3x3_1, self.branch3x3_2 = _Conv(cin, 192, 1), _Conv(192, 320, 3, stride=2)
        self.branch7x7x3_1 = _Conv(cin, 192, 1)
        self.branch7x7x3_2 = _Conv(192, 192, (1, 7), padding=(0, 3))
        self.branch7x7x3_3 = _Conv(192, 192, (7, 1), padding=(3, 0))
        self.branch7x7x3_4 = _Conv(192, 192, 3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = x
        for i in range(1, 5):
            b7 = getattr(self, f"branch7x7x3_{i}")(b7)
        return torch.cat([b3, b7, F.max_pool2d(x, 3, stride=2)], 1)


class _BlockE(nn.Module):
    def __init__(self, cin: int, max_pool: bool) -> None:
        super().__init__()
        self.max_pool = max_pool
        self.branch1x1 = _Conv(cin, 320, 1)
        self.branch3x3_1 = _Conv(cin, 384, 1)
        self.branch3x3_2a, self.branch3x3_2b = (
            _Conv(384, 384, (1, 3), padding=(0, 1)),
            _Conv(384, 384, (3, 1), padding=(1, 0)),
        )
        self.branch3x3dbl_1, self.branch3x3dbl_2 = _Conv(cin, 448, 1), _Conv(448, 384, 3, padding=1)
        self.branch3x3dbl_3a = _Conv(384, 384, (1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = _Conv(384, 384, (3, 1), padding=(1, 0))
        self.branch_pool = _Conv(cin, 192, 1)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        d = torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1)
        pooled = F.max_pool2d(x, 3, stride=1, padding=1) if self.max_pool else _avg3(x)
        return torch.cat([self.branch1x1(x), b3, d, self.branch_pool(pooled)], 1)


class InceptionFID(nn.Module):
    """The FID variant of Inception-v3 up to its 2048-d average pool: ``(n, C, H, W)`` in [0, 1] -> ``(n, 2048)``."""

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = _Conv(3, 32, 3, stride=2)
        self.Conv2d_2a_3x3 = _Conv(32, 32, 3)
        self.Conv2d_2b_3x3 = _Conv(32, 64, 3, padding=1)
        self.Conv2d_3b_1x1 = _Conv(64, 80, 1)
        self.Conv2d_4a_3x3 = _Conv(80, 192, 3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = _BlockA(192, 32), _BlockA(256, 64), _BlockA(288, 64)
        self.Mixed_6a = _BlockB(288)
        self.Mixed_6b, self.Mixed_6c = _BlockC(768, 128), _BlockC(768, 160)
        self.Mixed_6d, self.Mixed_6e = _BlockC(768, 160), _BlockC(768, 192)
        self.Mixed_7a = _BlockD(768)
        self.Mixed_7b, self.Mixed_7c = _BlockE(1280, max_pool=False), _BlockE(2048, max_pool=True)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = F.interpolate(x.float(), size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1  # (n, 3, 299, 299)
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, stride=2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, stride=2)
        for name in ("5b", "5c", "5d", "6a", "6b", "6c", "6d", "6e", "7a", "7b", "7c"):
            x = getattr(self, f"Mixed_{name}")(x)
        return x.mean(dim=(2, 3))  # (n, 2048)


def _expected_keys() -> set[str]:
    return {k for k in InceptionFID().state_dict() if not k.endswith("num_batches_tracked")}


def check_inception_weights(path: str | Path) -> set[str]:
    """Refuse anything but a readable ``.safetensors`` file naming every tensor of the network; return its keys.

    Only the safetensors header (JSON) is read; no tensor is loaded and nothing is unpickled.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if path.suffix != ".safetensors":
        raise CheckpointError(f"--inception-weights {path}: expected a .safetensors file (pickle files are refused)")
    if not path.is_file():
        raise CheckpointError(f"--inception-weights {path}: no such file")
    try:
        with safe_open(str(path), framework="pt") as f:
            keys = set(f.keys())
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"--inception-weights {path}: not a readable safetensors file ({e})") from None
    missing = sorted(_expected_keys() - keys)
    if missing:
        raise CheckpointError(
            f"--inception-weights {path}: not FID Inception-v3 weights (missing {missing[0]} "
            f"and {len(missing) - 1} more)"
        )
    return keys


def load_inception(path: str | Path) -> InceptionFID:
    """The FID Inception network with weights from a local ``.safetensors`` file; anything else is refused."""
    from safetensors.torch import load_file

    check_inception_weights(path)
    net = InceptionFID()
    expected = _expected_keys()
    state = {k: v for k, v in load_file(str(path)).items() if k in expected}  # fc and aux-logit tensors ignored
    try:
        net.load_state_dict(state, strict=False)
    except RuntimeError as e:
        raise CheckpointError(
            f"--inception-weights {path}: tensor shapes do not fit ({str(e).splitlines()[-1].strip()})"
        ) from None
    return net.eval()


@register_metric(
    "inception_fid",
    kinds=("image",),
    description="FID with Inception-v3 features, only with --inception-weights FILE.safetensors (a local file; "
    "nothing is downloaded); slow on a CPU, so it uses at most 2,000 images",
    default=False,  # only when a weights file is given
)
def inception_fid_metric(
    samples: Tensor, reference: Any, ctx: MetricContext, *, inception_n: int = N_DEFAULT
) -> dict[str, Any]:
    """FID between ``inception_n`` samples and as many training images, with ``ctx.inception_weights``."""
    from ..errors import ConfigError
    from .fid import frechet_distance_of_features

    inception_weights = ctx.inception_weights
    if inception_weights is None:
        raise ConfigError("--metrics inception_fid: needs --inception-weights FILE.safetensors")
    net = load_inception(inception_weights)
    n = min(inception_n, len(samples), len(reference.train))
    with torch.no_grad():
        feats = [torch.cat([net(x[i : i + 50]) for i in range(0, n, 50)]) for x in (samples[:n], reference.train[:n])]
    return {
        "fid": frechet_distance_of_features(feats[0], feats[1]),
        "n": n,
        "weights": str(inception_weights),
        "note": "comparable with published FIDs only with the standard weights and 50,000 samples",
    }
