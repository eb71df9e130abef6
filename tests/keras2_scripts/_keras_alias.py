"""Runs a Keras 2 example script on minikeras with the script's text unchanged.

Each script in this folder starts with `import _keras_alias`. It makes `import keras` and
`from keras.x.y import z` resolve to `minikeras`, `minikeras.x.y`, so the rest of the script is Keras's own
text. `quick(full, small)` is the one hook the scripts use to shrink their sizes: it returns `small` when the
environment variable `KERAS2_SCRIPTS_QUICK` is set (the test suite sets it), else Keras's value.

The scripts plot with matplotlib at the end (`lstm_stateful.py`); when matplotlib is not installed, a
`matplotlib.pyplot` stand-in that accepts and ignores the plotting calls is put in its place, since plotting
is not what these scripts test.
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


def quick(full, small):
    """Keras's value `full`, or `small` when the scripts run in quick mode (KERAS2_SCRIPTS_QUICK set)."""
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
