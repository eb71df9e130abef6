"""Lets the Keras 2-style scripts in this folder run on minikeras as written.

The scripts are minikeras's own code written against Keras 2's API (each exercises the same API as one of Keras
2's examples). Each starts with `import _keras_alias`, which makes `import keras` and `from keras.x.y import z`
resolve to `minikeras`, `minikeras.x.y`, so the rest of the script is plain Keras 2 code. `quick(full, small)` is
the one hook the scripts use to shrink their sizes: it returns `small` when the environment variable
`KERAS2_SCRIPTS_QUICK` is set (the test suite sets it), else `full`. When `KERAS2_SCRIPTS_SEED` is set (the test
suite sets it too), numpy's global generator is seeded with it before the script runs, the way Keras 2 scripts
wrote `np.random.seed(1337)` at their top: minikeras draws from that generator, so every weight, dropout mask and
shuffle, and so the printed losses, are the same run after run (unseeded, a few short runs of these small models
go the wrong way: two epochs of `lstm_text_generation` ended with a higher loss in 4 of 16 runs).

`lstm_stateful.py` plots with matplotlib at the end; when matplotlib is not installed, a `matplotlib.pyplot`
stand-in that accepts and ignores the plotting calls is put in its place, since plotting is not what these
scripts test.
"""
import importlib
import importlib.abc
import importlib.util
import os
import sys
import types

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

QUICK = bool(os.environ.get("KERAS2_SCRIPTS_QUICK"))
if os.environ.get("KERAS2_SCRIPTS_SEED"):
    import numpy as np

    np.random.seed(int(os.environ["KERAS2_SCRIPTS_SEED"]))


def quick(full, small):
    """The full-size value `full`, or `small` when the scripts run in quick mode (KERAS2_SCRIPTS_QUICK set)."""
    return small if QUICK else full


class _KerasAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`keras` and `keras.<sub>` are the same module objects as `minikeras` and `minikeras.<sub>`."""

    _specs = {}

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "keras" or fullname.startswith("keras."):
            if importlib.util.find_spec("mini" + fullname) is None:
                return None  # Keras's own ImportError follows, naming the `keras.` module.
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module("mini" + spec.name)
        self._specs[module.__name__] = (module.__spec__, getattr(module, "__loader__", None),
                                        getattr(module, "__package__", None))
        return module

    def exec_module(self, module):
        # Already executed as minikeras.<sub>; the import machinery stamped the `keras.` spec on it: put back
        # minikeras's own, so the module stays exactly what `import minikeras...` gives.
        module.__spec__, module.__loader__, module.__package__ = self._specs.pop(module.__name__)


sys.meta_path.insert(0, _KerasAlias())

try:
    import matplotlib  # noqa: F401
except ImportError:
    _plt = types.ModuleType("matplotlib.pyplot")
    _plt.__getattr__ = lambda name: (lambda *args, **kwargs: None)
    _mpl = types.ModuleType("matplotlib")
    _mpl.pyplot = _plt
    sys.modules["matplotlib"] = _mpl
    sys.modules["matplotlib.pyplot"] = _plt
