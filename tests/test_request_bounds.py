"""Requests keep the core's promises: sizes and seeds within one table of bounds, output places checked before
any work, run files validated, and every message one line (issue classes 1, 3, 4, 5 and 7).

Each case runs the real CLI entry point and asserts: exit 2, one line on stderr naming the option or file, no
traceback, and the run's files byte-identical.
"""

import json
import shutil
import tracemalloc

import pytest

import origan
from helpers import set_args
from origan.cli import main
from origan.errors import OptionError, UserError, one_line
from origan.limits import BOUNDS, MAX_SEED, check_float, check_int, check_request
from origan.metrics import evaluate

COND = ["train.conditional=true", "train.steps=4", "generator.hidden=[8]", "discriminator.hidden=[8]",
        "train.batch_size=16", "train.sample_every=0", "train.device=cpu", "train.threads=1"]  # fmt: skip


@pytest.fixture(scope="module")
def cond(tmp_path_factory):
    """A conditional run on the 8x8 digits (10 classes), 4 steps."""
    path = tmp_path_factory.mktemp("runs") / "cond"
    assert main(["train", "--preset", "digits", *set_args(COND), "--out", str(path), "--quiet"]) == 0
    return path


def _files(root):
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _refused(capsys, argv, fragment, guarded=None):
    """Run ``origan argv``: exit 2, one ``origan: error:`` line holding ``fragment``; ``guarded`` unchanged."""
    before = _files(guarded) if guarded is not None else None
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's errors leave by SystemExit, as argparse does
        code = e.code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("origan: error: "), err
    assert fragment in lines[0], (fragment, lines[0])
    assert "Traceback" not in err
    if guarded is not None:
        assert _files(guarded) == before
    return lines[0]


# ---------------------------------------------------------------------------------------------------------
# Class 1: sizes are refused before anything is allocated; one byte budget for every request.


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--per-class", "100000000000"], "--per-class: 1,000,000,000,000 samples would take"),
        (["-n", "100000000000"], "-n: 100,000,000,000 samples would take"),
        (["-n", str(10**40)], "-n: a number of 41 digits of samples would take"),
    ],
)
def test_sample_sizes_over_the_budget_are_refused_before_any_draw(cond, tmp_path, capsys, argv, fragment):
    tracemalloc.start()
    try:
        line = _refused(capsys, ["sample", str(cond), *argv, "--out", str(tmp_path / "s.npz")], fragment, cond)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "over the 8 GiB limit on what one request makes (set ORIGAN_MAX_DATA_BYTES" in line
    assert peak < 200 << 20  # nothing of the request's size was allocated (a label per sample: 800 GB)
    assert not (tmp_path / "s.npz").exists()


def test_the_budget_is_one_setting_for_reading_and_for_requests(cond, tmp_path, capsys, monkeypatch):
    """8x8 digits: 256 bytes a sample and 8 for its class; a 64 KiB budget holds 248 conditional samples."""
    monkeypatch.setenv("ORIGAN_MAX_DATA_BYTES", "64K")
    assert main(["sample", str(cond), "-n", "248", "--out", str(tmp_path / "a.npz")]) == 0
    _refused(capsys, ["sample", str(cond), "-n", "249", "--out", str(tmp_path / "b.npz")], "-n: 249 samples", cond)
    _refused(capsys, ["sample", str(cond), "--per-class", "25", "--out", str(tmp_path / "b.npz")], "--per-class: 250")
    # an evaluation holds 3 copies of its samples: 82 is the most that fits
    _refused(capsys, ["eval", str(cond), "--n-samples", "83"], "--n-samples: 83 samples would take 64.2 KiB", cond)
    assert not (tmp_path / "b.npz").exists()


def test_a_conditional_grid_is_refused_before_its_labels_are_drawn(cond, tmp_path, capsys):
    _refused(capsys, ["sample", str(cond), "-n", "5000", "--out", str(tmp_path / "g.png")], "holds at most 4096", cond)


def test_the_api_checks_what_the_cli_checks(cond):
    run = origan.load_run(cond)
    for call, fragment in [
        (lambda: run.sample(10**12), "n: 1,000,000,000,000 samples would take"),
        (lambda: run.sample(2.5), "n: expected a positive number of samples, got 2.5"),
        (lambda: run.sample(True), "n: expected a positive number of samples, got True"),
        (lambda: run.sample(0), "n: expected a positive number of samples, got 0"),
        (lambda: run.sample(4, seed=-1), "seed: expected an integer in [0, 2**63 - 1], got -1"),
        (lambda: run.sample(4, seed=2**64), "seed: expected an integer in [0, 2**63 - 1]"),
        (lambda: run.sample_per_class(10**12), "--per-class: 10,000,000,000,000 samples would take"),
        (lambda: run.sample_per_class(0), "--per-class: expected a positive number of samples per class, got 0"),
        (lambda: list(run.sample_chunks(4, seed=-3)), "seed: expected an integer in [0, 2**63 - 1], got -3"),
        (lambda: evaluate(run, n_samples=1), "--n-samples: expected at least 2 samples, got 1"),
        (lambda: evaluate(run, n_samples=10, seed=MAX_SEED + 1), "--seed: expected an integer in"),
    ]:
        with pytest.raises(OptionError) as err:
            call()
        assert fragment in str(err.value), (fragment, str(err.value))
    assert run.sample(4, seed=MAX_SEED).shape == (4, 1, 8, 8)  # the largest seed is a seed


def test_bounds_take_integers_as_given_and_floats_finite():
    import numpy as np

    assert check_int(np.int64(5), "-n", "samples") == 5
    for bad in (2.5, 3.0, True, "3", None, float("nan")):
        with pytest.raises(OptionError, match="-n: expected a positive number of samples"):
            check_int(bad, "-n", "samples")
    assert check_float(1e-3, "--lr", "lr") == 1e-3
    for bad in (0.0, -1.0, float("nan"), float("inf"), 10**400, "0.1", False):
        with pytest.raises(OptionError, match="--lr: expected a finite learning rate > 0"):
            check_float(bad, "--lr", "lr")
    with pytest.raises(OptionError, match="--rows: 3 rows would take 12 bytes, over the 8 bytes limit"):
        import os

        os.environ["ORIGAN_MAX_DATA_BYTES"] = "8"
        try:
            check_request(3, 4, "--rows", "rows")
        finally:
            del os.environ["ORIGAN_MAX_DATA_BYTES"]
    assert all(b.expected for b in BOUNDS.values())


# ---------------------------------------------------------------------------------------------------------
# Class 3: values one check takes and the next refuses; seeds of every command; paths Python cannot expand.


@pytest.mark.parametrize("seed", ["-1", str(MAX_SEED + 1), str(10**30)])
@pytest.mark.parametrize("command", ["sample", "eval", "theory"])
def test_every_seed_option_is_range_checked_before_any_work(cond, tmp_path, capsys, command, seed):
    argv = {
        "sample": ["sample", str(cond), "--out", str(tmp_path / "s.npy")],
        "eval": ["eval", str(cond)],
        "theory": ["theory", "identity", "--out", str(tmp_path / "lab")],
    }[command]
    _refused(capsys, [*argv, "--seed", seed], "--seed: expected an integer in [0, 2**63 - 1]", cond)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("label", ["²", "٣x", " 1 2", "-1", "10"])
def test_labels_that_are_no_class_are_one_line(cond, tmp_path, capsys, label):
    _refused(capsys, ["sample", str(cond), "-n", "4", "--label", label, "--out", str(tmp_path / "s.npz")],
             "has no class", cond)  # fmt: skip


def test_a_home_folder_of_an_unknown_user_is_one_line(tmp_path, capsys):
    _refused(
        capsys,
        [
            "train",
            "--preset",
            "ring8",
            "--set",
            "data.name=array",
            "--set",
            "data.path=~nosuchuser-origan/x.npy",
            "--set",
            "train.steps=1",
            "--out",
            str(tmp_path / "r"),
        ],
        "~nosuchuser-origan/x.npy: no such user's home folder (data.path",
    )
    assert not (tmp_path / "r").exists()


def test_argument_errors_are_one_line_too(capsys):
    _refused(capsys, ["sample", "x", "-n", "1e3", "--out", "x.npy"], "sample: argument -n: invalid int value: '1e3'")
    _refused(capsys, ["nosuchcommand"], "argument COMMAND: invalid choice: 'nosuchcommand'")
    _refused(capsys, ["sample"], "the following arguments are required")


# ---------------------------------------------------------------------------------------------------------
# Class 4: every output place is checked before any work and any write.


def test_resume_with_a_file_where_tensorboard_goes_keeps_the_config(cond, tmp_path, capsys):
    run = shutil.copytree(cond, tmp_path / "r")
    shutil.rmtree(run / "tensorboard", ignore_errors=True)
    (run / "tensorboard").write_text("not a folder")
    _refused(
        capsys,
        ["train", "--resume", str(run), "--set", "train.steps=8"],  # train.tensorboard=auto: the package is here
        "tensorboard: exists and is not a folder; expected a folder for TensorBoard event files",
        run,
    )


@pytest.mark.parametrize("place", ["checkpoints", "samples", "plots"])
def test_resume_with_a_file_where_a_run_folder_goes_writes_nothing(cond, tmp_path, capsys, place):
    run = shutil.copytree(cond, tmp_path / "r")
    if (run / place).is_dir():
        shutil.rmtree(run / place)
    (run / place).write_text("a file")
    _refused(capsys, ["train", "--resume", str(run), "--set", "train.steps=8"], f"{place}: exists and is not a folder",
             run)  # fmt: skip


@pytest.mark.parametrize(
    ("place", "folder", "fragment"),
    [
        ("eval.json", True, "eval.json: a folder; expected a file for the evaluation record"),
        ("eval-history.jsonl", True, "eval-history.jsonl: a folder; expected a file for the evaluation history"),
        ("plots", False, "plots: exists and is not a folder; expected a folder for the evaluation figures"),
        ("tensorboard", False, "tensorboard: exists and is not a folder"),
    ],
)
def test_eval_checks_every_place_it_writes_before_any_work(
    cond, tmp_path, capsys, monkeypatch, place, folder, fragment
):
    import origan.metrics.evaluation as evaluation

    run = shutil.copytree(cond, tmp_path / "r")
    target = run / place
    if target.is_dir():
        shutil.rmtree(target)
    target.mkdir() if folder else target.write_text("a file")
    cfg = json.loads((run / "config.json").read_text())
    cfg["train"]["tensorboard"] = "on"
    (run / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setattr(evaluation, "build_dataset", lambda *a: pytest.fail("eval worked before checking"))
    _refused(capsys, ["eval", str(run), "--n-samples", "20"], fragment, run)


def test_a_new_run_under_a_file_is_refused_before_any_work(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    _refused(capsys, ["train", "--preset", "ring8", "--out", str(tmp_path / "f" / "run")],
             "f is not a folder; expected a place for the run directory")  # fmt: skip


# ---------------------------------------------------------------------------------------------------------
# Class 5: checkpoint manifests' classes and class counts are validated; inspect calls such a run unhealthy.


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: d.update(classes="0123456789"), "field 'data.classes' must be a list of 1 to 100000 distinct"),
        (lambda d: d.update(classes=["a"] * 10), "field 'data.classes' must be a list"),
        (lambda d: d.update(classes=[1, 2]), "field 'data.classes' must be a list"),
        (lambda d: d.update(classes=[]), "field 'data.classes' must be a list"),
        (lambda d: d.update(class_counts=[1, 2]), "field 'data.class_counts' must be one count >= 0 per class"),
        (lambda d: d.update(class_counts=[0] * 10), "not all 0"),
        (lambda d: d.update(class_counts=[-1] + [5] * 9), "field 'data.class_counts'"),
        (lambda d: d.update(class_counts=[1.5] * 10), "field 'data.class_counts'"),
        (lambda d: d.update(class_counts="many"), "field 'data.class_counts'"),
    ],
)
def test_edited_class_fields_of_a_manifest_are_damage(cond, tmp_path, capsys, edit, fragment):
    run = shutil.copytree(cond, tmp_path / "r")
    for name in ("last.json", *(p.name for p in (run / "checkpoints").glob("step-*.json"))):
        path = run / "checkpoints" / name
        manifest = json.loads(path.read_text())
        edit(manifest["data"])
        path.write_text(json.dumps(manifest))
    _refused(capsys, ["sample", str(run), "-n", "4", "--out", str(tmp_path / "s.npz")], fragment, run)
    capsys.readouterr()
    assert main(["inspect", str(run)]) == 1
    out = capsys.readouterr().out
    assert "UNHEALTHY" in out and fragment in out


# ---------------------------------------------------------------------------------------------------------
# Class 7: names with control characters never split a message.


def test_class_names_with_control_characters_are_escaped_in_messages(cond, tmp_path, capsys):
    run = shutil.copytree(cond, tmp_path / "r")
    for path in (run / "checkpoints").glob("*.json"):
        manifest = json.loads(path.read_text())
        manifest["data"]["classes"] = [f"c{i}\n\x1b[31m\u2028" for i in range(10)]
        path.write_text(json.dumps(manifest))
    line = _refused(capsys, ["sample", str(run), "-n", "4", "--label", "zz", "--out", str(tmp_path / "s.npz")],
                    "has no class 'zz'; its classes are c0\\n\\x1b[31m\\u2028, c1", run)  # fmt: skip
    assert "\x1b" not in line


def test_every_user_error_is_one_line():
    assert str(UserError("a\nb\r\x00\x1b\u2028\u202e c é 中")) == "a\\nb\\r\\x00\\x1b\\u2028\\u202e c é 中"
    assert one_line("plain text, ünïcode") == "plain text, ünïcode"
    assert str(OptionError(f"-n: got {'x' * 3}")) == "-n: got xxx"


@pytest.mark.parametrize(
    ("sets", "fragment"),
    [
        (["generator.hidden=[100000,100000]"], "noise.dim, generator.*, discriminator.*: 10,0"),
        (["noise.dim=100000000000"], "parameters of G and D would take"),
        (
            ["data.n_train=100000000000"],
            "data.n_train/n_val/n_test: 100,000,020,000 points of ring8 would take 745 GiB",
        ),
        (["train.k=10001"], "train.k: expected an integer in [1, 10,000], got 10001"),
        (["train.steps=1000000001"], "train.steps: expected an integer in [0, 1,000,000,000]"),
        (["train.n_fixed_samples=4097"], "train.n_fixed_samples: expected an integer in [1, 4096]"),
    ],
)
def test_training_sizes_from_the_config_are_refused_before_anything_is_built(tmp_path, capsys, sets, fragment):
    tracemalloc.start()
    try:
        _refused(capsys, ["train", "--preset", "ring8", *set_args(sets), "--out", str(tmp_path / "r")], fragment)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 << 20
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("name", ["fifo.npy", "fifo.csv", "fifo.png"])
def test_a_fifo_or_device_as_sample_output_is_refused_not_replaced(cond, tmp_path, capsys, name):
    import os
    import stat

    os.mkfifo(tmp_path / name)
    _refused(capsys, ["sample", str(cond), "-n", "4", "--out", str(tmp_path / name)], "not a regular file", cond)
    assert stat.S_ISFIFO(os.stat(tmp_path / name).st_mode)
    _refused(
        capsys, ["sample", str(cond), "-n", "4", "--out", "/dev/null"], "/dev/null: exists and is not a folder", cond
    )
    _refused(capsys, ["sample", str(cond), "-n", "4", "--out", str(tmp_path / "no" / "pngs")], "does not exist", cond)
