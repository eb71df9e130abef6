"""Atomic file writes: write to a temporary file in the target's folder, then rename it over the target.

The temporary file is named `.<target name>.minikeras-<pid>-<random>.tmp`. A save killed midway (SIGKILL, power
loss) can leave one behind; the next save or load of the same target removes those whose writing process is gone.
The finished file gets the mode a plain `open(path, "w")` would give it (`0o666 & ~umask`), or keeps the mode of the
file it replaces.
"""
from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import threading
from typing import Any, Iterator

from minikeras.saving.errors import FileFormatError

_TEMP_TAG = "minikeras"
_UMASK_LOCK = threading.Lock()


def _temp_pattern(target: str) -> "re.Pattern[str]":
    return re.compile(rf"^\.{re.escape(os.path.basename(target))}\.{_TEMP_TAG}-(\d+)-[A-Za-z0-9_]+\.tmp$")


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or cannot tell): leave its file alone
    return True


def remove_stale_temp_files(filepath: Any) -> int:
    """Remove temporary files minikeras left beside `filepath` from saves whose process no longer exists.

    Only files of minikeras's own naming for this target are considered; a save in progress in a live process is
    never touched. Returns how many files were removed (errors, such as a read-only folder, are ignored).
    """
    target = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(target))
    pattern = _temp_pattern(target)
    removed = 0
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    for name in names:
        match = pattern.match(name)
        if match is None or _process_alive(int(match.group(1))):
            continue
        try:
            os.unlink(os.path.join(folder, name))
            removed += 1
        except OSError:
            pass
    return removed


def _new_file_mode() -> int:
    """`0o666 & ~umask`, the mode `open(path, "w")` gives a new file."""
    with _UMASK_LOCK:  # NOTE: reading the umask means setting it; the lock keeps other savers from racing
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


@contextlib.contextmanager
def atomic_write(filepath: Any) -> Iterator[str]:
    """Yield a temporary path beside `filepath`; on success it replaces `filepath` in one `os.replace`.

    A crash or an exception leaves the previous file untouched, and the temporary file is removed. The new file
    keeps the mode of the file it replaces, or gets `0o666 & ~umask` (`tempfile.mkstemp` would make it 0600).
    """
    target = os.fspath(filepath)
    folder = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(folder):
        raise FileFormatError("Cannot save: the target folder does not exist", filepath)
    remove_stale_temp_files(target)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = _new_file_mode()
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.{_TEMP_TAG}-{os.getpid()}-", suffix=".tmp",
                               dir=folder)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
