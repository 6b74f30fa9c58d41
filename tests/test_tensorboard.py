"""TensorBoard logging: the event files read back with TensorBoard's own reader (tags, steps, resume, guard, eval)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import origan
from helpers import TINY_TOY, set_args
from origan.cli import main
from origan.io.tensorboard import FOLDER, TAGS

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed (pip install 'origan[tensorboard]')")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

TINY = [*TINY_TOY, "train.steps=30", "train.checkpoint_every=10", "train.sample_every=10"]


def _events(run):
    acc = EventAccumulator(str(run / FOLDER), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    return acc


def _rows(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]


def _check_scalars_equal_metrics(acc, rows):
    rows = [r for r in rows if "d_loss" in r]
    for key, tag in TAGS.items():
        logged = [(e.step, e.value) for e in acc.Scalars(tag)] if tag in acc.Tags()["scalars"] else []
        expected = [(r["step"], np.float32(r[key])) for r in rows if r.get(key) is not None]
        assert logged == expected, tag


def test_a_run_logs_every_scalar_the_samples_and_its_config(tmp_path):
    run = origan.train(origan.load_config("ring8", overrides=TINY), out=tmp_path / "r").path
    acc = _events(run)
    tags = acc.Tags()
    assert set(TAGS.values()) - set(tags["scalars"]) == {"momentum/D"}  # ring8 trains with Adam: no momentum
    _check_scalars_equal_metrics(acc, _rows(run))
    assert [e.step for e in acc.Scalars("losses/D")] == [5, 10, 15, 20, 25, 30]
    images = acc.Images("samples/fixed_noise")
    assert [e.step for e in images] == [10, 20, 30]  # each sample interval and the end
    assert all(e.width > 100 and e.height > 100 for e in images)  # the 2-D scatter as a PNG
    (config,) = acc.Tensors("config/text_summary")
    text = config.tensor_proto.string_val[0].decode()
    assert json.loads(text.strip("`\njson")) == json.loads((run / "config.json").read_text())


def test_resume_continues_the_same_log_without_duplicated_steps(tmp_path):
    cfg = origan.load_config("ring8", overrides=[*TINY, "optim_d.name=sgd"])  # D's momentum logged too
    run = origan.train(cfg, out=tmp_path / "r").path
    # the newest checkpoint torn (a kill while writing it): resume falls back to step 20 and replays 25 and 30
    ck = run / "checkpoints"
    for name in ("step-000000030.safetensors", "last.safetensors"):
        blob = (ck / name).read_bytes()
        (ck / name).unlink()
        (ck / name).write_bytes(blob[: len(blob) // 2])
    origan.resume(run)
    acc = _events(run)
    assert len(list((run / FOLDER).glob("events.out.tfevents.*"))) == 2  # one file per start of training, one folder
    assert set(TAGS.values()) <= set(acc.Tags()["scalars"])
    for tag in TAGS.values():
        steps = [e.step for e in acc.Scalars(tag)]
        assert steps == sorted(set(steps)) == [5, 10, 15, 20, 25, 30], tag
    assert [e.step for e in acc.Images("samples/fixed_noise")] == [10, 20, 30]
    _check_scalars_equal_metrics(acc, _rows(run))  # the resumed values, as metrics.jsonl has them
    assert [e.step for e in acc.Tensors("config/text_summary")] == [0, 20]


def test_eval_results_are_appended_at_the_checkpoint_step(tmp_path, capsys):
    run = origan.train(origan.load_config("ring8", overrides=TINY), out=tmp_path / "r").path
    assert main(["eval", str(run), "--metrics", "prdc,modes", "--n-samples", "400"]) == 0
    record = json.loads((run / "eval.json").read_text())
    acc = _events(run)
    (precision,) = acc.Scalars("eval/prdc/precision")
    assert precision.step == 30 and precision.value == np.float32(record["metrics"]["prdc"]["precision"])
    (captured,) = acc.Scalars("eval/modes/modes_captured")
    assert captured.value == np.float32(record["metrics"]["modes"]["modes_captured"])
    assert acc.Scalars("losses/D")[-1].step == 30  # the training curves are still there


def test_divergence_guard_events_are_logged(tmp_path, capsys):
    sets = [
        *TINY_TOY,
        "train.steps=200",
        "loss.generator=ml",
        "optim_g.lr=1e6",
        "optim_g.momentum=0.0",
        "optim_g.momentum_final=0.0",
        "optim_g.lr_decay=1.0",
        "train.guard_max_rollbacks=2",
        "train.guard_lr_factor=0.9",
    ]
    code = main(["train", "--preset", "ring8", *set_args(sets), "--out", str(tmp_path / "r"), "--quiet"])
    assert code == 1  # gave up after two rollbacks; the event file is still closed and readable
    events = [r for r in _rows(tmp_path / "r") if r.get("event") == "rollback"]
    acc = _events(tmp_path / "r")
    assert [(e.step, e.value) for e in acc.Scalars("guard/rollbacks")] == [(r["step"], r["rollbacks"]) for r in events]
    assert [e.value for e in acc.Scalars("guard/lr_scale")] == [np.float32(r["lr_scale"]) for r in events]
    texts = [e.tensor_proto.string_val[0].decode() for e in acc.Tensors("events/rollback/text_summary")]
    assert len(texts) == 2 and all("rolled back to step 0" in t for t in texts)


def test_off_writes_no_event_files(tmp_path):
    run = origan.train(origan.load_config("ring8", overrides=[*TINY, "train.tensorboard=off"]), out=tmp_path / "r")
    assert not (run.path / FOLDER).exists()


def _without_tensorboard(args, cwd):
    """The CLI in a fresh interpreter where ``torch.utils.tensorboard`` cannot be imported (the extra missing)."""
    code = (
        "import sys; sys.modules['torch.utils.tensorboard'] = None; "
        "from origan.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_without_the_package_auto_skips_and_on_is_refused_before_writing(tmp_path):
    args = ["train", "--preset", "ring8", *set_args([*TINY_TOY, "train.steps=10"]), "--quiet"]
    done = _without_tensorboard([*args, "--out", "auto"], tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "auto" / "checkpoints" / "last.json").is_file() and not (tmp_path / "auto" / FOLDER).exists()
    refused = _without_tensorboard([*args, "--set", "train.tensorboard=on", "--out", "on"], tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        "origan: error: train.tensorboard=on: the tensorboard package is not installed "
        "(pip install 'origan[tensorboard]')"
    )
    assert not (tmp_path / "on").exists()
