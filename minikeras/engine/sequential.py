"""`Sequential`: a linear stack of layers on the functional graph (Keras 2's `keras.engine.sequential`).

A `Sequential` is a `Functional` model whose graph is a chain. With a known input shape (an `Input(...)` first, or
`input_shape=` on the first layer) every `add` calls the new layer on the previous output, so the graph grows with
the stack. Without one, the graph is built from the first data (or `build(input_shape)`), with an input named
after the first layer; data of another shape later relaxes the differing sizes to `None` and rebuilds, as tf.keras.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from minikeras import streaming
from minikeras.autograd import Tensor
from minikeras.engine.base_layer import Layer, _any_symbolic
from minikeras.engine.functional import Functional
from minikeras.engine.input_layer import Input, InputLayer
from minikeras.engine.keras_tensor import KerasTensor, flatten
from minikeras.engine.training import Model
from minikeras.layers import deserialize as deserialize_layer, serialize as serialize_layer


class Sequential(Functional):
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
        # NOTE: no graph yet: Functional.__init__ needs inputs and outputs, the chain grows with `add`
        Model.__init__(self, name=name, trainable=trainable, **kwargs)
        self._input_layer: Optional[InputLayer] = None
        self._graph_initialized = False
        self._inferred_input_shape: Optional[tuple] = None
        self._chain: List[KerasTensor] = []
        self.supports_masking = True
        self.input_spec = None
        self.built = False
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
            layer = layer._keras_history.layer
        if not isinstance(layer, Layer):
            raise TypeError("The added layer must be an instance of class Layer. "
                            f"Received: layer={layer} of type {type(layer)}.")
        if isinstance(layer, InputLayer):
            if self._layers:
                raise ValueError("An `Input` can only be the first entry of a Sequential model. "
                                 f"Received: layer={layer.name!r} after {len(self._layers)} layers")
            self._input_layer = layer
            self._layers.append(layer)
            self._chain = [layer._inbound_nodes[0].outputs]
            return
        if layer.name in {l.name for l in self._layers}:
            raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                             f'"{layer.name}" is already the name of a layer in this model. Update the `name` '
                             "argument to pass a unique name.")
        if not self._layers and layer.batch_input_shape is not None:
            self._input_layer = InputLayer(batch_input_shape=layer.batch_input_shape, name=f"{layer.name}_input",
                                           dtype=layer.dtype)
            self._layers.append(self._input_layer)
            self._chain = [self._input_layer._inbound_nodes[0].outputs]
        self._layers.append(layer)
        if not self._chain:
            return  # no input shape yet: the graph is built from the first data or `build(input_shape)`
        try:
            self._chain.append(self._call_in_chain(layer, self._chain[-1]))
            self._init_chain_graph()
        except Exception:
            self._layers.pop()
            if len(self._chain) > len(self.layers) + 1:
                self._chain.pop()
            if len(self._chain) > 1:
                self._init_chain_graph()
            raise

    @staticmethod
    def _call_in_chain(layer: Layer, x: KerasTensor) -> KerasTensor:
        out = layer(x)
        if len(flatten(out)) != 1:
            raise ValueError("All layers in a Sequential model should have a single output tensor. For multi-output "
                             f"layers, use the functional API. Received: layer '{layer.name}' with "
                             f"{len(flatten(out))} outputs")
        return flatten(out)[0]

    def _init_chain_graph(self) -> None:
        """(Re)map the graph from the chain's input to its last output."""
        if len(self._chain) < 2:
            return
        layers = list(self._layers)
        self._init_graph_network(self._chain[0], self._chain[-1])
        # NOTE: the graph's layer list is the stack itself (an inferred input stays out of it, as tf.keras)
        self._layers[:] = layers
        self._graph_initialized = True

    def _build_inferred(self, input_shape: Any) -> None:
        """Build the graph from an input shape the data gave (no explicit input): tf.keras's inferred graph."""
        shape = tuple(None if d is None else int(d) for d in input_shape)
        first = self.layers[0]
        dtype = first.dtype
        x = Input(batch_shape=shape, dtype=dtype, name=f"{first.name}_input")
        chain = [x]
        for layer in self.layers:
            chain.append(self._call_in_chain(layer, chain[-1]))
        self._chain = chain
        self._inferred_input_shape = shape
        self._init_chain_graph()
        self._build_input_shape = shape

    def pop(self) -> Layer:
        """Remove and return the last layer."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self.layers[-1]
        self._layers.remove(layer)
        if len(self._chain) > 1:
            self._chain.pop()
        if len(self._chain) > 1:
            self._init_chain_graph()
        else:
            self._graph_initialized = False
            self.built = False
        return layer

    @property
    def output_names(self) -> Optional[List[str]]:  # type: ignore[override]
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
        if not self.layers:
            raise ValueError("Sequential model cannot be built: the model is empty. Add some layers first.")
        if self._input_layer is not None:
            self._init_chain_graph()
            return
        shape = tuple(input_shape)
        if self._inferred_input_shape is not None:
            shape = _relax_input_shape(self._inferred_input_shape, shape)
            if shape == self._inferred_input_shape and self._graph_initialized:
                return
        self._build_inferred(shape)

    @property
    def input_shape(self) -> Any:
        if self._input_layer is not None:
            return self._input_layer.batch_input_shape
        if self._build_input_shape is None:
            raise AttributeError("The model has not been built yet, so it has no input shape.")
        return self._build_input_shape

    @property
    def output_shape(self) -> Any:
        if not self._graph_initialized:
            raise AttributeError("The model has not been built yet, so it has no output shape.")
        return self._chain[-1].shape

    @property
    def input(self) -> Any:
        if not self._graph_initialized:
            raise AttributeError("The Sequential model has no defined input: it has not been built (no input shape "
                                 "was given and it has not been called on data).")
        return self._chain[0]

    @property
    def output(self) -> Any:
        if not self._graph_initialized:
            raise AttributeError("The Sequential model has no defined output: it has not been built.")
        return self._chain[-1]

    # ------------------------------------------------------------------ call
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:

        if self._input_layer is None and self.layers and not _any_symbolic(inputs, args, kwargs):
            arr = inputs.data if isinstance(inputs, Tensor) else inputs
            shape = (None,) + tuple(np.shape(arr))[1:]
            # NOTE: `build` for the shape it was last given, with the same inferred input, changes nothing: skip
            # it on repeated calls with the same data shape.
            key = (shape, self._inferred_input_shape)
            if not self._graph_initialized or key != self.__dict__.get("_last_call_build"):
                self.build(shape)
                self._last_call_build = (shape, self._inferred_input_shape)
        return super().__call__(inputs, *args, **kwargs)

    def _convert_input(self, x: Any) -> Any:
        if not self._graph_initialized:
            first = self.layers[0] if self.layers else None
            return first._convert_input(x) if first is not None else super(Functional, self)._convert_input(x)
        return super()._convert_input(x)

    def call(self, inputs: Any, training: Optional[bool] = None, mask: Any = None) -> Any:
        if self._graph_initialized:
            return super().call(inputs, training=training, mask=mask)
        return inputs  # an empty stack is the identity (tf.keras)

    def compute_output_shape(self, input_shape: Any) -> Any:
        if self._graph_initialized:
            return super().compute_output_shape(input_shape)
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = tuple(layer.compute_output_shape(shape))
        return shape

    def _maybe_build(self, input_shape: Any) -> None:
        if not self.built:
            self.build(input_shape)

    # ------------------------------------------------------------------ Keras 2's class predictions
    def predict_proba(self, x: Any, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """Deprecated Keras 2 method: `predict(x)`, warning when the outputs are not in [0, 1].

        Args:
            x: input data.
            batch_size: samples per batch (default 32, as Keras 2).
            verbose: 0 or 1.
        """
        warnings.warn("`model.predict_proba()` is deprecated and will be removed after 2021-01-01. Please use "
                      "`model.predict()` instead.", stacklevel=2)
        preds = self.predict(x, batch_size=batch_size, verbose=verbose)
        if preds.min() < 0.0 or preds.max() > 1.0:
            warnings.warn("Network returning invalid probability values. The last layer might not normalize "
                          "predictions into probabilities (like softmax or sigmoid would).", stacklevel=2)
        return preds

    def predict_classes(self, x: Any, batch_size: int = 32, verbose: int = 0) -> np.ndarray:
        """Deprecated Keras 2 method: class indices from `predict(x)`.

        The argmax over the last axis when it has several units; `(p > 0.5)` as int32 for one unit (binary).

        Args:
            x: input data.
            batch_size: samples per batch (default 32, as Keras 2).
            verbose: 0 or 1.
        """
        warnings.warn("`model.predict_classes()` is deprecated and will be removed after 2021-01-01. Please use "
                      "instead:* `np.argmax(model.predict(x), axis=-1)`,   if your model does multi-class "
                      "classification   (e.g. if it uses a `softmax` last-layer activation).* `(model.predict(x) > "
                      "0.5).astype(\"int32\")`,   if your model does binary classification   (e.g. if it uses a "
                      "`sigmoid` last-layer activation).", stacklevel=2)
        proba = self.predict(x, batch_size=batch_size, verbose=verbose)
        if proba.shape[-1] > 1:
            return proba.argmax(axis=-1)
        return (proba > 0.5).astype("int32")

    # ------------------------------------------------------------------ config
    def get_config(self) -> Dict[str, Any]:
        """tf.keras's Sequential config: name, layers (InputLayer entry first), build_input_shape if built."""
        layers = [serialize_layer(l) for l in self._layers]
        config: Dict[str, Any] = {"name": self.name, "layers": copy.deepcopy(layers)}
        if self._input_layer is None and self._build_input_shape is not None:
            config["build_input_shape"] = list(self._build_input_shape)
        return config

    @classmethod
    def from_config(cls, config: Any, custom_objects: Optional[Dict[str, Any]] = None) -> "Sequential":
        """Rebuild from a config: tf.keras dict form, Keras <= 2.2.2's list form, or Keras 3's form."""
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
            model.add(deserialize_layer(lc, custom_objects=custom_objects))
        if not model.built and build_shape is not None:
            model.build(tuple(build_shape))
        return model

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


def _relax_input_shape(shape1: tuple, shape2: tuple) -> tuple:
    """tf.keras: sizes that differ between two input shapes become None (a different rank keeps the new shape)."""
    if len(shape1) != len(shape2):
        return tuple(shape2)
    return tuple(None if d1 != d2 else d1 for d1, d2 in zip(shape1, shape2))
