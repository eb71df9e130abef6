"""Global numeric settings, name counters and the random source (Keras 2's `keras.backend`).

This module imports nothing from minikeras, so every other module may import it.
"""
from __future__ import annotations

import collections
import random as _py_random
from typing import Optional

import numpy as np

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_UID_COUNTS: "collections.defaultdict[str, int]" = collections.defaultdict(int)
_RNG = np.random.default_rng()


def floatx() -> str:
    """Return the default float type as a string, `'float32'` unless changed.

    >>> floatx()
    'float32'
    """
    return _FLOATX


def set_floatx(value: str) -> None:
    """Set the default float type: `'float16'`, `'float32'` or `'float64'`."""
    global _FLOATX
    accepted = {"float16", "float32", "float64"}
    if value not in accepted:
        raise ValueError(f"Unknown `floatx` value, expected one of {sorted(accepted)}. Received: value={value!r}")
    _FLOATX = str(value)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (`1e-7`, as Keras)."""
    return _EPSILON


def set_epsilon(value: float) -> None:
    """Set the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format() -> str:
    """Return `'channels_last'` (the only layout minikeras implements)."""
    return _IMAGE_DATA_FORMAT


def get_uid(prefix: str = "") -> int:
    """Return a per-prefix counter: 1 for the first call, 2 for the second (Keras 2's `backend.get_uid`)."""
    _UID_COUNTS[prefix] += 1
    return _UID_COUNTS[prefix]


def reset_uids() -> None:
    """Reset the layer-name counters."""
    _UID_COUNTS.clear()


def clear_session() -> None:
    """Reset the layer-name counters, as Keras's `clear_session()` does for names."""
    reset_uids()


def rng() -> np.random.Generator:
    """The numpy Generator every random draw in minikeras uses (initializers, dropout, shuffling)."""
    return _RNG


def set_random_seed(seed: Optional[int]) -> None:
    """Seed minikeras's generator, numpy's legacy global generator and Python's `random`."""
    global _RNG
    if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0):
        raise ValueError(f"Expected `seed` to be a non-negative integer or None. Received: seed={seed!r}")
    _RNG = np.random.default_rng(seed)
    if seed is not None:
        np.random.seed(int(seed) % (2**32))
        _py_random.seed(int(seed))


def cast_to_floatx(x) -> np.ndarray:
    """Cast a numpy array or scalar to the default float type."""
    return np.asarray(x, dtype=_FLOATX)
