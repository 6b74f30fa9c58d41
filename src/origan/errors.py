"""The errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a config, a data file, a checkpoint or a path.

    The message is one line that names the file or field and what was expected.
    """

    exit_code = 2


class ConfigError(UserError):
    """An unknown key, a wrong type or an impossible value in a config."""


class DataError(UserError):
    """A data file or folder that cannot be read as the configured dataset."""


class CheckpointError(UserError):
    """A checkpoint that is missing, torn, edited, hostile or from another config."""


class RunDirError(UserError):
    """A run directory that exists when it should not, or is missing when it should exist."""
