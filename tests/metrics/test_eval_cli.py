"""End to end: `origan eval` on tiny trained runs (a toy mixture and 8x8 digits), and its input errors."""

import json

import pytest

import origan
from origan.cli import main


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    cfg = origan.load_config(
        "ring8",
        overrides=[
            "train.steps=150",
            "train.sample_every=0",
            "train.checkpoint_every=0",
            "data.n_train=3000",
            "data.n_val=1000",
            "data.n_test=1000",
        ],
    )
    return origan.train(cfg, out=tmp_path_factory.mktemp("runs") / "ring8").path


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    cfg = origan.load_config("digits", overrides=["train.steps=60", "train.sample_every=0", "train.checkpoint_every=0"])
    return origan.train(cfg, out=tmp_path_factory.mktemp("runs") / "digits").path


def test_eval_on_a_toy_run_writes_eval_json_and_history(toy_run, capsys):
    assert main(["eval", str(toy_run), "--n-samples", "2000", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    record = json.loads((toy_run / "eval.json").read_text())
    assert set(record["metrics"]) == {"parzen", "prdc", "frechet", "modes", "novelty"}
    assert record["n_samples"] == 2000 and record["seed"] == 3 and record["step"] == 150
    modes = record["metrics"]["modes"]
    assert modes["modes_total"] == 8 and 0 <= modes["modes_captured"] <= 8 and modes["draws"] == 5
    parzen = record["metrics"]["parzen"]
    assert parzen["model"]["n_samples"] == 2000 and parzen["model"]["n_test"] == 1000
    # the training set scores far above 150 steps of G: the baselines are there to be compared with
    assert parzen["baseline_train_set"]["log_likelihood"] > parzen["model"]["log_likelihood"]
    assert "modes captured (of 8" in out and "log-likelihood, samples of G" in out and "eval.json" in out
    # a second evaluation, same seed: same numbers; the history keeps both
    assert main(["eval", str(toy_run), "--n-samples", "2000", "--seed", "3", "--metrics", "prdc,modes"]) == 0
    history = [json.loads(line) for line in (toy_run / "eval-history.jsonl").read_text().splitlines()]
    assert len(history) == 2 and set(history[1]["metrics"]) == {"prdc", "modes"}
    assert history[1]["metrics"]["prdc"] == record["metrics"]["prdc"]
    assert history[1]["metrics"]["modes"]["modes_captured"] == modes["modes_captured"]


def test_eval_on_a_digits_run_uses_the_domain_classifier(digits_run, capsys):
    assert main(["eval", str(digits_run), "--n-samples", "600"]) == 0
    out = capsys.readouterr().out
    record = json.loads((digits_run / "eval.json").read_text())
    assert set(record["metrics"]) == {"parzen", "prdc", "frechet", "classes", "novelty"}
    assert record["classifier"]["test_accuracy"] > 0.9
    classes = record["metrics"]["classes"]
    assert len(classes["histogram"]) == 10 and abs(sum(classes["histogram"]) - 1) < 1e-5
    assert record["metrics"]["frechet"]["features"] == "digits classifier"
    assert record["metrics"]["parzen"]["sigma_grid"][0] == pytest.approx(0.1)  # the paper's grid for images
    assert (digits_run / "plots" / "nearest-neighbours.png").exists()
    assert "not comparable with published FIDs" in out and "class histogram" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--metrics", "nope"], "unknown metric 'nope'"),
        (["--metrics", "classes"], "does not apply to vector data"),
        (["--n-samples", "1"], "--n-samples"),
        (["--inception-weights", "weights.pt"], "needs image data"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(toy_run, capsys, args, message):
    assert main(["eval", str(toy_run), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_inception_weights_must_be_local_safetensors(digits_run, tmp_path, capsys):
    weights = tmp_path / "inception.pt"
    weights.write_bytes(b"not even a pickle")
    assert main(["eval", str(digits_run), "--inception-weights", str(weights)]) == 2
    assert "expected a .safetensors file" in capsys.readouterr().err


def test_missing_run_is_exit_2(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nowhere")]) == 2
    assert "no such run directory" in capsys.readouterr().err


def test_help_has_an_example_and_lists_the_metrics(capsys):
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    out = capsys.readouterr().out
    assert "example:\n  origan eval" in out
    for name in ("parzen", "prdc", "frechet", "classes", "modes", "novelty", "inception_fid"):
        assert name in out


def test_eval_on_a_table_run_runs_the_fidelity_report_as_one_metric(tmp_path, capsys):
    cfg = origan.load_config("wine", overrides=["train.steps=20", "train.sample_every=0", "train.checkpoint_every=0"])
    path = origan.train(cfg, out=tmp_path / "wine").path
    assert main(["eval", str(path), "--n-samples", "300", "--metrics", "table_fidelity,prdc"]) == 0
    record = json.loads((path / "eval.json").read_text())
    fidelity = record["metrics"]["table_fidelity"]
    assert set(fidelity) == {"marginals", "correlation", "real_holdout", "utility", "memorisation"}
    assert 0 <= fidelity["marginals"]["ks_mean"] <= 1
    capsys.readouterr()
    assert main(["eval", str(path), "--metrics", "table_marginals"]) == 2
    assert "part of table_fidelity" in capsys.readouterr().err
