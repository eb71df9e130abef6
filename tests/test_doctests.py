"""The `>>>` examples in the public API's docstrings run and print what they say."""
from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest

from minikeras import backend

PUBLIC_MODULES = [
    "minikeras.backend", "minikeras.autograd.tensor", "minikeras.autograd.gradcheck", "minikeras.activations",
    "minikeras.initializers", "minikeras.regularizers", "minikeras.constraints", "minikeras.losses",
    "minikeras.metrics", "minikeras.optimizers", "minikeras.engine.base_layer", "minikeras.engine.input_layer",
    "minikeras.layers.core", "minikeras.layers.embeddings", "minikeras.layers.recurrent",
    "minikeras.layers.wrappers", "minikeras.layers.merge", "minikeras.engine.functional",
    "minikeras.engine.keras_tensor", "minikeras.models", "minikeras.inspect", "minikeras.preprocessing.text",
    "minikeras.preprocessing.sequence", "minikeras.utils.np_utils", "minikeras.saving.convert",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    backend.set_random_seed(0)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    tests = finder.find(module, name, globs={"np": np, **vars(module)})
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_the_public_api_has_examples():
    finder = doctest.DocTestFinder(exclude_empty=True)
    count = sum(len(t.examples) for n in PUBLIC_MODULES for t in finder.find(importlib.import_module(n)))
    assert count >= 50, count
