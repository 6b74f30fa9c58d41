"""No pickle on any load path: crafted pickles and hostile safetensors headers are refused, payloads never run."""

import hashlib
import json
import pickle
import struct

import pytest
import torch

import origan
from origan.cli import main
from origan.errors import CheckpointError
from origan.io.checkpoint import FORMAT, FORMAT_VERSION, load_checkpoint, read_safetensors


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):  # unpickling this object creates the marker file
        return (open, (self.marker, "w"))


def _safetensors(header: dict, data: bytes, declared_len: int | None = None) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h) if declared_len is None else declared_len) + h + data


HOSTILE = {
    "absurd header length": _safetensors({}, b"", declared_len=2**62),
    "header longer than file": _safetensors(
        {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, declared_len=10**6
    ),
    "overlapping offsets": _safetensors(
        {
            "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
            "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
        },
        b"\0" * 24,
    ),
    "out-of-range offsets": _safetensors(
        {"a": {"dtype": "F32", "shape": [2500], "data_offsets": [0, 10000]}}, b"\0" * 16
    ),
    "unknown dtype": _safetensors({"a": {"dtype": "X99", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 16),
    "shape does not fit offsets": _safetensors(
        {"a": {"dtype": "F32", "shape": [100], "data_offsets": [0, 16]}}, b"\0" * 16
    ),
    "negative offsets": _safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [-16, 0]}}, b"\0" * 16),
    "header not json": struct.pack("<Q", 5) + b"\xff\xfe{{{" + b"\0" * 8,
    "a pickle": pickle.dumps({"G": torch.zeros(3)}),
    "too short": b"\x01\x02",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_safetensors_are_refused_even_with_a_matching_manifest(tmp_path, name):
    blob = HOSTILE[name]
    (tmp_path / "evil.safetensors").write_bytes(blob)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tensor_file": "evil.safetensors",
        "sha256": hashlib.sha256(blob).hexdigest(),
        "step": 1,
        "state": {},
    }
    (tmp_path / "evil.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError):
        read_safetensors(tmp_path / "evil.safetensors")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "evil.json")


def test_pickle_payloads_never_run(tmp_path, capsys):
    marker = tmp_path / "PWNED"
    evil = pickle.dumps({"state_dict": Payload(str(marker))})
    # A bare pickle, a torch.save zip with the payload, and pickles dressed as origan files.
    (tmp_path / "model.pt").write_bytes(evil)
    torch.save({"x": Payload(str(marker))}, tmp_path / "torch.pt")
    (tmp_path / "dressed.safetensors").write_bytes(evil)
    (tmp_path / "dressed.json").write_text(
        json.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "tensor_file": "dressed.safetensors",
                "sha256": hashlib.sha256(evil).hexdigest(),
                "step": 1,
                "state": {},
                "config": {},
                "data": {},
            }
        )
    )
    (tmp_path / "pickled.json").write_bytes(evil)
    for target in ("model.pt", "torch.pt", "dressed.json", "dressed.safetensors", "pickled.json"):
        code = main(["sample", str(tmp_path / target), "-n", "2", "--out", str(tmp_path / "x.npy")])
        err = capsys.readouterr().err
        assert code == 2, target
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert not marker.exists(), target
    assert not (tmp_path / "x.npy").exists()
    with pytest.raises(CheckpointError, match="never unpickles"):
        origan.load_run(tmp_path / "model.pt")


def test_manifest_cannot_point_outside_its_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "m.json").write_text(
        json.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "tensor_file": "../../etc/passwd",
                "sha256": "0",
                "state": {},
            }
        )
    )
    with pytest.raises(CheckpointError, match="beside the manifest"):
        load_checkpoint(tmp_path / "sub" / "m.json")


def test_edited_tensor_file_is_detected(tmp_path):
    cfg = origan.load_config(
        "ring8",
        overrides=[
            "train.steps=3",
            "train.sample_every=0",
            "generator.hidden=[8]",
            "discriminator.hidden=[8]",
            "data.n_train=64",
            "train.batch_size=16",
        ],
    )
    origan.train(cfg, out=tmp_path / "r")
    path = tmp_path / "r" / "checkpoints" / "step-000000003.safetensors"
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF  # one flipped bit in the last weight
    path.unlink()  # (a new inode: `last` keeps its own copy)
    path.write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="checksum mismatch"):
        load_checkpoint(path)
    assert origan.load_run(tmp_path / "r").step == 3  # `last` is intact
