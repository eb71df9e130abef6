"""Shared pytest fixtures: the committed real-Keras fixture folders, float64 scopes and seeded generators."""
from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from minikeras import backend

FIXTURES = pathlib.Path(__file__).parent / "fixtures"


def keras_case(era: int, name: str) -> pathlib.Path:
    """Folder of one real-Keras fixture case (`tests/fixtures/keras{era}/{name}`); fails loudly if missing."""
    path = FIXTURES / f"keras{era}" / name
    if not path.is_dir():
        raise FileNotFoundError(f"missing real-Keras fixture {path}; regenerate with "
                                "tests/fixtures/make_keras_fixtures.py (see tests/fixtures/README.md)")
    return path


def load_io(case: pathlib.Path) -> dict:
    with np.load(case / "io.npz") as data:
        return {k: data[k] for k in data.files}


def load_json(path: pathlib.Path):
    return json.loads(pathlib.Path(path).read_text())


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
