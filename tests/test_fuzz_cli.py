"""A generated test of the command line's promises: every option of every subcommand, read from the real parser,
gets hostile values, and each command line must keep the README's promise.

For each subcommand a cheap valid command line is the base; each case replaces one option (or, for a seeded
sample, two) with a value from the pool of its kind: counts and seeds (negative, zero, past every bound, not
numbers, Unicode digits), floats (NaN, infinities, overflow), paths (missing, a file where a folder goes and
the reverse, a FIFO, a device, an unknown user's home, control characters, 5,000 characters, under a file),
names and labels (unknown, empty, control characters). An option the parser has and the pools do not know fails
the test, so a new option is fuzzed from the day it is added.

The promise checked for every case: exit 0 or 2 (1 only from ``inspect``, its verdict on a damaged run), at
most one line on stderr for an error, no traceback, no exception out of ``main``, an answer within the time
limit (a FIFO never blocks), the runs' and inputs' files byte-identical after a refusal, and the whole
process's resident memory under a cap while the byte budget is small.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import set_args
from origan.cli import build_parser, main
from origan.limits import MAX_SEED, MAX_STEPS

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parent / "src")
RSS_CAP_KB = 3_000_000  # the driver imports torch (~0.4 GB); every refused request must keep it far from this
TINY_RING = ["train.steps=4", "train.sample_every=0", "generator.hidden=[8]", "discriminator.hidden=[8]",
             "data.n_train=256", "data.n_val=64", "data.n_test=64", "train.batch_size=32",
             "train.threads=1"]  # fmt: skip
TINY_COND = ["train.conditional=true", "train.steps=4", "generator.hidden=[8]", "discriminator.hidden=[8]",
             "train.batch_size=16", "train.sample_every=0", "train.threads=1"]  # fmt: skip

COUNTS = ["-1", "0", "1", "3", "4097", str(2**31), str(MAX_SEED), str(MAX_SEED + 1), str(10**30), "1e3", "2.5",
          "nan", "", " ", "²", "٣", "0x10", "\n", "\x1b[2J"]  # fmt: skip
WORK = ["-1", "0", "1", "2", str(MAX_STEPS + 1), str(10**30), "1e3", "2.5", "nan", "", "²"]  # counts of steps
FLOATS = ["0", "-1", "nan", "inf", "-inf", "1e999", "1e-320", "abc", "", "0.001"]
NAMES = ["", "nosuch", "a\nb", "\x1b[31mred", "../../x", "x" * 5000, "²", "-1", "0", "3", "zz"]


def _paths(t: Path) -> list[str]:
    """Hostile places, each valid as an argument: files, folders, a FIFO, a device, odd names."""
    return [
        str(t / "nope"),
        str(t / "nope.npy"),
        str(t / "file.txt"),
        str(t / "dir"),
        str(t / "dir.npy"),
        str(t / "fifo"),
        str(t / "fifo.npy"),
        "/dev/zero",
        "~nosuchuser-origan/x.npy",
        str(t / "a\nb\x1b.npy"),
        str(t / ("x" * 300 + ".npy")),
        "/" + "y" * 5000,
        str(t / "file.txt" / "x.npy"),
        "",
    ]


def _outputs(t: Path, i: int) -> list[str]:
    """Fresh output names of every form (valid or not), unique to case ``i``."""
    return [str(t / "out" / f"case{i}{s}") for s in (".npy", ".npz", ".csv", ".png", ".gif", ".txt", "")]


def _options(parser: argparse.ArgumentParser) -> dict[str, dict[str, argparse.Action]]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: {(a.option_strings[0] if a.option_strings else a.dest): a for a in p._actions if a.dest != "help"}
        for name, p in sub.choices.items()
    }


# command -> option -> the pool its hostile values come from ("path", "out", "count", "work", "float", "name",
# "flag", "choice", "set", "run")
POOLS = {
    "train": {"--preset": "name", "--config": "path", "--set": "set", "--out": "new-run", "--dry-run": "flag",
              "--resume": "path", "--overwrite": "flag", "--quiet": "flag"},
    "sample": {"run": "run", "-n": "count", "--out": "out", "--seed": "count", "--label": "name",
               "--per-class": "count"},
    "eval": {"run": "run", "--metrics": "name", "--n-samples": "count", "--seed": "count",
             "--inception-weights": "path"},
    "presets": {},
    "inspect": {"run": "run", "--json": "flag"},
    "theory": {"experiment": "choice", "--out": "out", "--seed": "count", "--quick": "flag"},
    "plot": {"run": "run"},
    "interpolate": {"run": "run", "--out": "out", "--rows": "count", "--steps": "count", "--seed": "count",
                    "--method": "choice", "--across-classes": "flag"},
    "encode": {"run": "run", "--train": "flag", "--steps": "work", "--refine-real": "work", "--batch-size": "count",
               "--lr": "float", "--seed": "count", "--in": "path", "--out": "out"},
}  # fmt: skip

SETS = ["data.image_size=100000", "train.epochs=1e300", "data.params.modes=100000000000",
        "", "=", "train.steps", "train.steps=-1", "train.batch_size=99999999999", "data.n_train=100000000000",
        "noise.dim=100000000000", "generator.hidden=[100000000000]", "discriminator.hidden=[0]",
        "train.steps=1e999", "seed=-1", "data.path=/dev/zero", "data.name=array", "train.threads=100000",
        "train.n_fixed_samples=100000000000", "train.k=99999999999999999999999", "a\nb=1"]  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Two runs (a toy and a conditional image run with an encoder), inputs, and the hostile places."""
    t = tmp_path_factory.mktemp("fuzz")
    ring, cond, img = t / "runs" / "ring", t / "runs" / "cond", t / "runs" / "img"
    assert main(["train", "--preset", "ring8", *set_args(TINY_RING), "--out", str(ring), "--quiet"]) == 0
    assert main(["train", "--preset", "digits", *set_args(TINY_COND), "--out", str(cond), "--quiet"]) == 0
    assert main(["train", "--preset", "digits", *set_args(TINY_COND[1:]), "--out", str(img), "--quiet"]) == 0
    assert main(["encode", str(img), "--train", "--steps", "3"]) == 0
    inputs = t / "inputs"
    inputs.mkdir()
    import numpy as np

    np.save(inputs / "x.npy", np.zeros((3, 1, 8, 8), dtype=np.float32))
    (t / "file.txt").write_text("not what anyone expected\n")
    (t / "dir").mkdir()
    (t / "dir.npy").mkdir()
    os.mkfifo(t / "fifo")
    os.mkfifo(t / "fifo.npy")
    (t / "out").mkdir()
    return t, ring, cond, img, inputs


def _base(command: str, t: Path, ring: Path, cond: Path, img: Path, inputs: Path, i: int) -> dict[str, list[str]]:
    """A cheap valid command line of ``command`` as option -> its argument(s)."""
    out = t / "out"
    return {
        "train": {"--preset": ["ring8"], "--set": set_args(TINY_RING), "--out": [str(out / f"run{i}")],
                  "--quiet": []},
        "sample": {"run": [str(cond)], "-n": ["4"], "--out": [str(out / f"case{i}.npz")]},
        "eval": {"run": [str(ring)], "--metrics": ["modes"], "--n-samples": ["50"]},
        "presets": {},
        "inspect": {"run": [str(ring)]},
        "theory": {"experiment": ["identity"], "--out": [str(t / "file.txt")], "--quick": []},
        "plot": {"run": [str(ring)]},
        "interpolate": {"run": [str(cond)], "--out": [str(out / f"case{i}.npy")], "--rows": ["2"], "--steps": ["3"]},
        "encode": {"run": [str(img)], "--in": [str(inputs / "x.npy")], "--out": [str(out / f"case{i}.npy")],
                   "--steps": ["3"]},
    }[command]  # fmt: skip


def _pool(kind: str, t: Path, ring: Path, cond: Path, img: Path, i: int) -> list[list[str]]:
    if kind == "count":
        return [[v] for v in COUNTS]
    if kind == "work":
        return [[v] for v in WORK]
    if kind == "float":
        return [[v] for v in FLOATS]
    if kind == "name":
        return [[v] for v in NAMES]
    if kind == "path":
        return [[v] for v in _paths(t)]
    if kind == "out":
        return [[v] for v in [*_paths(t), *_outputs(t, i)]]
    if kind == "new-run":  # each valid place would train a run: two are enough
        return [[v] for v in [*_paths(t), *_outputs(t, i)[-2:]]]
    if kind == "run":
        return [[v] for v in [*_paths(t), str(ring), str(cond), str(img), str(cond / "checkpoints" / "last.json")]]
    if kind == "set":
        return [["--set", v] for v in SETS]
    if kind == "flag":
        return [[]]
    if kind == "choice":
        return [[v] for v in ["", "nosuch", "LINEAR", "all\n"]]
    raise AssertionError(kind)


def _argv(command: str, parts: dict[str, list[str]], actions: dict[str, argparse.Action]) -> list[str]:
    argv = [command]
    for option, values in parts.items():
        if option == "--set":
            argv += values
        elif actions[option].option_strings:
            argv += [option, *values]
        else:
            argv += values  # positional
    return argv


def _cases(world) -> list[dict]:
    t, ring, cond, img, inputs = world
    options = _options(build_parser())
    assert set(options) == set(POOLS), "a subcommand without fuzz pools"
    guarded = [str(ring), str(cond), str(img), str(inputs), str(t / "file.txt"), str(t / "dir")]
    rng = random.Random(18)
    cases, i = [], 0
    for command, actions in options.items():
        assert set(actions) == set(POOLS[command]), f"{command}: options without fuzz pools"
        singles = []
        for option in actions:
            for value in _pool(POOLS[command][option], t, ring, cond, img, i):
                singles.append((option, value))
        for option, value in singles:
            i += 1
            parts = dict(_base(command, t, ring, cond, img, inputs, i))
            if command == "train" and option == "--resume":
                parts = {"--resume": value}
            elif command == "theory" and option == "--out":  # a valid place would run the lab: only bad ones
                if value and value[0].startswith(str(t / "out")):
                    continue
            elif option == "--set":
                parts = {**parts, "--set": parts["--set"] + value}
            else:
                parts[option] = value
            cases.append({"argv": _argv(command, parts, actions), "guarded": guarded})
        for _ in range(min(10, len(singles))):  # and pairs of hostile values, seeded
            i += 1
            parts = dict(_base(command, t, ring, cond, img, inputs, i))
            (o1, v1), (o2, v2) = rng.sample(singles, 2)
            if "--resume" in (o1, o2) or "--set" in (o1, o2) or command == "theory":
                continue
            parts[o1], parts[o2] = v1, v2
            cases.append({"argv": _argv(command, parts, actions), "guarded": guarded})
    return cases


def test_hostile_values_for_every_option_of_every_command_keep_the_promise(world, tmp_path):
    cases = _cases(world)
    assert len(cases) > 300
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    env = {**os.environ, "ORIGAN_MAX_DATA_BYTES": "1M", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([SRC, os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    proc = subprocess.run(
        [sys.executable, str(HERE / "fuzz_cli.py"), str(tmp_path / "cases.json"), str(tmp_path / "results.json")],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "results.json").read_text())
    broken = []
    for r in report["results"]:
        lines = r["stderr"].strip().splitlines()
        allowed = {0, 2} | ({1} if r["argv"][0] == "inspect" else set())
        problems = [
            "an exception escaped main:\n" + r["crash"] if r["crash"] else "",
            "no answer in time" if r["hang"] else "",
            f"exit {r['code']}" if r["code"] not in allowed and not r["crash"] and not r["hang"] else "",
            "Traceback on stderr" if "Traceback" in r["stderr"] else "",
            f"{len(lines)} lines on stderr" if r["code"] == 2 and len(lines) != 1 else "",
            "not an origan error line"
            if r["code"] == 2 and lines and not lines[0].startswith("origan: error: ")
            else "",
            "guarded files changed" if r["code"] == 2 and not r["guarded_same"] else "",
        ]
        if any(problems):
            broken.append(f"{r['argv']!r}: {'; '.join(p for p in problems if p)}\n  {r['stderr'][-500:]}")
    seconds = sum(r["seconds"] for r in report["results"])
    print(f"{len(cases)} cases in {seconds:.1f} s, peak RSS {report['peak_rss_kb'] / 1024:.0f} MiB")
    assert not broken, f"{len(broken)} of {len(cases)} cases broke the promise:\n" + "\n".join(broken[:40])
    assert report["peak_rss_kb"] < RSS_CAP_KB
    codes = {r["code"] for r in report["results"]}
    assert {0, 2} <= codes  # the pools hold values that work and values that are refused
