"""Every bad input: exit code 2, one line on stderr naming the file or field, no traceback, nothing lost.

One table holds the cases; each builds its situation in a temporary folder and runs the real CLI entry point.
"""

import json
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import origan
from cifar_files import BATCHES, write_cifar_folder
from helpers import set_args
from origan.cli import main
from origan.config import load_config, parse_set
from origan.errors import ConfigError

TINY = [*set_args(["train.steps=4", "train.sample_every=0", "generator.hidden=[8]", "discriminator.hidden=[8]",
                          "data.n_train=64", "train.batch_size=16"]), "--quiet"]  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--preset", "ring8", *TINY, "--out", str(path)]) == 0
    return path


def _copy_run(src, dst):
    import shutil

    shutil.copytree(src, dst)
    return dst


def _edit_json(path, fn):
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _train_on(name, path, *extra):
    return [
        "train",
        "--preset",
        "ring8",
        "--set",
        f"data.name={name}",
        "--set",
        f"data.path={path}",
        "--set",
        "generator.output=auto",
        *extra,
        "--set",
        "train.steps=2",
        "--out",
        str(path) + "-run",
        "--quiet",
    ]


def _images(folder, *specs):
    """Write images: (name, mode, size) or (name, raw bytes)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        if isinstance(spec[1], bytes):
            (folder / spec[0]).write_bytes(spec[1])
        else:
            Image.new(spec[1], spec[2], 128).save(folder / spec[0])
    return folder


def _png_bytes():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (12, 12), 50).save(buf, format="PNG")
    return buf.getvalue()


def _npy(path, arr):
    import numpy as np

    np.save(path, arr)
    return path


def _with_encoder(t, r):
    """A copy of the run with an encoder fitted (a few steps)."""
    from origan.latent.encoder import fit_encoder, save_encoder

    run = origan.load_run(_copy_run(r, t / "c"))
    save_encoder(run, fit_encoder(run, steps=5)[0], [], {})
    return t / "c"


# name -> (setup(tmp, trained) -> argv, expected fragment of the message)
CASES = {
    "missing run path": (lambda t, r: ["sample", str(t / "nope"), "--out", str(t / "x.npy")], "no such run directory"),
    "missing config file": (
        lambda t, r: ["train", "--config", str(t / "c.toml"), "--dry-run"],
        "config file not found",
    ),
    "config file not TOML": (
        lambda t, r: (t / "c.toml").write_text("[train\n") and ["train", "--config", str(t / "c.toml"), "--dry-run"],
        "not valid TOML",
    ),
    "unknown config key": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "train.kay=1", "--dry-run"],
        "train.kay: unknown key",
    ),
    "unknown key in TOML": (
        lambda t, r: (
            (t / "c.toml").write_text("[model]\nx = 1\n")
            and ["train", "--preset", "ring8", "--config", str(t / "c.toml"), "--dry-run"]
        ),
        "model: unknown key",
    ),
    "wrong type": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "train.batch_size=big", "--dry-run"],
        "train.batch_size: expected int",
    ),
    "k <= 0": (lambda t, r: ["train", "--preset", "ring8", "--set", "train.k=0", "--dry-run"], "train.k"),
    "negative learning rate": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "optim_g.lr=-1", "--dry-run"],
        "optim_g.lr",
    ),
    "batch larger than the dataset": (
        lambda t, r: [
            "train",
            "--preset",
            "ring8",
            "--set",
            "data.n_train=50",
            "--set",
            "train.batch_size=64",
            "--out",
            str(t / "new"),
        ],
        "train.batch_size: expected at most the 50 training examples",
    ),
    "bad --set grammar": (lambda t, r: ["train", "--preset", "ring8", "--set", "train.k", "--dry-run"], "KEY=VALUE"),
    "unknown toy option": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "data.params.radios=2", "--out", str(t / "n")],
        "data.params.radios",
    ),
    "negative toy std": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "data.params.std=-1", "--out", str(t / "n")],
        "data.params.std",
    ),
    "existing run directory": (
        lambda t, r: ["train", "--preset", "ring8", *TINY, "--out", str(r)],
        "run directory exists",
    ),
    "overwrite of a folder that is no run": (
        lambda t, r: (
            (t / "mine").mkdir()
            or (
                (t / "mine" / "notes.txt").write_text("x")
                and ["train", "--preset", "ring8", *TINY, "--out", str(t / "mine"), "--overwrite"]
            )
        ),
        "holds no origan run",
    ),
    "resume of a folder that is no run": (lambda t, r: ["train", "--resume", str(t)], "not an origan run directory"),
    "resume changing the config": (
        lambda t, r: ["train", "--resume", str(r), "--set", "train.k=2"],
        "only train.steps and train.epochs may change",
    ),
    "checkpoint from another config": (
        lambda t, r: (
            _edit_json(_copy_run(r, t / "c") / "config.json", lambda d: d["generator"].update(hidden=[9]))
            or ["train", "--resume", str(t / "c")]
        ),
        "written by another config",
    ),
    "checkpoint of another format version": (
        lambda t, r: (
            [
                _edit_json(p, lambda d: d.update(format_version=99))
                for p in (_copy_run(r, t / "c") / "checkpoints").glob("*.json")
            ]
            and ["sample", str(t / "c"), "--out", str(t / "x.npy")]
        ),
        "no intact checkpoint",
    ),
    "checkpoint file of another format version": (
        lambda t, r: (
            _edit_json(_copy_run(r, t / "c") / "checkpoints" / "last.json", lambda d: d.update(format_version=99))
            or ["sample", str(t / "c" / "checkpoints" / "last.json"), "--out", str(t / "x.npy")]
        ),
        "format version 99",
    ),
    "zero samples": (lambda t, r: ["sample", str(r), "-n", "0", "--out", str(t / "x.npy")], "-n: expected a positive"),
    "unknown output type": (lambda t, r: ["sample", str(r), "--out", str(t / "x.xyz")], "unknown output type '.xyz'"),
    "inspect of a folder that is no run": (lambda t, r: ["inspect", str(t)], "not an origan run directory"),
    "missing data path": (lambda t, r: _train_on("folder", t / "nowhere"), "no such"),
    "empty image folder": (lambda t, r: (t / "empty").mkdir() or _train_on("folder", t / "empty"), "no images"),
    "corrupt image": (
        lambda t, r: _train_on(
            "folder", _images(t / "imgs", ("a.png", "L", (12, 12)), ("b.png", b"\x89PNG\r\n\x1a\n garbage"))
        ),
        "b.png: not a readable image",
    ),
    "truncated image": (
        lambda t, r: _train_on("folder", _images(t / "imgs", ("a.png", "L", (12, 12)), ("c.png", _png_bytes()[:40]))),
        "c.png: not a readable image",
    ),
    "non-numeric CSV cell": (
        lambda t, r: (t / "t.csv").write_text("a,b\n1.5,2\n2.5,x\n" + "3.5,4\n" * 40) and _train_on("csv", t / "t.csv"),
        "t.csv",
    ),
    "NaN in a CSV": (
        lambda t, r: (
            (t / "t.csv").write_text("a,b\n1.5,2\n2.5,nan\n" + "3.5,4\n" * 40) and _train_on("csv", t / "t.csv")
        ),
        "t.csv",
    ),
    "Inf in an array": (
        lambda t, r: _train_on(
            "array", _npy(t / "a.npy", __import__("numpy").array([[0.0, 1.0], [float("inf"), 0.0]] * 40))
        ),
        "non-finite value",
    ),
    "array of the wrong shape": (
        lambda t, r: _train_on("array", _npy(t / "a.npy", __import__("numpy").zeros((4, 3, 5, 6, 2)))),
        "wrong array shape",
    ),
    # Hostile data files and options: each a one-line error before any large allocation.
    "toy integer option not an integer": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "data.params.modes=8.5", "--out", str(t / "n")],
        "data.params.modes: expected a positive integer",
    ),
    "toy grid of a million Gaussians": (
        lambda t, r: ["train", "--preset", "grid25", "--set", "data.params.side=1000", "--out", str(t / "n")],
        "data.params.side: 1000 gives 1000000 Gaussians",
    ),
    "CSV integer beyond int64": (
        lambda t, r: (
            (t / "t.csv").write_text("a,b\n99999999999999999999,2\n" + "3,4\n" * 40) and _train_on("csv", t / "t.csv")
        ),
        "t.csv: line 2: integer 99999999999999999999",
    ),
    "CSV cell over the csv field limit": (
        lambda t, r: (
            (t / "t.csv").write_text("a,b\n1," + "x" * 200_000 + "\n" + "3,4\n" * 40) and _train_on("csv", t / "t.csv")
        ),
        "t.csv: line 2: a cell longer than 131072",
    ),
    "CSV with every column dropped": (
        lambda t, r: (
            (t / "t.csv").write_text("a,b\n" + "3,4\n" * 40)
            and _train_on("csv", t / "t.csv", "--set", 'data.drop_columns=["a","b"]')
        ),
        "t.csv: no columns left after data.drop_columns",
    ),
    "CSV that is /dev/zero": (
        lambda t, r: (t / "z.csv").symlink_to("/dev/zero") or _train_on("csv", t / "z.csv"),
        "z.csv: a device, pipe or socket, not a regular file",
    ),
    "array that is /dev/zero": (
        lambda t, r: (t / "z.npy").symlink_to("/dev/zero") or _train_on("array", t / "z.npy"),
        "z.npy: a device, pipe or socket, not a regular file",
    ),
    "IDX file that is /dev/zero": (
        lambda t, r: (t / "z-images-idx3-ubyte").symlink_to("/dev/zero") or _train_on("idx", t / "z-images-idx3-ubyte"),
        "not a regular file",
    ),
    "gzipped IDX that inflates past its header": (
        lambda t, r: (
            (t / "x-images-idx3-ubyte.gz").write_bytes(
                __import__("gzip").compress(bytes([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2]))
                + __import__("gzip").compress(bytes(2**20)) * 3072
            )  # 3 GiB of zeros after 4 promised bytes
            and _train_on("idx", t / "x-images-idx3-ubyte.gz")
        ),
        "promises 4 bytes of data for shape (1, 2, 2), found 5 or more",
    ),
    "gzipped IDX whose header promises 2**60 bytes": (
        lambda t, r: (
            (t / "x-images-idx3-ubyte.gz").write_bytes(
                __import__("gzip").compress(bytes([0, 0, 8, 3, 0, 0, 0, 16, 64, 0, 0, 0, 64, 0, 0, 0]))
            )
            and _train_on("idx", t / "x-images-idx3-ubyte.gz")
        ),
        "over the 8 GiB limit on decoded data",
    ),
    ".npy header promising 10**12 floats": (
        lambda t, r: (
            (t / "big.npy").write_bytes(
                _npy(t / "s.npy", __import__("numpy").zeros(4))
                .read_bytes()
                .replace(b"(4,), }" + b" " * 12, b"(1000000000000,), }")
            )
            and _train_on("array", t / "big.npy")
        ),
        "big.npy: the .npy header promises shape (1000000000000,)",
    ),
    ".npz member promising 10**12 floats": (
        lambda t, r: (
            (z := __import__("zipfile").ZipFile(t / "big.npz", "w")).writestr(
                "x.npy",
                _npy(t / "s.npy", __import__("numpy").zeros(4))
                .read_bytes()
                .replace(b"(4,), }" + b" " * 12, b"(1000000000000,), }"),
            )
            or z.close()
            or _train_on("array", t / "big.npz")
        ),
        "big.npz[x]: the .npy header promises shape (1000000000000,)",
    ),
    "huge image_size for an array": (
        lambda t, r: _train_on(
            "array",
            _npy(t / "a.npy", __import__("numpy").zeros((50, 8, 8), "uint8")),
            "--set",
            "data.image_size=100000",
        ),
        "limit on decoded data",
    ),
    "huge image_size for a folder": (
        lambda t, r: _train_on(
            "folder", _images(t / "imgs", ("a.png", "L", (12, 12))), "--set", "data.image_size=100000"
        ),
        "imgs: 1 images of 3x100000x100000",
    ),
    "complex-valued array": (
        lambda t, r: _train_on("array", _npy(t / "c.npy", __import__("numpy").ones((40, 2), complex))),
        "c.npy: complex values",
    ),
    "array of zero-width rows": (
        lambda t, r: _train_on("array", _npy(t / "e.npy", __import__("numpy").zeros((40, 0)))),
        "e.npy: examples of shape (0,) hold no values",
    ),
    "eval after the CSV's columns changed": (
        lambda t, r: (
            (t / "t.csv").write_text("a,b\n" + "".join(f"{i % 7}.5,{i % 3}\n" for i in range(80)))
            and main(
                _train_on(
                    "csv",
                    t / "t.csv",
                    "--set",
                    "train.batch_size=16",
                    "--set",
                    "generator.hidden=[8]",
                    "--set",
                    "discriminator.hidden=[8]",
                )
            )
            == 0
            and (t / "t.csv").write_text("a,b\n" + "".join(f"{i % 7}.5,{i % 4}\n" for i in range(80)))
            and ["eval", str(t / "t.csv") + "-run", "--n-samples", "50"]
        ),
        "t.csv: the table changed since the run was trained",
    ),
    # config-level checks: non-finite floats, RNG seed and thread bounds, device form, choices, registered names
    "infinite learning rate": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "optim_d.lr=inf", "--dry-run"],
        "optim_d.lr: expected a finite number, got inf",
    ),
    "NaN learning rate": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "optim_g.lr=nan", "--out", str(t / "n")],
        "optim_g.lr: expected a finite number, got nan",
    ),
    "infinite epochs": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "train.epochs=inf", "--dry-run"],
        "train.epochs: expected a finite number, got inf",
    ),
    "seed beyond the RNGs": (
        lambda t, r: ["train", "--preset", "ring8", "--set", f"seed={2**64}", "--out", str(t / "n")],
        f"seed: expected an integer in [0, 2**63 - 1], got {2**64}",
    ),
    "negative seed": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "seed=-3", "--dry-run"],
        "seed: expected an integer in [0, 2**63 - 1], got -3",
    ),
    "too many threads": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "train.threads=100000", "--out", str(t / "n")],
        "train.threads: expected an integer in [0, 1024] (0 = chosen at start), got 100000",
    ),
    "bad device string": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "train.device=gpu0", "--out", str(t / "n")],
        "train.device: expected auto, cpu, mps, cuda or cuda:N, got 'gpu0'",
    ),
    "unknown choice": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "train.autocast=fp8", "--dry-run"],
        "train.autocast: expected one of none, bf16, bf16-matmul, auto, got 'fp8'",
    ),
    "unknown TensorBoard setting": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "train.tensorboard=yes", "--out", str(t / "n")],
        "train.tensorboard: expected one of auto, on, off, got 'yes'",
    ),
    "sdmetrics on data that is no table": (
        lambda t, r: ["eval", str(r), "--metrics", "sdmetrics", "--n-samples", "50"],
        "--metrics sdmetrics: does not apply to vector data 'ring8'",
    ),
    "unknown generator (dry run)": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "generator.name=vae", "--dry-run"],
        "generator.name: expected one of affine, coupling, dcgan, mlp, paper-conv, paper-fc, spline, got 'vae'",
    ),
    "unknown G cost": (
        lambda t, r: ["train", "--preset", "ring8", "--set", "loss.generator=wgan", "--out", str(t / "n")],
        "loss.generator: expected one of minimax, ml, nonsaturating, got 'wgan'",
    ),
    "unknown prior in a run's config": (
        lambda t, r: (
            _edit_json(_copy_run(r, t / "c") / "config.json", lambda d: d["noise"].update(prior="cauchy"))
            or ["train", "--resume", str(t / "c")]
        ),
        "noise.prior: expected one of normal, uniform, got 'cauchy'",
    ),
    # Damaged run directories, missing output folders, impossible devices: one line each, nothing touched.
    "sample into a folder that does not exist": (
        lambda t, r: ["sample", str(r), "--out", str(t / "no" / "x.npy")],
        "does not exist",
    ),
    "sample into a CSV in a missing folder": (
        lambda t, r: ["sample", str(r), "--out", str(t / "no" / "s.csv")],
        "does not exist",
    ),
    "--config naming a folder": (
        lambda t, r: ["train", "--config", str(t), "--dry-run"],
        "--config expects a TOML file",
    ),
    "device that is no device": (
        lambda t, r: ["train", "--preset", "ring8", *TINY, "--set", "train.device=banana", "--out", str(t / "n")],
        "train.device: expected auto, cpu",
    ),
    "device with a bad index": (
        lambda t, r: ["train", "--preset", "ring8", *TINY, "--set", "train.device=cuda:x", "--out", str(t / "n")],
        "train.device: expected auto, cpu",
    ),
    "resume with config.json not UTF-8": (
        lambda t, r: (
            (_copy_run(r, t / "c") / "config.json").write_bytes(b"\xff\xfe{}") and ["train", "--resume", str(t / "c")]
        ),
        "config is not UTF-8",
    ),
    "resume with config.json truncated": (
        lambda t, r: _truncate(_copy_run(r, t / "c") / "config.json") or ["train", "--resume", str(t / "c")],
        "config.json: config is not valid JSON",
    ),
    "resume with config.json nested too deeply": (
        lambda t, r: (
            (_copy_run(r, t / "c") / "config.json").write_text("[" * 100_000 + "]" * 100_000)
            and ["train", "--resume", str(t / "c")]
        ),
        "nested too deeply",
    ),
    "resume with config.json a list": (
        lambda t, r: (
            (_copy_run(r, t / "c") / "config.json").write_text("[1, 2]") and ["train", "--resume", str(t / "c")]
        ),
        "expected a JSON object, got list",
    ),
    "resume with a config field of the wrong type": (
        lambda t, r: (
            _edit_json(_copy_run(r, t / "c") / "config.json", lambda d: d["train"].update(k="two"))
            or ["train", "--resume", str(t / "c")]
        ),
        "config.json: train.k: expected int",
    ),
    "resume with train.steps on a run without a checkpoint": (
        lambda t, r: (
            [p.unlink() for p in (_copy_run(r, t / "c") / "checkpoints").glob("*.json")]
            and ["train", "--resume", str(t / "c"), "--set", "train.steps=50"]
        ),
        "no intact checkpoint",
    ),
    "sample from a manifest with a wrong-typed step": (
        lambda t, r: (
            _edit_json(_copy_run(r, t / "c") / "checkpoints" / "last.json", lambda d: d.update(step="9"))
            or ["sample", str(t / "c" / "checkpoints" / "last.json"), "--out", str(t / "x.npy")]
        ),
        "field 'step' must be",
    ),
    "sample from a manifest without data.shape": (
        lambda t, r: (
            _edit_json(_copy_run(r, t / "c") / "checkpoints" / "last.json", lambda d: d["data"].pop("shape"))
            or ["sample", str(t / "c" / "checkpoints" / "last.json"), "--out", str(t / "x.npy")]
        ),
        "'data.shape' must be",
    ),
    "sample from a manifest whose state is a list": (
        lambda t, r: (
            _edit_json(_copy_run(r, t / "c") / "checkpoints" / "last.json", lambda d: d.update(state=[]))
            or ["sample", str(t / "c" / "checkpoints" / "last.json"), "--out", str(t / "x.npy")]
        ),
        "field 'state' must be",
    ),
    "sample from a truncated manifest": (
        lambda t, r: (
            _truncate(_copy_run(r, t / "c") / "checkpoints" / "last.json")
            or ["sample", str(t / "c" / "checkpoints" / "last.json"), "--out", str(t / "x.npy")]
        ),
        "manifest is not valid JSON",
    ),
    "sample from a manifest that is not UTF-8": (
        lambda t, r: (
            (_copy_run(r, t / "c") / "checkpoints" / "last.json").write_bytes(b"{\xff}")
            and ["sample", str(t / "c" / "checkpoints" / "last.json"), "--out", str(t / "x.npy")]
        ),
        "manifest is not UTF-8",
    ),
    "sample from a run whose manifests all have a wrong type": (
        lambda t, r: (
            [
                _edit_json(p, lambda d: d["data"].update(bounded="yes"))
                for p in (_copy_run(r, t / "c") / "checkpoints").glob("*.json")
            ]
            and ["sample", str(t / "c"), "--out", str(t / "x.npy")]
        ),
        "no intact checkpoint",
    ),
    "eval of a run whose manifests are truncated": (
        lambda t, r: (
            [_truncate(p) for p in (_copy_run(r, t / "c") / "checkpoints").glob("*.json")]
            and ["eval", str(t / "c"), "--n-samples", "10"]
        ),
        "no intact checkpoint",
    ),
    "--label on an unconditional run": (
        lambda t, r: ["sample", str(r), "--label", "1", "--out", str(t / "x.npz")],
        "was trained unconditionally; --label and --per-class",
    ),
    "--per-class on an unconditional run": (
        lambda t, r: ["sample", str(r), "--per-class", "2", "--out", str(t / "x.npz")],
        "was trained unconditionally",
    ),
    "--label and --per-class together": (
        lambda t, r: ["sample", str(r), "--label", "1", "--per-class", "2", "--out", str(t / "x.npz")],
        "--label and --per-class: give one of them",
    ),
    "an unknown label of a conditional run": (
        lambda t, r: (
            main(_cond_train(t)) == 0 and ["sample", str(t / "cond"), "--label", "12", "--out", str(t / "x.npz")]
        ),
        "has no class '12'; its classes are 0, 1, 2, 3, 4, 5, 6, 7, 8, 9",
    ),
    "--per-class 0 of a conditional run": (
        lambda t, r: (
            main(_cond_train(t)) == 0 and ["sample", str(t / "cond"), "--per-class", "0", "--out", str(t / "x.npz")]
        ),
        "--per-class: expected a positive number",
    ),
    "a conditional run on unlabelled data": (
        lambda t, r: ["train", "--preset", "ring8", *TINY, "--set", "train.conditional=true", "--out", str(t / "c")],
        "train.conditional: the data (ring8) have no labels",
    ),
    "a conditional flow generator": (
        lambda t, r: _cond_train(t, "generator.name=affine", "noise.dim=64"),
        "train.conditional: the affine generator is unconditional",
    ),
    "tstr of an unconditional run": (
        lambda t, r: (
            main(_cond_train(t, "train.conditional=false")) == 0
            and ["eval", str(t / "cond"), "--metrics", "tstr", "--n-samples", "10"]
        ),
        "--metrics tstr: needs a run conditioned on the data's labels (train.conditional = true, train.clusters = 0)",
    ),
    "resume with a manifest state that does not fit": (
        lambda t, r: (
            [
                _edit_json(p, lambda d: d["state"].update(counters={"step": "x"}))
                for p in (_copy_run(r, t / "c") / "checkpoints").glob("*.json")
            ]
            and ["train", "--resume", str(t / "c")]
        ),
        "its state does not fit the run",
    ),
    "missing CIFAR-10 batch file": (
        lambda t, r: _train_on("cifar10", _cifar(t / "c", names=BATCHES[:2] + BATCHES[3:])),
        "data_batch_3.bin: missing; data.name=cifar10 reads the binary version's files",
    ),
    "CIFAR-10's pickled version": (
        lambda t, r: [
            (t / "c").mkdir(),
            *((t / "c" / name.removesuffix(".bin")).write_bytes(b"\x80") for name in BATCHES),
            _train_on("cifar10", t / "c"),
        ][-1],
        "this folder holds the pickled Python version, which origan never reads",
    ),
    "truncated CIFAR-10 batch file": (
        lambda t, r: _truncate(_cifar(t / "c") / "data_batch_2.bin") or _train_on("cifar10", t / "c"),
        "data_batch_2.bin: 4,609 bytes is not a whole, positive number of 3,073-byte CIFAR-10 records",
    ),
    "empty CIFAR-10 test batch": (
        lambda t, r: [(_cifar(t / "c") / "test_batch.bin").write_bytes(b""), _train_on("cifar10", t / "c")][-1],
        "test_batch.bin: 0 bytes is not a whole, positive number",
    ),
    "CIFAR-10 data batches of unequal sizes": (
        lambda t, r: (
            _cifar(t / "c") and _cifar(t / "c", n=2, names=("data_batch_5.bin",)) and _train_on("cifar10", t / "c")
        ),
        "data_batch_5.bin: 2 records, data_batch_1.bin holds 3; the five data batches must hold equally many",
    ),
    "CIFAR-10 label out of range": (
        lambda t, r: [
            (_cifar(t / "c", n=2) / "data_batch_4.bin").write_bytes(b"\x05" + bytes(3072) + b"\x0a" + bytes(3072)),
            _train_on("cifar10", t / "c"),
        ][-1],
        "data_batch_4.bin: record 1 has label 10; expected a class index 0..9 (10 classes)",
    ),
    "CIFAR-10 batch that is a folder": (
        lambda t, r: (
            (_cifar(t / "c") / "data_batch_1.bin").unlink()
            or (t / "c" / "data_batch_1.bin").mkdir()
            or _train_on("cifar10", t / "c")
        ),
        "data_batch_1.bin: a folder, not a regular file",
    ),
    "CIFAR-10 path that is a file": (
        lambda t, r: _train_on("cifar10", _cifar(t / "c") / "test_batch.bin"),
        "data.name=cifar10 reads a folder",
    ),
    "contrast normalisation of other data": (
        lambda t, r: _train_on("folder", _images(t / "imgs", ("a.png", "L", (12, 12))), "--set", "data.preprocess=gcn"),
        "data.preprocess: gcn applies to data.name=cifar10 only, not folder",
    ),
    "encode before an encoder exists": (
        lambda t, r: ["encode", str(r), "--in", str(_npy(t / "x.npy", [[0.0, 1.0]])), "--out", str(t / "z.npy")],
        "no encoder yet; fit one with `origan encode",
    ),
    "encode input of the wrong shape": (
        lambda t, r: [
            *["encode", str(_with_encoder(t, r)), "--in", str(_npy(t / "x.npy", [[0.0, 1.0, 2.0]]))],
            *["--out", str(t / "z.npy")],
        ],
        "x.npy: expected an array of shape (n, 2), got [1, 3]",
    ),
    "encode images into a run of points": (
        lambda t, r: [
            *["encode", str(_with_encoder(t, r)), "--in", str(_images(t / "imgs", ("a.png", "L", (8, 8))))],
            *["--out", str(t / "z.npy")],
        ],
        "images given, but this run's data are vector of shape [2]",
    ),
    "encode with a torn encoder file": (
        lambda t, r: (
            _truncate(_with_encoder(t, r) / "encoder" / "encoder.safetensors")
            or ["encode", str(t / "c"), "--in", str(_npy(t / "x.npy", [[0.0, 1.0]])), "--out", str(t / "z.npy")]
        ),
        "encoder.safetensors: checksum mismatch",
    ),
    "encode with no training steps": (
        lambda t, r: ["encode", str(r), "--train", "--steps", "0"],
        "--steps: expected a positive number of steps, got 0",
    ),
    "encode with nothing to do": (lambda t, r: ["encode", str(r)], "encode: give --train"),
    "interpolate to an unknown file type": (
        lambda t, r: ["interpolate", str(r), "--out", str(t / "walk.txt")],
        "walk.txt: unknown output type '.txt'; expected .png, .gif or .npy",
    ),
    "interpolate across classes of an unconditional run": (
        lambda t, r: ["interpolate", str(r), "--across-classes", "--out", str(t / "w.npy")],
        "--across-classes: needs a conditional run",
    ),
    "interpolate with one point per row": (
        lambda t, r: ["interpolate", str(r), "--steps", "1", "--out", str(t / "w.npy")],
        "--steps: expected an integer >= 2",
    ),
    "semi-supervised metric on toy data": (
        lambda t, r: ["eval", str(r), "--metrics", "semi", "--n-samples", "10"],
        "--metrics semi: does not apply to vector data",
    ),
    "reconstruction metric without an encoder": (
        lambda t, r: ["eval", str(r), "--metrics", "reconstruction", "--n-samples", "10"],
        "no encoder yet",
    ),
}


def _cond_train(t, *extra):
    sets = ["train.conditional=true", "train.steps=2", "generator.hidden=[8]", "discriminator.hidden=[8]", *extra]
    return [
        "train",
        "--preset",
        "digits",
        *set_args(sets),
        "--set",
        "train.sample_every=0",
        "--out",
        str(t / "cond"),
        "--quiet",
    ]


def _cifar(folder, n=3, names=BATCHES):
    return write_cifar_folder(folder, n=n, names=names)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_is_one_line_exit_2_and_loses_nothing(name, tmp_path, trained, capsys):
    setup, fragment = CASES[name]
    before = {p: p.read_bytes() for p in trained.rglob("*") if p.is_file()}
    argv = setup(tmp_path, trained)
    capsys.readouterr()
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, (name, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("origan: error: "), err
    assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in err
    assert {p: p.read_bytes() for p in trained.rglob("*") if p.is_file()} == before


# ---------------------------------------------------------------------------------------------------------
# Property-based: the config parser and the --set grammar.

KEYS = st.sampled_from(
    [
        "train.k",
        "train.batch_size",
        "optim_d.lr",
        "noise.dim",
        "generator.hidden",
        "train.update",
        "loss.generator",
        "train.deterministic",
        "seed",
        "data.params.radius",
        "nosuch.key",
        "train",
    ]
)
VALUES = st.one_of(
    st.integers(-5, 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(string.printable, max_size=12),
    st.lists(st.integers(-3, 300), max_size=4),
)


@settings(max_examples=150, deadline=None)
@given(key=KEYS, value=VALUES)
def test_any_override_gives_a_config_or_a_config_error_naming_the_key(key, value):
    try:
        cfg = load_config("ring8", overrides={key: value})
    except ConfigError as e:
        assert str(e).split(":")[0].split(".")[0] in key or key.startswith(str(e).split(":")[0]), str(e)
        assert "\n" not in str(e)
    else:
        assert cfg.validate() is cfg


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_set_grammar_never_crashes(text):
    try:
        key, _ = parse_set(text)
    except ConfigError as e:
        assert "KEY=VALUE" in str(e)
    else:
        assert all(part.isidentifier() for part in key.split("."))


@settings(max_examples=100, deadline=None)
@given(
    k=st.integers(1, 50),
    lr=st.floats(1e-9, 10, allow_nan=False),
    hidden=st.lists(st.integers(1, 512), min_size=1, max_size=4),
)
def test_set_values_round_trip_exactly(k, lr, hidden):
    overrides = [parse_set(f"train.k={k}"), parse_set(f"optim_d.lr={lr!r}"), parse_set(f"generator.hidden={hidden}")]
    cfg = load_config("ring8", overrides=dict(overrides))
    assert (cfg.train.k, cfg.optim_d.lr, cfg.generator.hidden) == (k, lr, tuple(hidden))
    assert origan.config.from_dict(origan.config.to_dict(cfg)) == cfg
