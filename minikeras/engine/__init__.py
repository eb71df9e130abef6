"""Keras 2's `keras.engine`: the Layer base class and the Model training API."""

_EXPORTS = {"Layer": "base_layer", "InputSpec": "base_layer", "Input": "input_layer", "InputLayer": "input_layer",
            "Model": "training"}


def __getattr__(name):
    # Keras 2's `keras.engine` exported these (`from keras.engine import Layer, InputSpec` in custom layers);
    # looked up on first use because the submodules import this package.
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"minikeras.engine.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
