"""File helpers every writer shares: atomic replacement with fsync of the file and its folder."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import RunDirError

__all__ = ["check_writable", "fsync_dir", "open_atomic", "write_atomic"]


def check_writable(path: Path, what: str, folder: bool = False, parents: bool = True) -> None:
    """Refuse, before any work, a place a command is going to write ``what`` to (a RunDirError naming it): a
    folder or a device where a file goes, a file where a folder goes (``folder``), or a parent that is missing,
    a file, or not writable. A folder that does not exist yet is fine when its nearest existing parent is a
    writable folder (it is made with its parents), unless ``parents`` is False: then its parent must exist."""
    path = Path(path)
    try:
        if path.is_symlink() or path.exists():
            if folder and not path.is_dir():
                raise RunDirError(f"{path}: exists and is not a folder; expected a folder for {what}")
            if not folder and not path.is_file():
                kind = "a folder" if path.is_dir() else "not a regular file"
                raise RunDirError(f"{path}: {kind}; expected a file for {what} (or nothing there)")
            target = path if folder else path.parent
        else:
            target = path.parent
            while not target.exists() and target != target.parent:  # the nearest existing folder
                if (not folder or not parents) and target == path.parent:
                    raise RunDirError(f"{path}: the folder {target} does not exist; expected a place for {what}")
                target = target.parent
            if not target.is_dir():
                raise RunDirError(f"{path}: {target} is not a folder; expected a place for {what}")
        if not os.access(target, os.W_OK | os.X_OK):
            raise RunDirError(f"{path}: {target} is not writable; expected a place for {what}")
    except (OSError, ValueError) as e:  # a name too long, a NUL byte, a loop of links
        raise RunDirError(
            f"{path}: cannot be written ({getattr(e, 'strerror', None) or e}); expected a place for {what}"
        ) from None


def fsync_dir(path: Path) -> None:
    """fsync a folder so that a rename inside it survives a crash (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def open_atomic(path: Path) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error (written to a temporary name
    beside it, fsynced, renamed, folder fsynced); on an error the temporary file is removed and ``path`` is
    untouched. For files written piece by piece."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one, never half."""
    with open_atomic(path) as f:
        f.write(data)
