"""Freed memory kept for reuse: glibc's `malloc` set, once, to the thresholds it would reach on its own.

A train step of an LSTM allocates several arrays of a few MB (the gates of every timestep, their derivatives, the
gradients) and frees them all at the end of the step. glibc's `malloc` serves blocks above its mmap threshold
(128 KB at start) with fresh pages from the operating system, and gives the top of its heap back once more than its
trim threshold is free there. It raises both thresholds by itself as large blocks are freed, up to 32 MB and 64 MB,
but a step that frees more than the current trim threshold at once still hands the memory back, and the next step
pays for it again: every new page is a fault and a page of zeros written by the kernel. Measured on a 2-core x86-64
machine with `python -m minikeras.bench --env-ab MINIKERAS_TUNE_MALLOC=0` (new processes alternating with and
without this setting): the train step of the sentiment workload 30.7 ms against 35.8 ms, of Keras 2's two-LSTM
example 11.8 ms against 13.6 ms.

So importing minikeras sets those two thresholds to glibc's own ceilings (`mallopt`), once: blocks below 32 MB are
reused from the heap, and up to 64 MB of free heap is kept before any is returned. What it costs: a process that
frees a large amount of memory keeps up to 64 MB more of it resident than it otherwise might. It is skipped where
the C library is not glibc, where the user set `MALLOC_MMAP_THRESHOLD_` or `MALLOC_TRIM_THRESHOLD_` (their values
stand), and when the environment variable `MINIKERAS_TUNE_MALLOC` is `0`.
"""
from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["tune_malloc", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: glibc's ceiling for its dynamic mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Twice that: the trim threshold glibc sets along with it.
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, from glibc's malloc.h
_M_MMAP_THRESHOLD = -3

#: Whether `tune_malloc` changed the thresholds in this process.
tuned = False


def tune_malloc() -> bool:
    """Set glibc's mmap and trim thresholds to `MMAP_THRESHOLD` and `TRIM_THRESHOLD` (see the module docstring).
    Returns whether it did; called once when minikeras is imported."""
    global tuned
    if tuned:
        return True
    if os.environ.get("MINIKERAS_TUNE_MALLOC", "1") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # NOTE: the trim threshold first: setting either one turns off glibc's own adjustment of both
    tuned = bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)) and bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    return tuned
