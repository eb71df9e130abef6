"""Helpers the tests import: where the committed real-Keras fixtures live and how to read them.

Kept out of `conftest.py` so that a test imports them by name (`from helpers import keras_case`) instead of
reaching into pytest's plugin module; `conftest.py` holds only pytest fixtures.
"""
from __future__ import annotations

import json
import pathlib

import numpy as np

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def keras_case(era: int, name: str) -> pathlib.Path:
    """Folder of one real-Keras fixture case (`tests/fixtures/keras{era}/{name}`); fails loudly if missing."""
    path = FIXTURES / f"keras{era}" / name
    if not path.is_dir():
        raise FileNotFoundError(f"missing real-Keras fixture {path}; regenerate with "
                                "tests/fixtures/make_keras_fixtures.py (see tests/fixtures/README.md)")
    return path


def load_io(case: pathlib.Path) -> dict:
    """The arrays of a case's `io.npz` (inputs, real Keras's outputs, ...) as a plain dict."""
    with np.load(case / "io.npz") as data:
        return {k: data[k] for k in data.files}


def load_json(path: pathlib.Path):
    return json.loads(pathlib.Path(path).read_text())
