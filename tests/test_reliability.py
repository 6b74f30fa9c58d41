"""Never lose a run: kill and resume, torn checkpoints, signals, the divergence guard, full disks."""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
import torch

import origan
from helpers import TINY_TOY, metric_rows, weights
from origan.errors import CheckpointError

TINY = TINY_TOY


def _same_weights(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def _launch(args, cwd):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "origan", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigkill_at_random_moments_then_resume_is_bit_identical(tmp_path):
    sets = [
        "train.steps=120",
        "train.log_every=1",
        "train.checkpoint_every=7",
        "train.sample_every=0",
        "train.threads=1",
        "generator.hidden=[256,256]",
        "discriminator.hidden=[256,256]",
        "train.batch_size=256",
        "data.n_train=2048",
        "train.keep_checkpoints=2",
        "discriminator.dropout_hidden=0.2",
    ]
    cli_sets = [a for s in sets for a in ("--set", s)]
    ref = tmp_path / "ref"
    assert (
        subprocess.run(
            [sys.executable, "-m", "origan", "train", "--preset", "ring8", *cli_sets, "--out", str(ref), "--quiet"],
            capture_output=True,
            timeout=600,
        ).returncode
        == 0
    )
    run = tmp_path / "killed"
    rng = random.Random(1234)
    kills, finished, launches = 0, False, 0
    while not finished:
        launches += 1
        assert launches < 40, "too many launches"
        has_ckpt = (run / "checkpoints").exists() and any((run / "checkpoints").glob("step-*.json"))
        args = (
            ["train", "--resume", str(run), "--quiet"]
            if has_ckpt
            else ["train", "--preset", "ring8", *cli_sets, "--out", str(run), "--quiet", "--overwrite"]
        )
        proc = _launch(args, tmp_path)
        if kills >= 10:
            _, err = proc.communicate(timeout=600)
            assert proc.returncode == 0, err
            finished = True
            continue
        metrics = run / "metrics.jsonl"
        start = metrics.stat().st_mtime_ns if metrics.exists() else 0
        deadline = time.time() + 120
        while proc.poll() is None and time.time() < deadline:  # wait until this process is training
            if metrics.exists() and metrics.stat().st_mtime_ns != start:
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
        else:
            finished = proc.returncode == 0
    assert kills >= 10
    assert metric_rows(run) == metric_rows(ref)
    _same_weights(weights(run), weights(ref))
    ref_bytes = (ref / "checkpoints" / "last.safetensors").read_bytes()
    assert (run / "checkpoints" / "last.safetensors").read_bytes() == ref_bytes


def test_torn_newest_checkpoint_falls_back_to_the_previous_one(tmp_path, caplog):
    cfg = origan.load_config("ring8", overrides=[*TINY, "train.steps=30", "train.checkpoint_every=10"])
    origan.train(cfg, out=tmp_path / "full")
    origan.train(cfg.replace(**{"train.steps": 20}), out=tmp_path / "part")
    ck = tmp_path / "part" / "checkpoints"
    # A kill in the middle of writing step 20: its tensor file half written, `last` swapped but not its manifest.
    blob = (ck / "step-000000020.safetensors").read_bytes()
    (ck / "step-000000020.safetensors").unlink()
    (ck / "step-000000020.safetensors").write_bytes(blob[: len(blob) // 2])
    (ck / "last.safetensors").unlink()
    (ck / "last.safetensors").write_bytes(blob[: len(blob) // 3])
    (ck / ".step-000000030.safetensors.tmp-99").write_bytes(b"partial")
    assert origan.run.inspect_run(tmp_path / "part")["healthy"] is False
    with caplog.at_level("WARNING"):
        origan.resume(tmp_path / "part", overrides={"train.steps": 30})
    assert "falling back to step-000000010.json" in caplog.text
    assert metric_rows(tmp_path / "part") == metric_rows(tmp_path / "full")
    _same_weights(weights(tmp_path / "part"), weights(tmp_path / "full"))
    assert origan.run.inspect_run(tmp_path / "part")["healthy"] is True


def test_missing_manifest_means_torn_and_no_intact_checkpoint_is_a_clear_error(tmp_path):
    cfg = origan.load_config("ring8", overrides=[*TINY, "train.steps=10", "train.checkpoint_every=0"])
    origan.train(cfg, out=tmp_path / "r")
    for p in (tmp_path / "r" / "checkpoints").glob("*.json"):
        p.unlink()
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        origan.resume(tmp_path / "r")


def test_full_disk_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    import errno

    import origan.io.checkpoint as ckpt

    cfg = origan.load_config("ring8", overrides=[*TINY, "train.steps=30", "train.checkpoint_every=10"])
    real = ckpt.write_atomic
    calls = {"n": 0}

    def full_disk(path, data):
        calls["n"] += 1
        if "step-000000020" in str(path):
            tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
            tmp.write_bytes(data[: len(data) // 2])  # the disk fills up half way through
            tmp.unlink()
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path, data)

    monkeypatch.setattr(ckpt, "write_atomic", full_disk)
    with pytest.raises(CheckpointError, match="No space left on device.*previous checkpoint is intact"):
        origan.train(cfg, out=tmp_path / "r")
    monkeypatch.setattr(ckpt, "write_atomic", real)
    good = origan.load_run(tmp_path / "r")
    assert good.step == 10
    origan.resume(tmp_path / "r")
    assert origan.load_run(tmp_path / "r").step == 30


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_saves_a_checkpoint_and_exits_with_the_resume_line(tmp_path, sig, code):
    run = tmp_path / "r"
    proc = _launch(
        [
            "train",
            "--preset",
            "ring8",
            "--set",
            "train.steps=1000000",
            "--set",
            "train.log_every=1",
            "--set",
            "train.sample_every=0",
            "--set",
            "train.checkpoint_every=0",
            "--out",
            str(run),
            "--quiet",
        ],
        tmp_path,
    )
    deadline = time.time() + 120
    while not (run / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    lines = [x for x in err.strip().splitlines() if x]
    assert lines[-1].startswith("origan: interrupted at step") and f"origan train --resume {run}" in lines[-1]
    assert "Traceback" not in err
    step = origan.load_run(run).step
    assert step > 0 and origan.run.inspect_run(run)["healthy"]
    # The interrupted run resumes to the same state as an uninterrupted one of the same length.
    origan.resume(run, overrides={"train.steps": step + 7})
    ref = origan.train(
        origan.load_config(
            "ring8",
            overrides=[
                f"train.steps={step + 7}",
                "train.log_every=1",
                "train.sample_every=0",
                "train.checkpoint_every=0",
            ],
        ),
        out=tmp_path / "ref",
    )
    assert metric_rows(run) == metric_rows(ref.path)
    _same_weights(weights(run), weights(ref.path))


GUARD_RUN = [*TINY, "train.steps=30", "train.checkpoint_every=10", "optim_d.lr_decay=1.0", "optim_g.lr_decay=1.0"]


def _poison_g_step(monkeypatch, call, where="loss"):
    """G's objective poisoned at its ``call``-th call: a NaN loss, or (``where="gradient"``) a finite loss whose
    every gradient is NaN."""
    import origan.gan as gan_mod

    real = gan_mod.GAN.g_objective
    count = {"n": 0}

    def poisoned(self, z, y=None):
        count["n"] += 1
        out = real(self, z, y)
        if count["n"] == call:
            if where == "loss":
                out.loss = out.loss * float("nan")
            else:
                out.loss.register_hook(lambda g: g * float("nan"))
        return out

    monkeypatch.setattr(gan_mod.GAN, "g_objective", poisoned)


def test_divergence_guard_rolls_back_once_and_recovers(tmp_path, monkeypatch):
    _poison_g_step(monkeypatch, 17)  # one NaN, in step 17
    run = origan.train(origan.load_config("ring8", overrides=GUARD_RUN), out=tmp_path / "r")
    rows = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    events = [r for r in rows if r.get("event") == "rollback"]
    assert len(events) == 1
    assert events[0]["step"] == 17 and events[0]["to_step"] == 10 and events[0]["lr_scale"] == 0.5
    assert run.step == 30
    assert all(torch.isfinite(p).all() for p in run.gan.parameters())
    assert rows[-1]["lr_d"] == pytest.approx(0.5e-3)


def test_a_nan_gradient_behind_a_finite_loss_rolls_back_to_the_same_state(tmp_path, monkeypatch):
    """The guard reads the losses, not every gradient: a NaN gradient whose loss is finite reaches the weights,
    the next step's losses turn NaN, and the run rolls back to the same last good state as when the loss
    itself is NaN: the same weights at the end, bit for bit; only the rollback's row names the next step."""
    cfg = origan.load_config("ring8", overrides=GUARD_RUN)
    events = {}
    for where in ("loss", "gradient"):
        _poison_g_step(monkeypatch, 17, where)
        run = origan.train(cfg, out=tmp_path / where)
        events[where] = [r for r in run.metrics() if r.get("event") == "rollback"]
    assert [(e["step"], e["to_step"], e["lr_scale"]) for e in events["loss"]] == [(17, 10, 0.5)]
    assert [(e["step"], e["to_step"], e["lr_scale"]) for e in events["gradient"]] == [(18, 10, 0.5)]
    assert "NaN/Inf in the D loss" in events["gradient"][0]["reason"]  # G's NaN weights reach D's next step
    _same_weights(weights(tmp_path / "loss"), weights(tmp_path / "gradient"))


@pytest.mark.parametrize("every", ["sample_every", "checkpoint_every"])
def test_nan_weights_are_never_kept_in_a_sample_figure_or_a_checkpoint(tmp_path, monkeypatch, every):
    """Weights made NaN by an update are checked before a sample figure or a checkpoint of their step, even one
    between log rows: the run rolls back instead of keeping them."""
    import origan.training.trainer as trainer_mod

    cfg = origan.load_config(
        "ring8",
        overrides=[*TINY, "train.steps=12", "train.log_every=100", "train.checkpoint_every=0", f"train.{every}=6"],
    )
    real = trainer_mod.Trainer.iteration
    calls = {"n": 0}

    def iteration(self):
        real(self)
        calls["n"] += 1
        if calls["n"] == 6:  # the update of step 6 left a NaN weight, whatever the loss said
            with torch.no_grad():
                next(self.state.gan.G.parameters()).view(-1)[0] = float("nan")

    monkeypatch.setattr(trainer_mod.Trainer, "iteration", iteration)
    run = origan.train(cfg, out=tmp_path / "r")
    events = [r for r in run.metrics() if r.get("event") == "rollback"]
    assert [(e["step"], e["to_step"], e["reason"]) for e in events] == [
        (7, 0, "NaN/Inf in the weights")
    ]  # (as at log rows)
    assert run.step == 12 and all(torch.isfinite(p).all() for p in run.gan.parameters())
    kept = sorted((tmp_path / "r" / "checkpoints").glob("step-*.json"))
    assert kept  # every checkpoint holds finite weights (step 6's was written after the rollback, on the retry)
    for manifest in kept:
        assert all(torch.isfinite(p).all() for p in origan.load_run(manifest).gan.parameters()), manifest.name


def test_divergence_guard_gives_up_after_max_rollbacks(tmp_path, capsys):
    from origan.cli import main

    code = main(
        [
            "train",
            "--preset",
            "ring8",
            "--set",
            "train.steps=200",
            "--set",
            "loss.generator=ml",
            "--set",
            "optim_g.name=sgd",
            "--set",
            "optim_g.lr=1e6",
            "--set",
            "generator.hidden=[16]",
            "--set",
            "discriminator.hidden=[16]",
            "--set",
            "optim_g.momentum=0.0",
            "--set",
            "optim_g.momentum_final=0.0",
            "--set",
            "optim_g.lr_decay=1.0",
            "--set",
            "train.guard_max_rollbacks=2",
            "--set",
            "train.guard_lr_factor=0.9",
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip().splitlines()[-1].startswith("origan: training diverged") and "after 2 rollbacks" in err
    rows = [json.loads(x) for x in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    assert sum(r.get("event") == "rollback" for r in rows) == 2


def test_a_run_killed_in_its_first_second_resumes_from_step_0(tmp_path):
    """SIGKILL in the first second (before anything, or before the first checkpoint); the run still completes."""
    sets = [
        "train.steps=200",
        "train.log_every=5",
        "train.checkpoint_every=0",
        "train.sample_every=0",
        "train.threads=1",
        "generator.hidden=[16]",
        "discriminator.hidden=[16]",
        "data.n_train=512",
        "train.batch_size=32",
    ]
    fresh = ["train", "--preset", "ring8", *[a for s in sets for a in ("--set", s)], "--quiet"]
    ref = origan.train(origan.load_config("ring8", overrides=sets), out=tmp_path / "ref")
    run = tmp_path / "killed"
    for delay in (0.1, 0.5, 0.9):  # seconds after the launch: python has not even imported torch
        proc = _launch([*fresh, "--out", str(run)], tmp_path)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert not (run / "config.json").exists() or not any((run / "checkpoints").glob("*.json"))
    # Killed as soon as its config is written: a run directory with no checkpoint.
    proc = _launch(
        [*fresh, "--out", str(run)]
        if not (run / "config.json").exists()
        else ["train", "--resume", str(run), "--quiet"],
        tmp_path,
    )
    deadline = time.time() + 300
    while not (run / "config.json").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (run / "config.json").exists() and not any((run / "checkpoints").glob("*.json"))
    report = origan.run.inspect_run(run)
    assert report["status"] == "no checkpoint yet" and not report["healthy"] and report["problems"] == []
    same = subprocess.run(
        [sys.executable, "-m", "origan", *fresh, "--out", str(run)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert same.returncode == 2 and "pass --resume" in same.stderr
    r = subprocess.run(
        [sys.executable, "-m", "origan", "train", "--resume", str(run), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "no checkpoint yet: starting from step 0" in r.stderr
    assert metric_rows(run) == metric_rows(ref.path)
    _same_weights(weights(run), weights(ref.path))


def test_a_failed_resume_changes_nothing(tmp_path):
    cfg = origan.load_config("ring8", overrides=[*TINY, "train.steps=10", "train.checkpoint_every=0"])
    origan.train(cfg, out=tmp_path / "r")
    for p in (tmp_path / "r" / "checkpoints").glob("*.json"):
        p.unlink()
    before = {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()}
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        origan.resume(tmp_path / "r", overrides={"train.steps": 50})
    assert {p: p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file()} == before


def test_resume_budget_overrides_follow_the_fresh_config_rule(tmp_path):
    """Setting train.epochs on a step budget clears the steps, exactly as in a fresh config."""
    cfg = origan.load_config("ring8", overrides=[*TINY, "train.steps=10", "train.checkpoint_every=0"])
    origan.train(cfg, out=tmp_path / "r")
    run = origan.resume(tmp_path / "r", overrides={"train.epochs": 2})  # 512 examples / 32 = 16 steps per epoch
    assert (run.config.train.steps, run.config.train.epochs) == (0, 2)
    assert run.step == 32
    stored = json.loads((tmp_path / "r" / "config.json").read_text())["train"]
    assert (stored["steps"], stored["epochs"]) == (0, 2)
    fresh = origan.load_config(
        "ring8", overrides=[*TINY, "train.steps=10", "train.checkpoint_every=0", "train.epochs=2"]
    )
    assert run.config == fresh


def test_overwrite_never_deletes_a_folder_that_is_not_an_origan_run(tmp_path):
    from origan.cli import main

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text('{"name": "my web app", "port": 8080}')
    (mine / "data.csv").write_text("a,b\n1,2\n")
    before = {p: p.read_bytes() for p in mine.rglob("*")}
    assert (
        main(["train", "--preset", "ring8", "--set", "train.steps=2", "--out", str(mine), "--overwrite", "--quiet"])
        == 2
    )
    assert {p: p.read_bytes() for p in mine.rglob("*")} == before
    # A run origan wrote is replaced, whether its config or only its marker says so.
    cfg = origan.load_config("ring8", overrides=[*TINY, "train.steps=2"])
    origan.train(cfg, out=tmp_path / "r")
    (tmp_path / "r" / "config.json").write_text("{torn")
    origan.train(cfg, out=tmp_path / "r", overwrite=True)
    assert origan.load_run(tmp_path / "r").step == 2


def test_a_kill_during_the_first_checkpoint_write_resumes_from_step_0(tmp_path):
    cfg = origan.load_config("ring8", overrides=[*TINY, "train.steps=10", "train.checkpoint_every=0"])
    ref = origan.train(cfg, out=tmp_path / "ref")
    origan.train(cfg, out=tmp_path / "r")
    ck = tmp_path / "r" / "checkpoints"
    blob = (ck / "step-000000010.safetensors").read_bytes()
    for p in ck.iterdir():
        p.unlink()
    (ck / "step-000000010.safetensors").write_bytes(blob)  # renamed into place; its manifest never written
    (ck / ".step-000000010.json.tmp-99").write_bytes(b'{"format"')
    report = origan.run.inspect_run(tmp_path / "r")
    assert report["status"] == "no checkpoint yet" and report["problems"] == []
    with pytest.raises(CheckpointError, match="no checkpoint yet"):
        origan.load_run(tmp_path / "r")
    assert origan.resume(tmp_path / "r").step == 10
    assert metric_rows(tmp_path / "r") == metric_rows(ref.path)
    _same_weights(weights(tmp_path / "r"), weights(ref.path))
