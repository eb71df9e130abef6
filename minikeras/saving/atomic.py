"""Atomic file writes: write to a temporary file in the target's folder, then rename it over the target."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Any, Iterator


@contextlib.contextmanager
def atomic_write(filepath: Any) -> Iterator[str]:
    """Yield a temporary path beside `filepath`; on success it replaces `filepath` in one `os.replace`.

    A crash or an exception leaves the previous file untouched, and the temporary file is removed.
    """
    target = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        from minikeras.saving.errors import FileFormatError

        raise FileFormatError("Cannot save: the target folder does not exist", filepath)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
