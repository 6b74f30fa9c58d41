"""Checkpoints: ``<name>.safetensors`` (every tensor) + ``<name>.json`` (everything else), never pickle.

Writing: tensors to a temporary file in the same folder, fsync, ``os.replace``, fsync the folder; the JSON
manifest last, the same way, carrying the SHA-256 of the tensor file and the format version. A missing
manifest or a checksum mismatch marks a torn or edited checkpoint.

Nested state (dicts and lists holding tensors and plain values) is split by :func:`flatten` into a flat
``{key: tensor}`` map and a JSON tree whose tensor leaves read ``{"__tensor__": key}``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import re
import shutil
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..errors import CheckpointError
from ..limits import MAX_CLASSES
from ..version import __version__
from .files import write_atomic

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Checkpoint",
    "checkpoint_problem",
    "ever_checkpointed",
    "flatten",
    "link_last",
    "list_checkpoints",
    "load_checkpoint",
    "newest_good_checkpoint",
    "prune_checkpoints",
    "read_json",
    "save_checkpoint",
    "scan_checkpoints",
    "unflatten",
    "verify_checkpoint",
]

log = logging.getLogger(__name__)

FORMAT = "origan-checkpoint"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 100 * 1024 * 1024  # safetensors' own limit on the JSON header
DATA_KINDS = ("image", "vector", "table")
DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}


class Checkpoint:
    """A loaded checkpoint: ``tensors`` (flat map), ``manifest`` (the JSON) and ``state`` (the nested state)."""

    def __init__(self, path: Path, tensors: dict[str, torch.Tensor], manifest: dict[str, Any]) -> None:
        self.path = path
        self.tensors = tensors
        self.manifest = manifest

    @property
    def state(self) -> Any:
        return unflatten(self.manifest["state"], self.tensors)

    @property
    def step(self) -> int:
        return int(self.manifest["step"])


def flatten(
    obj: Any, prefix: str = "", out: dict[str, torch.Tensor] | None = None
) -> tuple[Any, dict[str, torch.Tensor]]:
    """Split nested state into a JSON tree and a flat map of contiguous CPU tensors."""
    out = {} if out is None else out
    if isinstance(obj, torch.Tensor):
        out[prefix] = obj.detach().to("cpu", copy=True).contiguous()
        return {"__tensor__": prefix}, out
    if isinstance(obj, dict):
        return {str(k): flatten(v, f"{prefix}.{k}" if prefix else str(k), out)[0] for k, v in obj.items()}, out
    if isinstance(obj, (list, tuple)):
        return [flatten(v, f"{prefix}.{i}", out)[0] for i, v in enumerate(obj)], out
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj, out
    raise TypeError(f"cannot store {type(obj).__name__} at {prefix!r} in a checkpoint")


def unflatten(tree: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten`."""
    if isinstance(tree, dict):
        if set(tree) == {"__tensor__"}:
            key = tree["__tensor__"]
            if not isinstance(key, str) or key not in tensors:
                raise CheckpointError(f"checkpoint: tensor {key!r} named in the manifest is missing")
            return tensors[key]
        return {k: unflatten(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unflatten(v, tensors) for v in tree]
    return tree


def save_checkpoint(folder: Path, name: str, state: Any, manifest_extra: dict[str, Any]) -> Path:
    """Write ``folder/name.safetensors`` then ``folder/name.json``; return the JSON's path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tree, tensors = flatten(state)
    blob = st_save(tensors, metadata={"format": FORMAT})
    write_atomic(folder / f"{name}.safetensors", blob)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "origan_version": __version__,
        "tensor_file": f"{name}.safetensors",
        "sha256": hashlib.sha256(blob).hexdigest(),
        "bytes": len(blob),
        **manifest_extra,
        "state": tree,
    }
    path = folder / f"{name}.json"
    write_atomic(path, json.dumps(manifest, indent=1, sort_keys=False).encode())
    return path


def _check_safetensors_header(blob: bytes, where: str) -> None:
    """Refuse hostile headers before the parser sees them: absurd length, bad offsets, unknown dtypes."""
    if len(blob) < 8:
        raise CheckpointError(f"{where}: not a safetensors file (only {len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(blob):
        raise CheckpointError(
            f"{where}: corrupt safetensors header (declares {n} header bytes in a {len(blob)}-byte file)"
        )
    try:
        header = json.loads(blob[8 : 8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{where}: corrupt safetensors header (not JSON)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{where}: corrupt safetensors header (not a JSON object)")
    data_len = len(blob) - 8 - n
    spans = []
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise CheckpointError(f"{where}: corrupt safetensors header entry {key!r}")
        offsets, shape, dtype = info["data_offsets"], info["shape"], info["dtype"]
        if dtype not in DTYPE_BYTES:
            raise CheckpointError(f"{where}: tensor {key!r} has unknown dtype {dtype!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(v) is int for v in offsets)):
            raise CheckpointError(f"{where}: tensor {key!r} has malformed data_offsets {offsets!r}")
        if not (isinstance(shape, list) and all(type(v) is int and v >= 0 for v in shape)):
            raise CheckpointError(f"{where}: tensor {key!r} has malformed shape {shape!r}")
        start, end = offsets
        if not 0 <= start <= end <= data_len:
            raise CheckpointError(
                f"{where}: tensor {key!r} has offsets {start}..{end} outside the {data_len}-byte data"
            )
        numel = 1
        for v in shape:
            numel *= v
        if numel * DTYPE_BYTES[dtype] != end - start:
            raise CheckpointError(
                f"{where}: tensor {key!r} of shape {shape} and dtype {dtype} does not fit offsets {start}..{end}"
            )
        spans.append((start, end, key))
    spans.sort()
    for (_s0, e0, k0), (s1, _e1, k1) in itertools.pairwise(spans):
        if s1 < e0:
            raise CheckpointError(f"{where}: tensors {k0!r} and {k1!r} overlap")


def read_safetensors(path: Path, expected_sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Read a safetensors file (no pickle), checking its header and, when given, its SHA-256."""
    try:
        blob = Path(path).read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: tensor file missing") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path}: a folder, not a tensor file") from None
    if expected_sha256 is not None and hashlib.sha256(blob).hexdigest() != expected_sha256:
        raise CheckpointError(f"{path}: checksum mismatch (torn or edited checkpoint)")
    _check_safetensors_header(blob, str(path))
    try:
        return st_load(blob)
    except Exception as e:  # the parser's own refusal of a malformed file
        raise CheckpointError(f"{path}: not a valid safetensors file ({e})") from None


def read_json(path: Path, what: str) -> Any:
    """Parse a JSON file; any damage (not UTF-8, not JSON, nested too deep) is a :class:`ValueError` naming it."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: {what} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: {what} is not valid JSON ({e.msg} at line {e.lineno})") from None
    except RecursionError:
        raise ValueError(f"{path}: {what} is nested too deeply") from None


def _check_manifest(manifest: dict[str, Any], where: Path) -> None:
    """Every field that loading reads, by type: a manifest is input like any other file."""

    def bad(field: str, expected: str) -> CheckpointError:
        return CheckpointError(f"{where}: field {field!r} must be {expected}, got {manifest.get(field)!r:.60}")

    tensor_file = manifest.get("tensor_file")
    if (
        not isinstance(tensor_file, str)
        or Path(tensor_file).name != tensor_file
        or not tensor_file.endswith(".safetensors")
    ):
        raise CheckpointError(f"{where}: tensor_file must name a .safetensors file beside the manifest")
    sha = manifest.get("sha256")
    if not (isinstance(sha, str) and re.fullmatch(r"[0-9a-f]{64}", sha)):
        raise bad("sha256", "64 hex digits")
    step = manifest.get("step")
    if type(step) is not int or step < 0:
        raise bad("step", "a non-negative integer")
    for field in ("config", "data", "state"):
        if not isinstance(manifest.get(field), dict):
            raise bad(field, "a JSON object")
    data = manifest["data"]
    shape = data.get("shape")
    if not (isinstance(shape, list) and 1 <= len(shape) <= 3 and all(type(v) is int and 0 < v <= 2**20 for v in shape)):
        raise CheckpointError(
            f"{where}: field 'data.shape' must be a list of 1 to 3 positive integers, got {shape!r:.60}"
        )
    if type(data.get("bounded")) is not bool:
        raise CheckpointError(f"{where}: field 'data.bounded' must be true or false, got {data.get('bounded')!r:.60}")
    if data.get("kind") not in DATA_KINDS:
        raise CheckpointError(
            f"{where}: field 'data.kind' must be one of {', '.join(DATA_KINDS)}, got {data.get('kind')!r:.60}"
        )
    if not isinstance(data.get("name"), str):
        raise CheckpointError(f"{where}: field 'data.name' must be a string, got {data.get('name')!r:.60}")
    if "codec" in data and not isinstance(data["codec"], dict):
        raise CheckpointError(f"{where}: field 'data.codec' must be a JSON object, got {data['codec']!r:.60}")
    classes = data.get("classes")
    if classes is not None and not (
        isinstance(classes, list)
        and 1 <= len(classes) <= MAX_CLASSES
        and all(isinstance(c, str) and c for c in classes)
        and len(set(classes)) == len(classes)
    ):
        raise CheckpointError(
            f"{where}: field 'data.classes' must be a list of 1 to {MAX_CLASSES} distinct non-empty class names, "
            f"got {classes!r:.60}"
        )
    counts = data.get("class_counts")
    if counts is not None and not (
        classes is not None
        and isinstance(counts, list)
        and len(counts) == len(classes)
        and all(type(c) is int and 0 <= c < 2**53 for c in counts)
        and sum(counts) > 0
    ):
        raise CheckpointError(
            f"{where}: field 'data.class_counts' must be one count >= 0 per class of 'data.classes' "
            f"({len(classes) if isinstance(classes, list) else 'none'}), not all 0, got {counts!r:.60}"
        )


def verify_checkpoint(manifest_path: Path) -> dict[str, Any]:
    """Read and check a manifest, field by field; return it. Raises :class:`CheckpointError` for a torn,
    edited or foreign one."""
    manifest_path = Path(manifest_path)
    try:
        manifest = read_json(manifest_path, "manifest")
    except FileNotFoundError:
        raise CheckpointError(f"{manifest_path}: manifest missing (torn checkpoint)") from None
    except IsADirectoryError:
        raise CheckpointError(f"{manifest_path}: a folder, not a checkpoint manifest") from None
    except ValueError as e:
        raise CheckpointError(f"{e} (torn or edited checkpoint)") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{manifest_path}: not an origan checkpoint manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{manifest_path}: checkpoint format version {manifest.get('format_version')!r:.20}, "
            f"this origan reads version {FORMAT_VERSION}"
        )
    _check_manifest(manifest, manifest_path)
    return manifest


def load_checkpoint(path: Path) -> Checkpoint:
    """Load ``name.json`` + ``name.safetensors`` (``path`` may name either, or the stem)."""
    path = Path(path)
    if path.suffix in (".json", ".safetensors"):
        path = path.with_suffix("")
    elif path.is_file():
        raise CheckpointError(
            f"{path}: not an origan checkpoint; origan reads only .safetensors + .json "
            "checkpoints and never unpickles files"
        )
    manifest_path = path.with_name(path.name + ".json")
    manifest = verify_checkpoint(manifest_path)
    tensors = read_safetensors(manifest_path.parent / manifest["tensor_file"], manifest["sha256"])
    return Checkpoint(manifest_path, tensors, manifest)


def checkpoint_problem(path: Path) -> str | None:
    """``None`` for an intact checkpoint, else why it is torn, edited or foreign (reads the whole file)."""
    try:
        load_checkpoint(path)
    except CheckpointError as e:
        return str(e)
    return None


def list_checkpoints(folder: Path) -> list[Path]:
    """Manifest paths of the step checkpoints in ``folder``, oldest first (``last`` excluded)."""
    return sorted(p for p in Path(folder).glob("step-*.json") if STEP_NAME.fullmatch(p.stem))


STEP_NAME = re.compile(r"step-(\d{9,})")


def newest_good_checkpoint(folder: Path, check: Callable[[Checkpoint], None] | None = None) -> Checkpoint:
    """``last`` if it verifies, else the newest step checkpoint that does (saying so in the log).

    ``check`` may refuse a checkpoint that verifies (raising :class:`CheckpointError`): the next one is tried.
    """
    candidates = [Path(folder) / "last.json"] + list(reversed(list_checkpoints(folder)))
    errors = []
    for path in candidates:
        if not path.exists() and not path.with_suffix(".safetensors").exists():
            continue
        try:
            ckpt = load_checkpoint(path)
            if check is not None:
                check(ckpt)
        except CheckpointError as e:
            errors.append(str(e))
            log.warning("skipping checkpoint: %s", e)
            continue
        if errors:
            log.warning("falling back to %s", path.name)
        return ckpt
    detail = f" ({errors[0]})" if errors else ""
    raise CheckpointError(f"{folder}: no intact checkpoint{detail}")


def ever_checkpointed(folder: Path) -> bool:
    """Whether a checkpoint was ever completed in ``folder``, intact now or not.

    A checkpoint is complete once its manifest is written (the manifest comes last), and ``last.*`` is made
    only from a complete one: without any manifest and without ``last``, what is there (a tensor file, a
    temporary file) is what a kill during the first write leaves, and the run has no checkpoint yet.
    """
    folder = Path(folder)
    return folder.is_dir() and any(
        (p.stem == "last" and p.suffix in (".json", ".safetensors"))
        or (p.suffix == ".json" and STEP_NAME.fullmatch(p.stem))
        for p in folder.iterdir()
    )


def link_last(folder: Path, name: str) -> None:
    """Make ``last.*`` the checkpoint ``name`` (hard links, swapped in atomically; copies where links fail)."""
    for suffix in (".safetensors", ".json"):  # the manifest last: a torn swap leaves a detectable mismatch
        src, dst = folder / f"{name}{suffix}", folder / f"last{suffix}"
        tmp = folder / f".last{suffix}.tmp-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        try:
            os.link(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        if suffix == ".json":  # the manifest of `last` names `last.safetensors`
            manifest = json.loads(tmp.read_text(encoding="utf-8"))
            tmp.unlink()
            manifest["tensor_file"] = "last.safetensors"
            write_atomic(tmp, json.dumps(manifest, indent=1).encode())
        os.replace(tmp, dst)


def prune_checkpoints(folder: Path, keep: int, newest: str) -> None:
    """Delete all but the ``keep`` newest step checkpoints (``last`` stays); ``newest`` is never deleted."""
    for old in list_checkpoints(folder)[: -keep if keep else None]:
        if old.stem != newest:
            old.with_suffix(".safetensors").unlink(missing_ok=True)
            old.unlink(missing_ok=True)


def scan_checkpoints(folder: Path) -> list[dict[str, Any]]:
    """Every checkpoint in ``folder`` (``last`` and ``step-N``), each verified in full: name, step, ok, problem."""
    folder = Path(folder)
    stems = (
        sorted({p.stem for p in folder.iterdir() if p.suffix in (".json", ".safetensors")}) if folder.is_dir() else []
    )
    checkpoints = []
    for stem in stems:
        m = STEP_NAME.fullmatch(stem)
        if not m and stem != "last":
            continue
        step: int | None = int(m.group(1)) if m else None
        try:
            ckpt = load_checkpoint(folder / f"{stem}.json")
            problem = None
            step = ckpt.step if stem == "last" else step
            if m and ckpt.step != step:
                problem = f"{ckpt.path}: holds step {ckpt.step}, its name says {step}"
        except CheckpointError as e:
            problem = str(e)
        checkpoints.append({"name": stem, "step": step, "ok": problem is None, "problem": problem})
    return checkpoints
