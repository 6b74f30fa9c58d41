"""Seed everything from one seed; capture and restore every RNG state as plain data and tensors."""

from __future__ import annotations

import hashlib
import random
from typing import Any

import numpy as np
import torch

__all__ = ["capture_rng", "derive_seed", "restore_rng", "seed_all"]


def derive_seed(seed: int, tag: str) -> int:
    """An independent 63-bit seed for the stream named ``tag`` (noise, data order, fixed samples...)."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{tag}".encode()).digest()[:8], "little") >> 1


def seed_all(seed: int, rank: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device) from ``seed + rank``."""
    s = seed + rank
    random.seed(s)
    np.random.seed(s % 2**32)
    torch.manual_seed(s)  # also seeds every CUDA device


def capture_rng(generators: dict[str, torch.Generator] | None = None) -> dict[str, Any]:
    """Every global RNG state plus the named ``generators``; tensors stay tensors (for safetensors)."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": [list(random.getstate()[1]), random.getstate()[0]],
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": [s for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else [],
        "generators": {name: g.get_state() for name, g in (generators or {}).items()},
    }
    return state


def restore_rng(state: dict[str, Any], generators: dict[str, torch.Generator] | None = None) -> None:
    """Inverse of :func:`capture_rng`."""
    internal, version = state["python"]
    random.setstate((int(version), tuple(int(v) for v in internal), None))
    np_state = state["numpy"]
    keys = np.asarray(np_state["keys"].numpy(), dtype=np.uint32)
    np.random.set_state(
        (np_state["kind"], keys, int(np_state["pos"]), int(np_state["has_gauss"]), float(np_state["cached_gaussian"]))
    )
    torch.set_rng_state(state["torch"].to(torch.uint8))
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.to(torch.uint8) for s in state["cuda"]])
    for name, g in (generators or {}).items():
        g.set_state(state["generators"][name].to(torch.uint8).cpu())
