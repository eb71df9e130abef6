"""The `>>>` examples in every module's docstrings run and print what they say.

The modules are found by walking the package, so a new module's examples are run without anyone listing it.
"""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import numpy as np
import pytest

import minikeras
from minikeras import backend

MODULES = sorted(m.name for m in pkgutil.walk_packages(minikeras.__path__, "minikeras."))


def _examples(module) -> list:
    return doctest.DocTestFinder(exclude_empty=True).find(module, module.__name__)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    backend.clear_session()
    backend.set_random_seed(0)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name, globs={"np": np, **vars(module)}):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_the_public_api_has_examples():
    assert {"minikeras.layers.recurrent", "minikeras.models", "minikeras.engine.training"} <= set(MODULES)
    count = sum(len(t.examples) for n in MODULES for t in _examples(importlib.import_module(n)))
    assert count >= 200, count
