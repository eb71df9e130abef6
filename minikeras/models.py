"""`Sequential`, `load_model`, `model_from_json` (Keras 2's `keras.models`)."""
from __future__ import annotations

import copy
import json

import numpy as np
from typing import Any, Dict, List, Optional, Sequence

from minikeras import streaming
from minikeras.autograd import Tensor
from minikeras.engine.base_layer import Layer, assert_input_compatibility
from minikeras.engine.input_layer import InputLayer, KerasTensor
from minikeras.engine.training import Model


class _SymbolicShape:
    """A shape standing for an input during `Sequential` building (what input-spec checks look at)."""

    def __init__(self, shape: Any):
        self.shape = tuple(shape)


class Sequential(Model):
    """A linear stack of layers.

    Args:
        layers: optional list of layers (or an `Input(...)` first) to add.
        name: model name (default `sequential`, `sequential_1`, ...).

    >>> from minikeras.layers import LSTM
    >>> model = Sequential()
    >>> model.add(LSTM(128, input_dim=64, input_length=5, return_sequences=True))
    >>> model.add(LSTM(256, return_sequences=False))
    >>> model.output_shape
    (None, 256)
    """

    def __init__(self, layers: Optional[Sequence[Any]] = None, name: Optional[str] = None, **kwargs: Any):
        trainable = kwargs.pop("trainable", True)
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._input_layer: Optional[InputLayer] = None
        self._output_shape: Any = None
        self.supports_masking = True
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    @property
    def layers(self) -> List[Layer]:
        """The model's layers, without the InputLayer (as tf.keras's `model.layers`)."""
        return [l for l in self._layers if not isinstance(l, InputLayer)]

    def add(self, layer: Any) -> None:
        """Add a layer (or an `Input(...)`) on top of the stack; builds it when the input shape is known."""
        if isinstance(layer, KerasTensor):
            layer = layer._input_layer
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Received: layer={layer} of type {type(layer)}.")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("An `Input` can only be the first entry of a Sequential model. "
                                 f"Received: layer={layer.name!r} after {len(self._layers)} layers")
            self._input_layer = layer
            self._layers.append(layer)
            self._build_from(layer.batch_input_shape)
            return
        names = {l.name for l in self._layers}
        if layer.name in names:
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f'"{layer.name}" is already the name of a layer in this model. Update the `name` '
                             "argument to pass a unique name.")
        if not self._layers and layer.batch_input_shape is not None:
            self._input_layer = InputLayer(batch_input_shape=layer.batch_input_shape,
                                           name=f"{layer.name}_input", dtype=getattr(layer, "_input_dtype", None)
                                           or layer.dtype)
            self._layers.append(self._input_layer)
        self._layers.append(layer)
        if self.built or self._input_layer is not None and len(self._layers) >= 2:
            try:
                self._build_from(self._input_layer.batch_input_shape if self._input_layer is not None
                                 else self._build_input_shape)
            except Exception:
                self._layers.pop()
                raise

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self.layers[-1]
        self._layers.remove(layer)
        if self.built:
            shape = self._build_input_shape
            if self.layers:
                self._build_from(shape)
            else:
                self._output_shape = None
        return layer

    def _build_from(self, input_shape: Any) -> None:
        shape = tuple(input_shape)
        for layer in self.layers:
            # NOTE: as tf.keras calls each layer on a symbolic input: the input spec is checked before building
            assert_input_compatibility(layer.input_spec, [_SymbolicShape(shape)], layer.name)
            layer._maybe_build(shape)
            assert_input_compatibility(layer.input_spec, [_SymbolicShape(shape)], layer.name)
            shape = layer.compute_output_shape(shape)
            if isinstance(shape, list):
                shape = shape[0]
            shape = tuple(shape)
        self._build_input_shape = tuple(input_shape)
        self._output_shape = shape
        self.built = bool(self.layers)

    @property
    def output_names(self) -> Optional[List[str]]:
        """The last layer's name: the name of the model's one output in per-output logs (tf.keras)."""
        layers = self.layers
        return [layers[-1].name] if layers else None

    def _build_for_data(self, input_shapes: List[Any]) -> None:  # Model's hook, called by fit/evaluate
        if len(input_shapes) == 1:
            self.build(input_shapes[0])

    def build(self, input_shape: Any = None) -> None:
        """Build every layer for `input_shape` (batch axis included, e.g. `(None, 5, 64)`)."""
        if input_shape is None:
            if self._input_layer is None:
                raise ValueError("You must provide an `input_shape` argument to build a Sequential model whose "
                                 "first layer does not declare its input shape. Received: input_shape=None")
            input_shape = self._input_layer.batch_input_shape
        self._build_from(tuple(input_shape))

    @property
    def input_shape(self) -> Any:
        if self._input_layer is not None:
            return self._input_layer.batch_input_shape
        if self._build_input_shape is None:
            raise AttributeError("The model has not been built yet, so it has no input shape.")
        return self._build_input_shape

    @property
    def output_shape(self) -> Any:
        if self._output_shape is None:
            raise AttributeError("The model has not been built yet, so it has no output shape.")
        return self._output_shape

    # ------------------------------------------------------------------ call
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if not self.built:
            arr = inputs.data if isinstance(inputs, Tensor) else inputs
            import numpy as np
            shape = (None,) + tuple(np.shape(arr))[1:]
            self._build_from(shape)
        return super().__call__(inputs, *args, **kwargs)

    def _convert_input(self, x: Any) -> Any:
        first = self.layers[0] if self.layers else None
        return first._convert_input(x) if first is not None else super()._convert_input(x)

    def call(self, inputs: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        x, m = inputs, mask
        for layer in self.layers:
            kwargs: Dict[str, Any] = {}
            if layer._call_accepts_training:
                kwargs["training"] = training
            if m is not None:
                kwargs["mask"] = m
            x = layer(x, **kwargs)
            m = getattr(x, "_keras_mask", None) if isinstance(x, Tensor) else None
        self._call_output_mask = m
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the last layer's output in the call that just ran (tf.keras: `model(x)._keras_mask`)."""
        return self.__dict__.pop("_call_output_mask", None)

    # ------------------------------------------------------------------ config
    def get_config(self) -> Dict[str, Any]:
        """tf.keras's Sequential config: name, layers (InputLayer entry first), build_input_shape if built."""
        from minikeras.layers import serialize

        layers = [serialize(l) for l in self._layers]
        config: Dict[str, Any] = {"name": self.name, "layers": copy.deepcopy(layers)}
        if self._input_layer is None and self._build_input_shape is not None:
            config["build_input_shape"] = list(self._build_input_shape)
        return config

    @classmethod
    def from_config(cls, config: Any, custom_objects: Optional[Dict[str, Any]] = None) -> "Sequential":
        """Rebuild from a config: tf.keras dict form, Keras <= 2.2.2's list form, or Keras 3's form."""
        from minikeras.layers import deserialize

        if isinstance(config, list):  # Keras <= 2.2.2 wrote the bare list of layers
            name, layer_configs, build_shape = None, config, None
        elif isinstance(config, dict):
            name = config.get("name")
            layer_configs = config.get("layers")
            build_shape = config.get("build_input_shape")
            if not isinstance(layer_configs, list):
                raise ValueError("Invalid Sequential config: expected a list under 'layers'. "
                                 f"Received: layers={layer_configs!r}")
        else:
            raise ValueError(f"Invalid Sequential config, expected a dict or a list. Received: {type(config)}")
        model = cls(name=name)
        if isinstance(config, dict) and config.get("trainable") is False:  # Keras 3 writes the model's flag
            model.trainable = False
        for lc in layer_configs:
            model.add(deserialize(lc, custom_objects=custom_objects))
        if not model.built and build_shape is not None:
            model.build(tuple(build_shape))
        return model

    def to_json(self, **kwargs: Any) -> str:
        """`{"class_name": "Sequential", "config": ..., "keras_version", "backend"}` as JSON."""
        from minikeras import __version__

        return json.dumps({"class_name": "Sequential", "config": self.get_config(),
                           "keras_version": "2.21.0", "backend": "tensorflow",
                           "minikeras_version": __version__}, **kwargs)


    # ------------------------------------------------------------------ states and streaming (beyond Keras)
    def get_states(self) -> List[Optional[List[np.ndarray]]]:
        """The recurrent states, one list of arrays per recurrent layer: see `minikeras.streaming.get_states`."""
        return streaming.get_states(self)

    def set_states(self, states: Sequence[Any]) -> None:
        """Set the recurrent states (all-or-nothing): see `minikeras.streaming.set_states`."""
        streaming.set_states(self, states)

    def reset_states(self, samples: Any = None) -> None:
        """Zero the recurrent states, of all or some samples: see `minikeras.streaming.reset_states`."""
        streaming.reset_states(self, samples)

    def predict_timestep(self, x_t: Any) -> np.ndarray:
        """Run one timestep, keeping the recurrent states: see `minikeras.streaming.predict_timestep`."""
        return streaming.predict_timestep(self, x_t)

    # ------------------------------------------------------------------ files
    def save(self, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
             save_format: Optional[str] = None, **kwargs: Any) -> None:
        """Save the whole model: `.keras` (Keras 3 zip) or `.h5` (tf.keras HDF5), atomically."""
        from minikeras import saving

        if kwargs:
            raise TypeError(f"Unrecognized keyword arguments passed to save: {kwargs}")
        saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer,
                          save_format=save_format)

    def save_weights(self, filepath: Any, overwrite: bool = True, save_format: Optional[str] = None) -> None:
        """Save the weights: `.weights.h5` (Keras 3 layout) or `.h5` (tf.keras legacy layout), atomically."""
        from minikeras import saving

        saving.save_weights(self, filepath, overwrite=overwrite, save_format=save_format)

    def load_weights(self, filepath: Any, by_name: bool = False, skip_mismatch: bool = False) -> None:
        """Load weights Keras (1, 2 or 3) or minikeras saved; all-or-nothing (a failed load changes nothing)."""
        from minikeras import saving

        if not self.built:
            raise ValueError("Unable to load weights into a model that has not been built yet: call "
                             "`model.build(input_shape)` or call the model on data first.")
        saving.load_weights(self, filepath, by_name=by_name, skip_mismatch=skip_mismatch)


def load_model(filepath: Any, custom_objects: Optional[Dict[str, Any]] = None, compile: bool = True) -> Model:
    """Load a model saved by Keras 2, Keras 3 or minikeras (`.h5`, `.hdf5`, `.keras`). Nothing in it is executed."""
    from minikeras import saving

    return saving.load_model(filepath, custom_objects=custom_objects, compile=compile)


def save_model(model: Model, filepath: Any, overwrite: bool = True, include_optimizer: bool = True,
               save_format: Optional[str] = None) -> None:
    """Functional form of `model.save`."""
    model.save(filepath, overwrite=overwrite, include_optimizer=include_optimizer, save_format=save_format)


def model_from_config(config: Dict[str, Any], custom_objects: Optional[Dict[str, Any]] = None) -> Model:
    """Build a model from `{"class_name": "Sequential", "config": ...}` as any Keras era writes it."""
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
