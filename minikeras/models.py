"""`load_model`, `model_from_json`, `clone_model`, and `Model`/`Sequential` re-exported (Keras 2's `keras.models`)."""
from __future__ import annotations

import json
from typing import Any, Dict, Optional

from minikeras.engine.functional import Functional, get_network_config, reconstruct_from_config
from minikeras.engine.input_layer import InputLayer
from minikeras.engine.keras_tensor import KerasTensor, flatten
from minikeras.engine.sequential import Sequential
from minikeras.engine.training import Model
from minikeras.layers.core import Lambda

__all__ = ["Model", "Sequential", "Functional", "load_model", "save_model", "model_from_config", "model_from_json",
           "clone_model"]


def load_model(filepath: Any, custom_objects: Optional[Dict[str, Any]] = None, compile: bool = True) -> Model:
    """Load a model saved by Keras 2, Keras 3 or minikeras (`.h5`, `.hdf5`, `.keras`). Nothing in it is executed."""
    # NOTE: minikeras.saving imports this module: a real cycle
    from minikeras import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile)


def save_model(model: Model, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
               save_format: Optional[str] = None) -> None:
    """Functional form of `model.save`."""
    model.save(filepath, overwrite=overwrite, include_optimizer=include_optimizer, save_format=save_format)


def model_from_config(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> Model:
    """Build a model from `{"class_name": "Sequential", "config": ...}` as any Keras era writes it."""
    # NOTE: minikeras.saving imports this module: a real cycle
    from minikeras.saving.serialization import model_from_file_config

    version = config.get("keras_version") if isinstance(config, dict) else None
    if version is None and isinstance(config, dict) and "module" in config:
        version = "3"  # Keras 3's 4-key top-level entry
    return model_from_file_config(config, version, custom_objects=custom_objects)


def model_from_json(json_string: str, custom_objects: Optional[Dict[str, Any]] = None) -> Model:
    """Build a model from `model.to_json()` output (or a Keras `config.json`)."""
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"Could not parse the model JSON: {e}. Received: a string of length "
                         f"{len(json_string) if isinstance(json_string, str) else '?'}") from None
    return model_from_config(config, custom_objects=custom_objects)


def _clone_layer(layer: Any) -> Any:
    """A new layer with the same configuration and fresh weights (Keras 2's default `clone_function`)."""
    if isinstance(layer, Lambda):  # code cannot go through a config: rebuild it from its attributes
        return Lambda(layer.function, output_shape=layer._output_shape, mask=layer.mask, arguments=layer.arguments,
                      name=layer.name, dtype=layer.dtype, trainable=layer.trainable)
    if isinstance(layer, (Sequential, Functional)):
        return clone_model(layer)
    return type(layer).from_config(layer.get_config())


def clone_model(model: Model, input_tensors: Any = None, clone_function: Any = None) -> Model:
    """A new model with the same layers' configurations and graph, and freshly initialised weights (Keras 2).

    Args:
        model: a `Sequential` or functional `Model`.
        input_tensors: optional `Input` tensor(s) to build the clone on (instead of new inputs).
        clone_function: `fn(layer) -> layer` used for every layer except the inputs (default: a new layer from
            `layer.get_config()`; return `layer` itself to share it).

    >>> from minikeras.layers import Dense
    >>> original = Sequential([Dense(2, input_shape=(3,))])
    >>> copy = clone_model(original)
    >>> copy.output_shape, copy.layers[0] is original.layers[0]
    ((None, 2), False)
    """
    clone_function = clone_function or _clone_layer
    if input_tensors is not None:
        tensors = flatten(input_tensors)
        for t in tensors:
            if not isinstance(t, KerasTensor) or not isinstance(getattr(t._keras_history, "layer", None), InputLayer):
                raise ValueError("`input_tensors` of `clone_model` must be tensors from `keras.Input`. Received: "
                                 f"{t!r}")
    if isinstance(model, Sequential):
        layers = [clone_function(layer) for layer in model.layers]
        if input_tensors is not None:
            if len(tensors) != 1:
                raise ValueError("To clone a `Sequential` model, we expect at most one tensor as part of "
                                 f"`input_tensors`. Received: input_tensors={input_tensors}")
            return Sequential([tensors[0]] + layers, name=model.name)
        if model._input_layer is not None:
            first = InputLayer.from_config(model._input_layer.get_config())
            return Sequential([first] + layers, name=model.name)
        clone = Sequential(layers, name=model.name)
        if model.built and model._build_input_shape is not None:
            clone.build(model._build_input_shape)
        return clone
    if not isinstance(model, Functional):
        raise ValueError("Expected `model` argument to be a functional `Model` instance, or a `Sequential` "
                         f"instance. Received: model={model!r}")
    created: Dict[str, Any] = {}
    if input_tensors is not None:
        if len(tensors) != len(model._input_layers):
            raise ValueError(f"`input_tensors` must hold {len(model._input_layers)} tensors, one per model input. "
                             f"Received: {len(tensors)} tensors")
        for layer, t in zip(model._input_layers, tensors):
            created[layer.name] = t._keras_history.layer
    for layer in model.layers:
        if layer.name in created:
            continue
        created[layer.name] = (InputLayer.from_config(layer.get_config()) if isinstance(layer, InputLayer)
                               else clone_function(layer))
    config = get_network_config(model, serialize_layer_fn=lambda layer: {"class_name": type(layer).__name__})
    inputs, outputs, _ = reconstruct_from_config(config, created_layers=created)
    return Functional(inputs, outputs, name=model.name)
