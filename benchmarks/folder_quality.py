"""How well ``dcgan-folder`` learns a user's folder of 64x64 colour photos: build the colour-digit folder
(``colour_digits.py``: MNIST 5k digits in random colours over patches of scikit-learn's sample photographs, one
sub-folder per class), train the preset on it with the classes kept (``data.folder_labels = true``), evaluate
with ``origan eval``'s default metrics on the folder's held-out split, and print one table.

    python benchmarks/folder_quality.py                       # 1 seed, runs in bench-runs/folder-quality
    python benchmarks/folder_quality.py --seeds 3 --set train.steps=2000

It is the same as, per seed:

    python benchmarks/colour_digits.py FOLDER
    origan train --preset dcgan-folder --set data.path=FOLDER --set data.folder_labels=true --out RUN
    origan eval RUN

The samples are measured in the features of a small CNN trained on the folder's own training split (the
domain classifier of a labelled image set, ``origan.metrics.classifier``); its test accuracy is printed with
the table. Columns as in ``mnist_quality.py`` (Parzen in pixels, precision / recall / density / coverage and the
Fréchet distance in the classifier's features beside the held-out split's own distance, classes seen,
memorisation, training time). A finished run in ``--out`` is read, not trained again.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from colour_digits import build
from mnist_quality import COLUMNS, measure, print_table, run_tag

import origan

PRESET = "dcgan-folder"
FOLDER_COLUMNS = tuple(c for c in COLUMNS if c[1] not in ("tstr", "trtr", "label_accuracy"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1, help="seeds 0 .. N-1 (default 1)")
    parser.add_argument("--out", type=Path, default=Path("bench-runs/folder-quality"), help="folder and runs go here")
    parser.add_argument("--images", type=int, default=5000, help="how many of the 5,000 digits the folder holds")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a config override for every run"
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be a positive number")
    if not 30 <= args.images <= 5000:
        parser.error("--images must be between 30 (three per class) and 5000")
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out: {args.out} is a file; expected a folder for the images and the runs")
    images = args.out / "colour-digits"
    sets = (f"data.path={images}", "data.folder_labels=true", *args.set)
    try:
        origan.load_config(PRESET, overrides=[f"seed={args.seeds - 1}", *sets])
    except origan.UserError as e:
        raise SystemExit(f"folder_quality.py: error: {e}") from None
    if not images.exists():
        build(images, n=args.images)
    tag = run_tag(args.set)
    rows: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        rows.append(measure(PRESET, seed, args.out, sets, tag=tag))
        print(f"{PRESET} seed {seed}: " + ", ".join(f"{k} {v:.4g}" for k, v in rows[-1].items() if v is not None))
    print_table({PRESET: rows}, args.set, FOLDER_COLUMNS)
    record = json.loads((args.out / f"{PRESET}{tag}-seed0" / "eval.json").read_text())
    print(f"folder classifier: test accuracy {record['classifier']['test_accuracy']:.4f}")


if __name__ == "__main__":
    main()
