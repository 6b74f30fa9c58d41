"""CIFAR-10's binary version against bytes written by hand, the authors' split and preprocessing, the paper's
CIFAR-10 nets and both presets end to end."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import origan
from cifar_files import label, pixel, write_cifar_folder
from helpers import metric_rows, set_args
from origan.cli import main
from origan.config import DiscriminatorConfig, GeneratorConfig
from origan.data import build_dataset
from origan.data.cifar import CLASSES, global_contrast_normalize, read_cifar_batch
from origan.errors import ConfigError
from origan.models import build_discriminator, build_generator
from origan.models.paper import MaxoutConvDiscriminator, PaperConvGenerator, PaperFCGenerator


def _load(path, **data):
    return build_dataset(origan.load_config(overrides={"data.name": "cifar10", "data.path": str(path), **data}).data)


def _expected_image(file, record):
    return torch.tensor(
        [[[pixel(file, record, c, r, col) for col in range(32)] for r in range(32)] for c in range(3)],
        dtype=torch.float32,
    )  # (3, 32, 32) bytes


def test_one_batch_file_reads_pixel_planes_and_labels_as_written(tmp_path):
    write_cifar_folder(tmp_path, n=3)
    images, labels = read_cifar_batch(tmp_path / "data_batch_2.bin")
    assert images.shape == (3, 3, 32, 32) and images.dtype == np.uint8
    assert labels.tolist() == [label(1, j) for j in range(3)]
    for j in range(3):
        assert torch.equal(torch.from_numpy(images[j].astype(np.float32)), _expected_image(1, j))
    assert images[0, 1, 0, 0] == pixel(1, 0, 1, 0, 0) and images[2, 2, 31, 5] == pixel(1, 2, 2, 31, 5)


def test_the_authors_split_first_four_fifths_train_last_fifth_validates_test_batch_tests(tmp_path):
    write_cifar_folder(tmp_path, n=3, n_test=2)
    data = _load(tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (12, 3, 2)
    assert data.shape == (3, 32, 32) and data.kind == "image" and data.bounded
    expected = {  # split -> (file index, record) in order: data_batch_1..4, then 5, then the test batch
        "train": [(f, j) for f in range(4) for j in range(3)],
        "val": [(4, j) for j in range(3)],
        "test": [(5, j) for j in range(2)],
    }
    for split, where in expected.items():
        x = getattr(data, split)
        for i, (f, j) in enumerate(where):
            assert torch.equal(x[i], _expected_image(f, j) / 255), (split, i)
        assert data.labels[split].tolist() == [label(f, j) for f, j in where]
    assert data.classes == CLASSES and data.info["classes"] == list(CLASSES)
    assert data.info["sizes"] == [12, 3, 2]


def test_class_names_come_from_batches_meta_and_the_unpacked_subfolder_is_found(tmp_path):
    inner = write_cifar_folder(tmp_path / "cifar-10-batches-bin")
    names = [f"class {i}" for i in range(10)]
    (inner / "batches.meta.txt").write_text("\n".join(names) + "\n\n")
    data = _load(tmp_path)  # the folder holding cifar-10-batches-bin
    assert data.classes == tuple(names)
    assert len(data.train) == 12


def test_gcn_is_pylearn2s_global_contrast_normalisation_with_scale_55(tmp_path):
    write_cifar_folder(tmp_path)
    data = _load(tmp_path, **{"data.preprocess": "gcn"})
    assert not data.bounded and data.info["preprocess"].startswith("gcn")
    raw = np.stack([_expected_image(f, j).numpy() for f in range(4) for j in range(3)]).reshape(12, -1)
    centred = raw.astype(np.float64) - raw.mean(1, keepdims=True)  # pylearn2, on the 0-255 pixels
    expected = centred / (np.sqrt((centred**2).sum(1, keepdims=True)) / 55.0)
    got = data.train.reshape(12, -1).double()
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got.mean(1), torch.zeros(12, dtype=torch.float64), rtol=0, atol=1e-5)
    torch.testing.assert_close(got.norm(dim=1), torch.full((12,), 55.0, dtype=torch.float64), rtol=1e-6, atol=0)


def test_gcn_leaves_a_constant_image_at_zero_and_works_in_chunks():
    x = torch.rand(7, 3, 4, 4, generator=torch.Generator().manual_seed(0))
    x[3] = 0.25  # constant: its divisor is 0 < min_divisor, so pylearn2 does not divide
    whole, chunked = global_contrast_normalize(x), global_contrast_normalize(x, chunk=2)
    assert torch.equal(whole, chunked) and whole.dtype == torch.float32
    assert torch.equal(whole[3], torch.zeros(3, 4, 4))
    torch.testing.assert_close(whole.flatten(1).norm(dim=1)[[0, 1, 2, 4, 5, 6]], torch.full((6,), 55.0))


def test_preprocess_is_refused_for_other_data():
    cfg = origan.load_config("digits", overrides={"data.preprocess": "gcn"})
    with pytest.raises(ConfigError, match="data.preprocess: gcn applies to data.name=cifar10 only"):
        build_dataset(cfg.data)


# ---------------------------------------------------------------------------------------------------------
# The paper's CIFAR-10 nets


def test_paper_conv_generator_reshapes_8000_to_80x10x10_and_deconvolves_to_32():
    G = PaperConvGenerator(100, (3, 32, 32), hidden=(16, 8000))
    assert G.base_shape == (80, 10, 10) and (10 - 1) * 3 + 5 == 32
    assert G(torch.randn(2, 100)).shape == (2, 3, 32, 32)
    assert G.bias.shape == (3, 32, 32)  # untied biases, the yaml's tied_b: 0
    with pytest.raises(ConfigError, match="generator.hidden"):
        PaperConvGenerator(100, (3, 32, 32), hidden=(16, 8001))


def test_deconvolution_is_the_transpose_of_the_stride_3_convolution():
    """pylearn2's Deconv is lmul_T of a 5x5 stride-3 convolution: <deconv(h), y> = <h, conv(y)>."""
    G = PaperConvGenerator(4, (3, 32, 32), hidden=(400,)).double()
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(2, 4, 10, 10, generator=gen, dtype=torch.float64)
    y = torch.randn(2, 3, 32, 32, generator=gen, dtype=torch.float64)
    lhs = (G.deconv(h) * y).sum()
    rhs = (h * F.conv2d(y, G.deconv.weight, stride=3)).sum()
    torch.testing.assert_close(lhs, rhs, rtol=1e-12, atol=1e-12)


def test_paper_fc_generator_is_relu_then_sigmoid_then_linear():
    G = PaperFCGenerator(100, (3, 32, 32), hidden=(20, 30))
    kinds = [type(m).__name__ for m in G.body]
    assert kinds == ["Linear", "ReLU", "Linear", "Sigmoid"] and G.out.out_features == 3072
    assert G.out.weight.abs().max() <= 0.5 and G.out.weight.abs().max() > 0.05  # the yaml's irange .5
    assert G.body[0].weight.abs().max() <= 0.05


def test_maxout_conv_discriminator_has_the_yamls_shapes_and_pools_like_cuda_convnet():
    D = MaxoutConvDiscriminator((3, 32, 32)).eval()
    h, sides = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0)), []
    for layer, (kernel, pad, pool, stride) in zip(
        [m for m in D.convs if type(m).__name__ == "_MaxoutConv"],
        [(8, 4, 4, 2), (8, 3, 4, 2), (5, 3, 2, 2)],
        strict=True,
    ):
        side = h.shape[-1] + 2 * pad - kernel + 1
        conv = layer.conv(h)  # (n, 2 * channels, side, side): the pieces as the leading block
        assert conv.shape[-1] == side
        pieces = conv.view(2, 2, layer.channels, side, side).amax(1)  # maxout first, then cuda-convnet's pool
        reference = F.max_pool2d(pieces, pool, stride, ceil_mode=True)
        assert reference.shape[-1] == math.ceil((side - pool) / stride) + 1
        h = layer(h)
        assert torch.equal(h, reference)
        sides += [side, h.shape[-1]]
    assert sides == [33, 16, 15, 7, 9, 5] and h.shape[1] == 192  # 192 x 5 x 5 = 4800 into maxout 500 x 5
    assert D.dense[0].linear.in_features == 4800 and D.dense[0].units == 500 and D.dense[0].pieces == 5
    assert D(torch.zeros(3, 3, 32, 32)).shape == (3,)


def test_cifar_nets_refuse_shapes_they_cannot_serve():
    with pytest.raises(ConfigError, match="generator.name: paper-conv needs square images"):
        build_generator(GeneratorConfig(name="paper-conv", hidden=(16,)), (3, 28, 28), True, 5)
    with pytest.raises(ConfigError, match="discriminator.name: maxout-conv needs square images"):
        build_discriminator(DiscriminatorConfig(name="maxout-conv"), (2,), False, 5)


# ---------------------------------------------------------------------------------------------------------
# The presets

SMALL_NETS = {
    "paper-cifar10-fc": ["generator.hidden=[16,16]", "discriminator.hidden=[8,8]"],
    "paper-cifar10-conv": ["generator.hidden=[16,400]", "discriminator.width=4", "discriminator.hidden=[8]"],
}


@pytest.mark.parametrize(
    "preset, lr, batch, g, d",
    [
        ("paper-cifar10-fc", 0.025, 100, "paper-fc", "maxout"),
        ("paper-cifar10-conv", 0.004, 128, "paper-conv", "maxout-conv"),
    ],
)
def test_dry_run_prints_the_papers_settings(preset, lr, batch, g, d, capsys):
    assert main(["train", "--preset", preset, "--dry-run"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert (cfg["data"]["name"], cfg["data"]["preprocess"]) == ("cifar10", "gcn")
    assert cfg["noise"] == {"prior": "normal", "dim": 100}
    assert (cfg["generator"]["name"], cfg["generator"]["hidden"], cfg["generator"]["output"]) == (
        g,
        [8000, 8000],
        "identity",
    )
    assert cfg["discriminator"]["name"] == d and cfg["discriminator"]["pieces"] == 5
    assert (cfg["discriminator"]["dropout_input"], cfg["discriminator"]["dropout_hidden"]) == (0.2, 0.5)
    hidden = [1600, 1600] if d == "maxout" else [500]
    assert cfg["discriminator"]["hidden"] == hidden and (d == "maxout" or cfg["discriminator"]["width"] == 32)
    for opt in ("optim_d", "optim_g"):
        o = cfg[opt]
        assert (o["name"], o["lr"], o["lr_decay"], o["lr_min"]) == ("sgd", lr, 1.000004, 1e-6)
        assert (o["momentum"], o["momentum_final"], o["momentum_start_epoch"], o["momentum_saturate_epoch"]) == (
            0.5, 0.7, 1, 250
        )  # fmt: skip
    assert (cfg["train"]["batch_size"], cfg["train"]["update"], cfg["train"]["k"]) == (batch, "simultaneous", 1)


@pytest.mark.parametrize("preset", list(SMALL_NETS))
def test_each_preset_trains_two_steps_on_a_fake_folder(preset, tmp_path):
    folder = write_cifar_folder(tmp_path / "cifar", n=3)
    out = tmp_path / "run"
    overrides = [f"data.path={folder}", "train.steps=2", "train.batch_size=4", "train.log_every=1", *SMALL_NETS[preset]]
    assert main(["train", "--preset", preset, *set_args(overrides), "--out", str(out), "--quiet"]) == 0
    rows = metric_rows(out)
    assert [r["step"] for r in rows] == [1, 2] and all(math.isfinite(r["d_loss"]) for r in rows)
    run = origan.load_run(out)
    assert run.config.data.preprocess == "gcn" and run.config.optim_g.lr in (0.025, 0.004)
    x = run.sample(8, seed=0)
    assert x.shape == (8, 3, 32, 32) and torch.isfinite(x).all()
    assert run.gan.G.output == "identity"
