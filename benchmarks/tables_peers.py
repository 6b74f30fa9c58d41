"""origan's TableGAN against the synthesisers a CTGAN/SDV user reaches for (CTGAN, SDV's GaussianCopula), scored
the way those users score them, on three small real tables.

    python benchmarks/tables_peers.py                                   # every table and synthesiser, seeds 0 1 2
    python benchmarks/tables_peers.py --synthesisers ctgan gaussian_copula --threads 2 --json peers.json
    python benchmarks/tables_peers.py --synthesisers origan --tables wine --seeds 0 --origan-set train.steps=20

Needs the peers extra (``pip install 'origan[peers]'``: ctgan, sdv, statsmodels, sdmetrics, scikit-learn, pandas);
the packages a run does not use need not be there (``--synthesisers origan --tables wine`` needs neither ctgan,
sdv nor statsmodels).

Tables (pandas DataFrames, the target a column like any other):

- ``wine``: scikit-learn's wine, 178 rows, 13 measurements and ``cultivar`` (an integer class 0-2);
- ``breast-cancer``: scikit-learn's breast cancer, 569 rows, 30 measurements and ``diagnosis`` (the text
  "malignant" or "benign");
- ``fair``: statsmodels' bundled ``fair`` table (Fair 1978, the Redbook survey of 6,366 married women; installed
  with statsmodels, no download at run time), the larger mixed-type table. Why this one: scikit-learn's larger
  tables and SDV's and CTGAN's demo tables (adult and others) download at run time; of the tables statsmodels
  ships, ``fair`` is the one of a few thousand rows with a natural classification target (``randhie`` has
  20,190 rows and none, ``anes96`` 944 rows), and statsmodels is a light, common install. It has nominal codes
  (``occupation``, ``occupation_husb``: 6 levels each), ratings (``rate_marriage`` 1-5, ``religious`` 1-4), all
  four discrete here, numbers on a coarse grid (``age``, ``yrs_married``, ``children``, ``educ``) and many exact
  duplicate rows (18 %: a fresh row can equal a training row). The target is that of statsmodels' own
  discrete-choice example: ``affair``, "yes" when ``affairs`` > 0; ``affairs`` itself is dropped, since it
  decides the target (a classifier would learn ``affairs`` > 0 and nothing else). Real train-on-real accuracy is
  ~0.72 against 0.68 for the majority class: a hard target, so TSTR differences there are small.

Protocol, per table and seed: an 80/20 split stratified on the target (``train_test_split``, that seed); each
synthesiser sees only the train part, with the table's discrete columns named (the target among them), and
samples as many rows as the train part has. Columns, mean ± standard deviation over seeds:

- ``quality``: SDMetrics' ``QualityReport`` overall score (mean of Column Shapes and Column Pair Trends, 1 =
  identical) of the synthetic rows against the train part, the discrete columns ``categorical`` and the others
  ``numerical`` (origan's ``origan.metrics.sdmetrics.quality_report``);
- ``tstr_rf``, ``tstr_lr``: accuracy on the real test part of a random forest (scikit-learn's defaults, seeded)
  and of a logistic regression (standardised features, ``max_iter`` 10,000) trained on the synthetic rows;
  discrete features one-hot. A synthetic target holding one class only gives that class's share;
- ``closeness``: the share of synthetic rows nearer to their nearest training row than the median real test row
  is to its own (ties with the median count half). Distances are Euclidean over every column, numbers
  standardised with the train part's mean and std, discrete columns one-hot with the train part's levels;
  distances are rounded to 1e-6 so exact copies are 0. Fresh data scores 0.5 and copies of training rows 1.0
  (on a table with exact duplicates, fresh data can also land at distance 0: see the reference row);
- ``dcr_ratio``: the median distance of the synthetic rows to their nearest training row over that of the real
  test rows (copies: 0, fresh data: about 1, samples off the data: above 1);
- ``fit_s``, ``sample_s``: wall seconds of fitting and of sampling.

After the synthesisers, each table has a reference row, ``real data``: ``quality`` of the real test part against
the train part (what fresh real rows score; the test part is a quarter of the train part's size, which
lowers it a little), ``tstr_*`` of the classifiers trained on the real train part (train on real, test on real),
``closeness`` of the real test rows themselves (0.5 by construction, unless ties at the median, as on ``fair``,
move it: then it is the value fresh data gets) and ``dcr_ratio`` 1.

Synthesisers: ``origan`` is ``origan.TableGAN`` with the ``csv`` preset (``--origan-preset``, ``--origan-set``);
``ctgan`` is ``ctgan.CTGAN`` at its defaults (300 epochs: ``--ctgan-epochs``); ``gaussian_copula`` is SDV's
``GaussianCopulaSynthesizer`` at its defaults, its metadata detected from the frame then each column's sdtype set
to the table's (``categorical`` for the discrete columns, ``numerical`` for the others). ``--threads`` sets torch's
threads for origan (``train.threads``) and CTGAN. A synthesiser that fails on a run is reported (traceback on
stderr, ``failed`` in the table) and the benchmark goes on.

Printed: one line per run, then a markdown table, the CPU, the versions of the packages; ``--json`` writes every
per-seed number (after every run, so an interrupted benchmark keeps what it measured). ``--first-seed-only
ctgan:fair`` runs a slow pair with the first seed only (the table's ``seeds`` column says how many ran).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import platform
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

PROG = "tables_peers.py"
INSTALL = "pip install 'origan[peers]'"
TABLES = ("wine", "breast-cancer", "fair")
SYNTHESISERS = ("origan", "ctgan", "gaussian_copula")
REAL = "real data"
MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's random_state
PACKAGES = ("origan", "torch", "ctgan", "sdv", "sdmetrics", "statsmodels", "scikit-learn", "pandas", "numpy")
# what each synthesiser or table imports: (module, package to name), checked before any work
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "base": (("pandas", "pandas"), ("sklearn", "scikit-learn"), ("sdmetrics.reports", "sdmetrics")),
    "origan": (),
    "ctgan": (("ctgan", "ctgan"),),
    "gaussian_copula": (("sdv.single_table", "sdv"), ("sdv.metadata", "sdv")),
    "wine": (),
    "breast-cancer": (),
    "fair": (("statsmodels.datasets", "statsmodels"),),
}


def fail(message: str) -> NoReturn:
    """A one-line error on stderr and exit status 2 (argparse's, for every bad option)."""
    print(f"{PROG}: error: {message}", file=sys.stderr)
    raise SystemExit(2)


# ---------------------------------------------------------------------------------------------------------
# Tables


@dataclass
class Table:
    name: str
    frame: Any  # pandas DataFrame
    target: str
    discrete: list[str]  # the target among them


def load_table(name: str) -> Table:
    import pandas as pd

    if name == "wine":
        from sklearn.datasets import load_wine

        df = load_wine(as_frame=True).frame.rename(columns={"target": "cultivar"})
        df["cultivar"] = df["cultivar"].astype("int64")
        return Table(name, df, "cultivar", ["cultivar"])
    if name == "breast-cancer":
        from sklearn.datasets import load_breast_cancer

        bunch = load_breast_cancer(as_frame=True)
        df = bunch.frame.drop(columns="target")
        df["diagnosis"] = pd.Series(bunch.target_names[bunch.target.to_numpy()], index=df.index, dtype=object)
        return Table(name, df, "diagnosis", ["diagnosis"])
    if name == "fair":
        from statsmodels.datasets import fair

        df = fair.load_pandas().data
        df["affair"] = np.where(df["affairs"] > 0, "yes", "no").astype(object)
        df = df.drop(columns="affairs")
        codes = ["rate_marriage", "religious", "occupation", "occupation_husb"]
        df = df.astype(dict.fromkeys(codes, "int64"))
        return Table(name, df, "affair", [*codes, "affair"])
    raise ValueError(name)


# ---------------------------------------------------------------------------------------------------------
# Synthesisers: each ``fit_*`` trains on the train frame and returns a function of n that samples n rows.
# Change an adapter here when a library's API changes; nothing else calls the libraries.

Sampler = Callable[[int], Any]


@dataclass
class Settings:
    threads: int = 1
    origan_preset: str = "csv"
    origan_overrides: dict[str, Any] = field(default_factory=dict)
    origan_validation: float | None = None
    ctgan_epochs: int = 300


def origan_overrides(settings: Settings) -> dict[str, Any]:
    """The config overrides of an origan fit: ``--origan-set`` and, unless it names them, the threads."""
    return {"train.threads": settings.threads, **settings.origan_overrides}


def fit_origan(train_df: Any, discrete_columns: list[str], seed: int, settings: Settings) -> Sampler:
    """origan's TableGAN on ``train_df``, trained in memory (nothing is written)."""
    import origan

    model = origan.TableGAN(preset=settings.origan_preset, seed=seed, overrides=origan_overrides(settings))
    model.fit(train_df, discrete_columns=discrete_columns, validation=settings.origan_validation)
    return lambda n: model.sample(n, seed=seed)


def fit_ctgan(train_df: Any, discrete_columns: list[str], seed: int, settings: Settings) -> Sampler:
    """CTGAN at its defaults (but ``--ctgan-epochs``), its numpy and torch random states seeded."""
    import torch
    from ctgan import CTGAN

    np.random.seed(seed)
    torch.manual_seed(seed)
    model = CTGAN(epochs=settings.ctgan_epochs)
    model.set_random_state(seed)  # fit and sample draw from these states
    model.fit(train_df, discrete_columns=list(discrete_columns))
    return model.sample  # n rows


def fit_gaussian_copula(train_df: Any, discrete_columns: list[str], seed: int, settings: Settings) -> Sampler:
    """SDV's GaussianCopulaSynthesizer at its defaults; metadata detected, then the columns' sdtypes set."""
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    np.random.seed(seed)
    warnings.filterwarnings("ignore", message=".*saving the metadata")  # SDV's advice to save it as JSON
    metadata = Metadata.detect_from_dataframes({"table": train_df}, infer_keys=None)  # SDV 2.x: one table
    if metadata.tables["table"].primary_key is not None:  # a column of unique values is taken for a key
        metadata.remove_primary_key(table_name="table")
    for column in train_df.columns:
        sdtype = "categorical" if column in discrete_columns else "numerical"
        if metadata.tables["table"].columns[column].get("sdtype") != sdtype:
            metadata.update_column(column, table_name="table", sdtype=sdtype)
    model = GaussianCopulaSynthesizer(metadata)
    model.fit({"table": train_df})  # SDV 2.x: tables by name in and out
    model._set_random_state(seed)  # else SDV samples from a fixed seed whatever the run's
    return lambda n: model.sample(num_rows=n)["table"]


FITS: dict[str, Callable[..., Sampler]] = {
    "origan": fit_origan,
    "ctgan": fit_ctgan,
    "gaussian_copula": fit_gaussian_copula,
}


# ---------------------------------------------------------------------------------------------------------
# Scores


def as_train_types(synthetic: Any, train: Any) -> Any:
    """``synthetic`` with ``train``'s columns in order and, where the values allow, its dtypes."""
    synthetic = synthetic[list(train.columns)].reset_index(drop=True)
    for column, dtype in train.dtypes.items():
        if synthetic[column].dtype != dtype:
            with contextlib.suppress(TypeError, ValueError):
                synthetic[column] = synthetic[column].astype(dtype)
    return synthetic


def quality(reference: Any, other: Any, table: Table) -> float:
    from origan.metrics.sdmetrics import quality_report

    kinds = {c: {"sdtype": "categorical" if c in table.discrete else "numerical"} for c in reference.columns}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(quality_report(reference, other, {"columns": kinds})["score"])


def features(frames: list[Any], table: Table) -> list[np.ndarray]:
    """The feature matrices of ``frames`` (target dropped): discrete columns one-hot over the levels of all."""
    import pandas as pd

    parts = [f.drop(columns=table.target) for f in frames]
    discrete = [c for c in table.discrete if c != table.target]
    joined = pd.concat(parts, keys=range(len(parts)))
    joined[discrete] = joined[discrete].astype(str)
    encoded = pd.get_dummies(joined, columns=discrete, dtype=float).astype(float)
    return [encoded.xs(i).to_numpy() for i in range(len(parts))]


def accuracies(train: Any, test: Any, table: Table, seed: int) -> dict[str, float]:
    """Accuracy on ``test`` of a random forest and a logistic regression trained on ``train``."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x_train, x_test = features([train, test], table)
    y_train, y_test = train[table.target].astype(str).to_numpy(), test[table.target].astype(str).to_numpy()
    if len(set(y_train)) < 2:  # one class only: every prediction is that class
        share = float(np.mean(y_test == y_train[0]))
        return {"rf": share, "lr": share}
    models = {
        "rf": RandomForestClassifier(random_state=seed, n_jobs=1),
        "lr": make_pipeline(StandardScaler(), LogisticRegression(max_iter=10_000)),
    }
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, model in models.items():
            out[name] = float(model.fit(x_train, y_train).score(x_test, y_test))
    return out


def distance_space(train: Any, table: Table) -> Callable[[Any], np.ndarray]:
    """A function mapping a frame to the distance space: numbers standardised with ``train``'s mean and std,
    discrete columns one-hot over ``train``'s levels (an unseen level: all zeros)."""
    numeric = [c for c in train.columns if c not in table.discrete]
    mean = train[numeric].astype(float).mean().to_numpy()
    std = train[numeric].astype(float).std().to_numpy()
    std = np.where(std > 0, std, 1.0)
    levels = {c: np.array(sorted(train[c].astype(str).unique())) for c in table.discrete}

    def encode(frame: Any) -> np.ndarray:
        blocks = [(frame[numeric].astype(float).to_numpy() - mean) / std]
        for c, lv in levels.items():
            blocks.append((frame[c].astype(str).to_numpy()[:, None] == lv[None, :]).astype(float))
        return np.concatenate(blocks, axis=1)

    return encode


def nearest_distances(train: Any, others: list[Any], table: Table) -> list[np.ndarray]:
    """Each row's Euclidean distance to its nearest row of ``train``, rounded to 1e-6 (copies: 0)."""
    from sklearn.neighbors import NearestNeighbors

    encode = distance_space(train, table)
    nn = NearestNeighbors(n_neighbors=1).fit(encode(train))
    return [np.round(nn.kneighbors(encode(o))[0][:, 0], 6) for o in others]


def closeness(d: np.ndarray, d_test: np.ndarray) -> dict[str, float | None]:
    """The share of distances ``d`` below the median of ``d_test`` (ties count half), and the ratio of medians."""
    m = float(np.median(d_test))
    share = float(np.mean(d < m) + 0.5 * np.mean(d == m))
    return {"closeness": share, "dcr_ratio": float(np.median(d)) / m if m > 0 else None}


# ---------------------------------------------------------------------------------------------------------
# The runs


def split(table: Table, seed: int) -> tuple[Any, Any]:
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(
        table.frame, test_size=0.2, stratify=table.frame[table.target], random_state=seed, shuffle=True
    )
    return train.reset_index(drop=True), test.reset_index(drop=True)


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def reference(table: Table, seed: int, train: Any, test: Any) -> dict[str, Any]:
    """The ``real data`` row: real test against train, classifiers trained on the real train part."""
    acc = accuracies(train, test, table, seed)
    (d_test,) = nearest_distances(train, [test], table)
    return {
        "quality": quality(train, test, table),
        "tstr_rf": acc["rf"],
        "tstr_lr": acc["lr"],
        **closeness(d_test, d_test),
        "fit_s": None,
        "sample_s": None,
    }


def run_one(name: str, table: Table, seed: int, train: Any, test: Any, settings: Settings) -> dict[str, Any]:
    """Fit ``name`` on ``train``, sample ``len(train)`` rows, score them."""
    with torch_threads(settings.threads):
        t0 = time.perf_counter()
        sample = FITS[name](train, list(table.discrete), seed, settings)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        synthetic = sample(len(train))
        sample_s = time.perf_counter() - t0
    if len(synthetic) != len(train):
        raise RuntimeError(f"{name} sampled {len(synthetic)} rows, not {len(train)}")
    synthetic = as_train_types(synthetic, train)
    acc = accuracies(synthetic, test, table, seed)
    d_syn, d_test = nearest_distances(train, [synthetic, test], table)
    return {
        "quality": quality(train, synthetic, table),
        "tstr_rf": acc["rf"],
        "tstr_lr": acc["lr"],
        **closeness(d_syn, d_test),
        "fit_s": fit_s,
        "sample_s": sample_s,
    }


COLUMNS = (  # (key, digits)
    ("quality", 3),
    ("tstr_rf", 3),
    ("tstr_lr", 3),
    ("closeness", 3),
    ("dcr_ratio", 2),
    ("fit_s", 1),
    ("sample_s", 2),
)


def mean_std(values: list[Any], digits: int) -> str:
    v = [x for x in values if isinstance(x, (int, float)) and math.isfinite(x)]
    if not v:
        return "–"
    mean = sum(v) / len(v)
    if len(v) == 1:
        return f"{mean:.{digits}f}"
    std = math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1))
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def markdown(records: list[dict[str, Any]], tables: list[str], synthesisers: list[str]) -> str:
    lines = [
        "| table | synthesiser | seeds | " + " | ".join(k for k, _ in COLUMNS) + " |",
        "| --- | --- | ---: |" + " ---: |" * len(COLUMNS),
    ]
    for t in tables:
        for s in [*synthesisers, REAL]:
            rows = [r for r in records if r["table"] == t and r["synthesiser"] == s]
            if not rows:
                continue
            ok = [r for r in rows if "error" not in r]
            failed = len(rows) - len(ok)
            cells = [mean_std([r.get(k) for r in ok], d) for k, d in COLUMNS]
            seeds = f"{len(ok)}" + (f" ({failed} failed)" if failed else "")
            lines.append(f"| {t} | {s} | {seeds} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            out[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


def cpu_line() -> str:
    try:
        from origan.training import speed
    except ImportError:
        return platform.processor() or platform.machine()
    describe = getattr(speed, "cpu_description", None)
    return describe() if describe else platform.processor() or platform.machine()


# ---------------------------------------------------------------------------------------------------------
# Options, all checked before any work


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, no usage block
        fail(message)


def _integer(least: int, most: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not least <= value <= most:
            raise ValueError(text)
        return value

    parse.__name__ = what  # argparse names the type in its error: "invalid seed value: '-1'"
    return parse


def _share(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise ValueError(text)
    return value


_share.__name__ = "share (a number in (0, 1))"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = Parser(prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES), metavar="TABLE",
                   help=f"tables to run, of {', '.join(TABLES)} (default: all)")  # fmt: skip
    p.add_argument("--synthesisers", nargs="+", choices=SYNTHESISERS, default=list(SYNTHESISERS), metavar="NAME",
                   help=f"synthesisers to run, of {', '.join(SYNTHESISERS)} (default: all)")  # fmt: skip
    p.add_argument("--seeds", nargs="+", type=_integer(0, MAX_SEED, "seed"), default=[0, 1, 2], metavar="SEED",
                   help="seeds of the splits and the synthesisers (default: 0 1 2)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, metavar="OUT.json", help="write every per-seed number here")
    p.add_argument("--threads", type=_integer(1, 1024, "thread count"), default=1, metavar="N",
                   help="torch threads for origan and CTGAN (default 1)")  # fmt: skip
    p.add_argument("--origan-preset", default="csv", metavar="PRESET", help="TableGAN's preset (default csv)")
    p.add_argument("--origan-set", action="append", default=[], metavar="KEY=VALUE",
                   help="a config override of origan's TableGAN, e.g. train.steps=1000 (repeatable)")  # fmt: skip
    p.add_argument("--origan-validation", type=_share, default=None, metavar="SHARE",
                   help="hold this share of the train part out for TableGAN's selection (default none)")  # fmt: skip
    p.add_argument("--ctgan-epochs", type=_integer(1, 100_000, "epoch count"), default=300, metavar="EPOCHS",
                   help="CTGAN's epochs (default 300, its default)")  # fmt: skip
    p.add_argument("--first-seed-only", nargs="+", default=[], metavar="NAME:TABLE",
                   help="synthesiser NAME on TABLE runs the first seed only (a slow pair: ctgan:fair)")  # fmt: skip
    args = p.parse_args(argv)
    pairs = []
    for pair in args.first_seed_only:
        name, _, table = pair.partition(":")
        if name not in SYNTHESISERS or table not in TABLES:
            fail(
                f"argument --first-seed-only: {pair!r}: expected NAME:TABLE with NAME of {', '.join(SYNTHESISERS)} "
                f"and TABLE of {', '.join(TABLES)}"
            )
        pairs.append((name, table))
    args.first_seed_only = set(pairs)
    for option in ("tables", "synthesisers", "seeds"):
        values = getattr(args, option)
        twice = next((v for i, v in enumerate(values) if v in values[:i]), None)
        if twice is not None:
            fail(f"argument --{option}: {twice} named twice")
    return args


def check(args: argparse.Namespace) -> Settings:
    """Every option and every package the run needs, before any work; the settings of the run."""
    if args.json is not None:
        if args.json.is_dir():
            fail(f"argument --json: {args.json} is a folder; expected a file name")
        if not args.json.parent.is_dir():
            fail(f"argument --json: the folder {args.json.parent} does not exist")
    import origan
    from origan.config import parse_set

    settings = Settings(
        threads=args.threads,
        origan_preset=args.origan_preset,
        origan_validation=args.origan_validation,
        ctgan_epochs=args.ctgan_epochs,
    )
    try:
        settings.origan_overrides = dict(parse_set(s) for s in args.origan_set)
        with tempfile.TemporaryDirectory() as tmp:  # the constructor checks the whole config
            origan.TableGAN(
                preset=settings.origan_preset,
                seed=max(args.seeds),
                overrides=origan_overrides(settings),
                out=Path(tmp) / "run",
            )
    except origan.UserError as e:
        fail(f"--origan-preset/--origan-set: {e}".replace("\n", " "))
    needs = [("", "base")] + [("synthesisers", n) for n in args.synthesisers] + [("tables", n) for n in args.tables]
    for option, need in needs:  # the peers imported here, and only when named
        for module, package in NEEDS[need]:
            try:
                importlib.import_module(module)
            except ImportError:
                who = "the benchmark" if need == "base" else f"{need} (--{option})"
                fail(f"{who} needs the package {package} ({INSTALL})")
    return settings


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = check(args)
    started = time.time()
    load0 = os.getloadavg()
    meta: dict[str, Any] = {
        "argv": sys.argv[1:] if argv is None else argv,
        "tables": args.tables,
        "synthesisers": args.synthesisers,
        "seeds": args.seeds,
        "threads": args.threads,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "origan_preset": settings.origan_preset,
        "origan_validation": settings.origan_validation,
        "origan_overrides": settings.origan_overrides,
        "ctgan_epochs": settings.ctgan_epochs,
        "first_seed_only": sorted(f"{a}:{b}" for a, b in args.first_seed_only),
        "cpu": cpu_line(),
        "versions": versions(),
        "load_average_start": list(load0),
    }
    records: list[dict[str, Any]] = []

    def save() -> None:
        if args.json is not None:
            text = json.dumps({"meta": meta, "records": records}, indent=1, allow_nan=False)
            tmp = args.json.with_name(args.json.name + ".tmp")
            tmp.write_text(text + "\n", encoding="utf-8")
            tmp.replace(args.json)

    print(f"CPU: {meta['cpu']}; {args.threads} torch thread(s), OMP_NUM_THREADS={meta['omp_num_threads']}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in load0)}", flush=True)
    for name in args.tables:
        table = load_table(name)
        for seed in args.seeds:
            train, test = split(table, seed)
            base = {"table": name, "seed": seed, "n_train": len(train), "n_test": len(test)}
            ref = {**base, "synthesiser": REAL, **reference(table, seed, train, test)}
            for synth in args.synthesisers:
                if (synth, name) in args.first_seed_only and seed != args.seeds[0]:
                    continue
                record = {**base, "synthesiser": synth}
                try:
                    record.update(run_one(synth, table, seed, train, test, settings))
                except Exception as e:  # reported, and the benchmark goes on
                    traceback.print_exc()
                    record["error"] = f"{type(e).__name__}: {e}".splitlines()[0][:300]
                record["trtr_rf"], record["trtr_lr"] = ref["tstr_rf"], ref["tstr_lr"]
                records.append(record)
                shown = record.get("error") or ", ".join(
                    f"{k} {record[k]:.4g}" for k, _ in COLUMNS if isinstance(record.get(k), float)
                )
                print(f"{name} seed {seed} {synth}: {shown}", flush=True)
                save()
            records.append(ref)
            shown = ", ".join(f"{k} {ref[k]:.4g}" for k, _ in COLUMNS if isinstance(ref.get(k), float))
            print(f"{name} seed {seed} {REAL}: {shown}", flush=True)
            save()
    meta["load_average_end"] = list(os.getloadavg())
    meta["seconds"] = time.time() - started
    save()
    print()
    print(markdown(records, args.tables, args.synthesisers))
    print(f"\nmean ± std over seeds {' '.join(map(str, args.seeds))}; {REAL}: test part vs train, classifiers trained")
    print("on the real train part (train on real, test on real)")
    print(f"CPU: {meta['cpu']}; {args.threads} torch thread(s), OMP_NUM_THREADS={meta['omp_num_threads']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    if settings.origan_preset != "csv" or settings.origan_overrides or settings.origan_validation:
        print(
            f"origan: preset {settings.origan_preset}, overrides {settings.origan_overrides}, "
            f"validation {settings.origan_validation}"
        )
    if "ctgan" in args.synthesisers:
        print(f"ctgan: {settings.ctgan_epochs} epochs")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in meta['load_average_end'])}; {meta['seconds']:.0f} s")
    if args.json is not None:
        print(f"per-seed numbers: {args.json}")


if __name__ == "__main__":
    main()
