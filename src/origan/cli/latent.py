"""The latent-space commands of the CLI: ``origan interpolate`` (Figure 3) and ``origan encode`` (Section 7.2)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import UserError
from ._common import command, number

__all__ = ["add_encode", "add_interpolate", "cmd_encode", "cmd_interpolate"]


def cmd_interpolate(args: argparse.Namespace) -> int:
    from ..latent.walks import (
        FORMS,
        check_interpolation_output,
        check_walk_options,
        output_file,
        walk_grid,
        write_interpolation,
    )
    from ..run import load_run

    check_walk_options(args.rows, args.steps, args.seed, args.method)  # before anything is loaded
    out = output_file(args.out, "--out", FORMS)
    run = load_run(args.run)
    kind, shape = run.data_info.kind, tuple(run.data_info.shape)
    rows, cols = walk_grid(
        run.gan, run.data_info, args.rows, args.steps, args.seed, args.method, args.across_classes,
        prior_name=run.config.noise.prior,
    )  # fmt: skip
    check_interpolation_output(out, kind, shape, rows, cols)  # before anything is computed
    walk = run.interpolate(args.rows, args.steps, args.seed, args.method, args.across_classes)
    target = None
    if kind == "vector" and out.suffix.lower() != ".npy":
        from ..data import build_dataset

        target = build_dataset(run.config.data).target
    out = write_interpolation(walk, out, kind, target)
    what = "classes" if walk.method == "classes" else f"{walk.method} steps"
    print(f"wrote {rows} rows x {cols} {what} to {out}")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np

    from ..io.files import open_atomic
    from ..latent.encoder import (
        check_encoder,
        check_encoder_destination,
        check_fit,
        check_fit_options,
        encode,
        fit_encoder,
        input_path,
        load_encoder,
        read_inputs,
        save_encoder,
    )
    from ..latent.walks import output_file
    from ..run import load_run

    if not args.train and args.inp is None:
        raise UserError("encode: give --train (fit the encoder) and/or --in FILE_OR_FOLDER --out z.npy")
    if (args.inp is None) != (args.out is None):
        raise UserError("encode: --in and --out go together (--in FILE_OR_FOLDER --out z.npy)")
    # every check before anything heavy is loaded, trained or written
    check_fit_options(args.steps, args.refine_real, args.batch_size, args.lr, args.seed)
    out = None if args.out is None else output_file(args.out, "--out", (".npy",), "the codes")
    inp = None if args.inp is None else input_path(args.inp, "--in")
    run = load_run(args.run)
    if args.train:
        if run.path is None:
            raise UserError(f"{args.run}: encode --train needs a run directory (the encoder is stored in it)")
        check_fit(run, args.steps, args.refine_real, args.batch_size, args.lr, args.seed)
        check_encoder_destination(run.path)
    E = None if args.train or inp is None else load_encoder(run)  # a missing or stale one: before reading --in
    x = None if inp is None else read_inputs(inp, run.data_info.shape, run.data_info.kind)
    if args.train:
        E, history = fit_encoder(run, args.steps, args.refine_real, args.batch_size, args.lr, args.seed)
        options = {"steps": args.steps, "refine_real": args.refine_real, "batch_size": args.batch_size,
                   "lr": args.lr, "seed": args.seed}  # fmt: skip
        check = check_encoder(run, E, seed=args.seed)
        path = save_encoder(run, E, history, options, check)
        print(f"encoder fitted ({E.spec.arch}, {args.steps} steps on (z, G(z)), {args.refine_real} on real data); "
              f"wrote {path}")  # fmt: skip
        print(f"on {check['n']:.0f} fresh draws: mean ||E(G(z)) - z||^2 {check['z_sq_error']:.4g} "
              f"(guessing 0: {check['z_sq_norm']:.4g}); mean ||G(E(G(z))) - G(z)|| {check['x_l2']:.4g} "
              f"(an independent sample: {check['x_l2_independent']:.4g})")  # fmt: skip
    if x is not None and out is not None and E is not None:
        z = encode(E, x)
        try:
            with open_atomic(out) as f:
                np.save(f, z.numpy(), allow_pickle=False)
        except OSError as e:
            raise UserError(f"{out}: cannot write the codes ({e.strerror or e}); nothing was written") from None
        print(f"wrote {len(z)} codes of dimension {z.shape[1]} to {out}")
    return 0


def add_interpolate(sub: Any) -> None:
    """Add ``interpolate``."""
    from ..latent.walks import METHODS

    p = command(
        sub,
        "interpolate",
        "latent walks: G between pairs of noise vectors (the paper's Figure 3)",
        "origan interpolate runs/mnist --rows 8 --steps 10 --out walk.png",
        "Draw ROWS pairs (z0, z1) from p_z and write G at STEPS points of the path between each pair; the\n"
        "first and last columns are exactly G(z0) and G(z1). The output path chooses the form: .png (an image\n"
        "grid, one walk per row; for 2-D points the paths over the target density), .gif (one frame per\n"
        "step) or .npy ((rows, steps, *shape)). --method slerp needs Gaussian noise (noise.prior=normal).",
    )
    p.add_argument("run", metavar="RUN_OR_CHECKPOINT", help="a run directory or a checkpoint .json/.safetensors")
    p.add_argument("--out", required=True, help="output path: .png, .gif or .npy")
    number(p, "--rows", bound="rows", default=8, help="walks (pairs of noise vectors)")
    number(p, "--steps", bound="walk_steps", default=10, help="points per walk, the two ends included (at least 2)")
    number(p, "--seed", bound="seed", default=0, help="seed of the endpoint draw")
    p.add_argument("--method", choices=METHODS, default="linear", help="straight line or great circle (slerp)")
    p.add_argument(
        "--across-classes", action="store_true", help="conditional runs: one fixed z per row, one class per column"
    )
    p.set_defaults(func=cmd_interpolate)


def add_encode(sub: Any) -> None:
    """Add ``encode``."""
    p = command(
        sub,
        "encode",
        "fit or apply an inference net E: x -> z for a trained G (the paper's Section 7.2)",
        "origan encode runs/mnist --train --steps 3000\n  origan encode runs/mnist --in digits/ --out z.npy",
        "--train fits E on fresh pairs (z, G(z)) each step, minimising ||E(G(z)) - z||^2, then --refine-real\n"
        "steps on the training split minimising ||x - G(E(x))||^2 (--steps 0: those alone); G is the net samples\n"
        "come from (its moving average with train.ema). E is stored in RUN/encoder/ (safetensors\n"
        "+ JSON manifest). --in reads a .npy array, an image or a folder of images and writes E(x) to --out.\n"
        "`origan eval` then reports the reconstruction error ||x - G(E(x))|| on the test split.",
    )
    p.add_argument("run", metavar="RUN", help="a run directory")
    p.add_argument("--train", action="store_true", help="fit the encoder (replacing a stored one)")
    number(p, "--steps", bound="steps", default=3000, help="training steps on fresh pairs (z, G(z))")
    number(p, "--refine-real", bound="steps", default=0, metavar="N", help="then N steps on real training data")
    number(p, "--batch-size", bound="batch_size", default=128, help="examples per step")
    number(p, "--lr", bound="lr", default=1e-3, help="Adam's learning rate")
    number(p, "--seed", bound="seed", default=0, help="seed of E's initial weights and of every draw")
    p.add_argument("--in", dest="inp", metavar="FILE_OR_FOLDER", help="examples to encode: .npy, image or folder")
    p.add_argument("--out", metavar="Z.npy", help="where to write the codes (n, noise_dim)")
    p.set_defaults(func=cmd_encode)
