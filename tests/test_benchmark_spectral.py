"""benchmarks/spectral_norm.py: bad options are one line with exit status 2 before any work, and its PyTorch
row really builds D with PyTorch's spectral norm (and only while it builds that row)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import origan
from origan.models import build_discriminator
from origan.models.spectral import SpectralNorm

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "spectral_norm.py"


@pytest.mark.parametrize(
    "argv",
    [["--iters", "0"], ["--threads", "-1"], ["--iters", "x"], ["--threads", str(2**64)], ["--iters", str(10**20)]],
)
def test_bad_options_are_one_line_and_exit_2(argv):
    done = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("spectral_norm.py: error: ")


def _norms(net: nn.Module) -> set[type]:
    return {type(m) for m in net.modules() if type(m).__name__.endswith("SpectralNorm")}


def test_the_pytorch_row_builds_d_with_pytorchs_spectral_norm():
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import spectral_norm as bench
    finally:
        sys.path.remove(str(SCRIPT.parent))
    cfg = origan.load_config("mnist-conv", overrides=["discriminator.width=8", "discriminator.dense=16"])
    torch.manual_seed(0)
    with bench.pytorch_spectral_norm():
        theirs = build_discriminator(cfg.discriminator, (1, 28, 28), True, 100)
    ours = build_discriminator(cfg.discriminator, (1, 28, 28), True, 100)
    assert _norms(ours) == {SpectralNorm}
    assert _norms(theirs) and SpectralNorm not in _norms(theirs)
