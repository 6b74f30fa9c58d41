"""origan: the original GAN of Goodfellow et al. (2014), faithful, checked against its own theory, and useful.

The public API::

    import origan
    cfg = origan.load_config("paper-mnist", overrides=["train.steps=500"])
    run = origan.train(cfg, out="runs/mnist")
    x = run.sample(64, seed=0)                  # (64, 1, 28, 28) in [0, 1]
    run = origan.load_run("runs/mnist")
    model = origan.TableGAN().fit(df, discrete_columns=["city"])   # pandas DataFrames in and out, in memory
"""

from .config import PRESETS, Config, load_config
from .errors import CheckpointError, ConfigError, DataError, UserError
from .gan import GAN
from .run import Run, load_run, resume, train
from .tablegan import TableGAN
from .version import __version__

__all__ = [
    "GAN",
    "PRESETS",
    "CheckpointError",
    "Config",
    "ConfigError",
    "DataError",
    "Run",
    "TableGAN",
    "UserError",
    "__version__",
    "load_config",
    "load_run",
    "resume",
    "train",
]
