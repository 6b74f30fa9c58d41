"""The errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""

from __future__ import annotations

__all__ = ["CheckpointError", "ConfigError", "DataError", "OptionError", "RunDirError", "UserError", "one_line"]


def one_line(text: str) -> str:
    """``text`` with every character that is not printable escaped: control characters, line and paragraph
    separators, format characters (``\\n``, ``\\x1b``, ``\\u2028``, ``\\u202e``). A name read from a file, a
    folder or a checkpoint can then never split a message in two or steer the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class UserError(Exception):
    """Bad input from the user: a config, a data file, a checkpoint or a path.

    The message is one line that names the file or field and what was expected: control characters in it
    (from a file or folder name, a class name, a column) are escaped when the error is made.
    """

    exit_code = 2

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(str(message)), *args)


class ConfigError(UserError):
    """An unknown key, a wrong type or an impossible value in a config."""


class DataError(UserError):
    """A data file or folder that cannot be read as the configured dataset."""


class CheckpointError(UserError):
    """A checkpoint that is missing, torn, edited, hostile or from another config."""


class RunDirError(UserError):
    """A run directory that exists when it should not, or is missing when it should exist."""


class OptionError(UserError):
    """A command-line option or API argument outside its bounds (:data:`origan.limits.BOUNDS`), or a request
    larger than the byte budget."""
