"""Damaged run directories: whatever is truncated, flipped, retyped or deleted, every command ends with exit
0, 1 (inspect: unhealthy) or 2 (a one-line error that touched nothing), never an uncaught exception."""

import json
import random
import shutil

import pytest

from helpers import set_args
from origan.cli import main

TINY = [*set_args([
    "train.steps=6", "train.log_every=2", "train.checkpoint_every=3", "train.sample_every=0", "generator.hidden=[8]",
    "discriminator.hidden=[8]", "data.n_train=64", "data.n_val=16", "data.n_test=16", "train.batch_size=16",
]), "--quiet"]  # fmt: skip
ODD_VALUES = [None, "x", [], {}, 1.5, -1, True, 10**30, "step-000000003.safetensors", [[1, 2]], {"__tensor__": 7}]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("damaged") / "run"
    assert main(["train", "--preset", "ring8", *TINY, "--out", str(path)]) == 0
    return path


def _json_paths(node, prefix=()):
    """Every (path of keys, value) inside a JSON tree, the root included."""
    yield prefix, node
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        yield from _json_paths(v, (*prefix, k))


def _retype(blob: bytes, rng: random.Random) -> bytes:
    """One value somewhere in a JSON document (or a JSONL line) replaced by a value of another type."""
    lines = blob.split(b"\n")
    i = rng.randrange(len(lines))
    try:
        doc = json.loads(lines[i])
    except ValueError:
        return blob[: len(blob) // 2]
    paths = list(_json_paths(doc))
    keys, _ = rng.choice(paths)
    value = rng.choice(ODD_VALUES)
    if not keys:
        doc = value
    else:
        node = doc
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    lines[i] = json.dumps(doc).encode()
    return b"\n".join(lines)


def _damage(path, rng: random.Random) -> str:
    blob = path.read_bytes()
    how = rng.choice(["truncate", "flip", "retype", "retype", "delete", "nest", "not-utf8", "empty"])
    if how == "truncate":
        path.write_bytes(blob[: rng.randrange(max(1, len(blob)))])
    elif how == "flip" and blob:
        data = bytearray(blob)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
    elif how == "retype" and path.suffix in (".json", ".jsonl", ""):
        path.write_bytes(_retype(blob, rng))
    elif how == "delete":
        path.unlink()
    elif how == "nest":
        path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    elif how == "not-utf8":
        path.write_bytes(blob[:10] + b"\xff\xfe\x80" + blob[10:])
    else:
        path.write_bytes(b"")
    return f"{how} {path.name}"


def _snapshot(run):
    return {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}


def test_commands_on_damaged_runs_exit_0_1_or_2_and_never_crash(trained, tmp_path, capsys):
    rng = random.Random(2014)
    commands = ["inspect", "sample", "plot", "resume", "resume-more", "inspect-json"]
    seen = set()
    for i in range(30):
        run = shutil.copytree(trained, tmp_path / f"r{i}")
        damage = []
        for _ in range(rng.randint(1, 2)):
            files = sorted(
                p
                for p in run.rglob("*")
                if (p.is_file() and p.suffix in (".json", ".jsonl", ".safetensors")) or p.name == ".origan-run"
            )
            damage.append(_damage(rng.choice(files), rng))
        command = commands[i % len(commands)]
        argv = {
            "inspect": ["inspect", str(run)],
            "inspect-json": ["inspect", str(run), "--json"],
            "sample": ["sample", str(run), "-n", "5", "--out", str(tmp_path / f"s{i}.npy")],
            "plot": ["plot", str(run)],
            "resume": ["train", "--resume", str(run), "--quiet"],
            "resume-more": ["train", "--resume", str(run), "--set", "train.steps=8", "--quiet"],
        }[command]
        before = _snapshot(run)
        capsys.readouterr()
        code = main(argv)  # an uncaught exception fails the test here
        err = capsys.readouterr().err
        assert code in (0, 1, 2), (damage, command, code, err)
        if code == 2:
            assert err.startswith("origan: error: ") and len(err.strip().splitlines()) == 1, (damage, command, err)
            assert _snapshot(run) == before, (damage, command, "a failed command changed the run")
        seen.add((command, code))
    codes = {c for _, c in seen}
    assert {0, 2} <= codes, seen  # the damage reaches both outcomes: tolerated and refused


@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl", "checkpoints/last.json"])
@pytest.mark.parametrize("content", [b"\xff\xfe\x00garbage", b"[" * 50_000, b'{"step": "x"}\n', b'{"a": 1'])
def test_inspect_reports_damage_as_a_problem_line(trained, tmp_path, capsys, name, content):
    run = shutil.copytree(trained, tmp_path / "r")
    if name == "metrics.jsonl":  # a whole damaged line (a torn last line is what a kill leaves: no problem)
        content = content.rstrip(b"\n") + b"\n"
    (run / name).write_bytes(content)
    capsys.readouterr()
    assert main(["inspect", str(run)]) == 1
    out = capsys.readouterr().out
    assert "UNHEALTHY" in out, out
    assert any(line.startswith("problem: ") and str(run / name) in line for line in out.splitlines()), out
