"""Shared pytest fixtures: the committed real-Keras fixture folder, float64 scopes and seeded generators.

Helper functions the tests import live in `helpers.py`, not here.
"""
from __future__ import annotations

import pathlib

import numpy as np
import pytest

from minikeras import backend

from helpers import FIXTURES


@pytest.fixture
def fixtures_dir() -> pathlib.Path:
    return FIXTURES


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def float64():
    """Run a test with floatx float64 (gradient checks of layers)."""
    prev = backend.floatx()
    backend.set_floatx("float64")
    try:
        yield
    finally:
        backend.set_floatx(prev)


@pytest.fixture(autouse=True)
def _fresh_names():
    """Each test starts with fresh layer-name counters and a seeded generator, as a new Keras session would."""
    backend.clear_session()
    backend.set_random_seed(0)
    yield
