"""TimeDistributed and Bidirectional (Keras 2's `keras.layers.wrappers`).

Both follow tf-keras 2.21 (`tf_keras/src/layers/rnn/{time_distributed,bidirectional}.py`): Bidirectional runs a
forward copy and a `go_backwards` copy of the wrapped recurrent layer, flips the backward output back into time order,
merges them, and sets `zero_output_for_mask` on both copies when they return sequences (masked steps output 0).
"""
from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import numpy as np

from minikeras.autograd import Tensor, ops
from minikeras.engine.base_layer import InputSpec, Layer, _plain_for_one_tensor, _same_maths

__all__ = ["Wrapper", "TimeDistributed", "Bidirectional"]


def _deserialize_layer(config: Any) -> Layer:
    # NOTE: minikeras.layers (the package) imports this module: a real cycle
    from minikeras.layers import deserialize

    return deserialize(config)


def _serialize_layer(layer: Layer) -> Dict[str, Any]:
    # NOTE: minikeras.layers (the package) imports this module: a real cycle
    from minikeras.layers import serialize

    return serialize(layer)


class Wrapper(Layer):
    """Base class of layers that wrap another layer (`self.layer`)."""

    def __init__(self, layer: Layer, **kwargs: Any):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize the wrapper with a `Layer` instance. "
                             f"Received: layer={layer!r}")
        super().__init__(**kwargs)
        self.layer = layer

    def get_config(self) -> Dict[str, Any]:
        return {**super().get_config(), "layer": _serialize_layer(self.layer)}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Wrapper":
        config = dict(config)
        config["layer"] = _deserialize_layer(config["layer"])
        return cls(**config)


class TimeDistributed(Wrapper):
    """Apply a layer to every timestep of a sequence: `(batch, time, ...)` -> `(batch, time, ...)`.

    Args:
        layer: the layer applied to each timestep (e.g. `Dense(3)`).

    Input shape: `(batch, timesteps, ...)`, at least 3-D.
    Output shape: `(batch, timesteps) + layer.compute_output_shape((batch,) + input_shape[2:])[1:]`.

    >>> from minikeras.layers import Dense
    >>> TimeDistributed(Dense(3))(np.ones((2, 5, 4))).shape
    (2, 5, 3)
    """

    def __init__(self, layer: Layer, **kwargs: Any):
        super().__init__(layer, **kwargs)
        self.supports_masking = True

    @property
    def supports_streaming(self) -> bool:  # see minikeras.streaming: each timestep on its own, if the layer can
        return bool(getattr(self.layer, "supports_streaming", False))

    def build(self, input_shape: Any) -> None:
        input_shape = tuple(input_shape)
        if len(input_shape) < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an `input_shape` with at least 3 dimensions, "
                             f"received: {input_shape}")
        self.input_spec = InputSpec(shape=(None, None) + input_shape[2:])
        self.layer._maybe_build((None,) + input_shape[2:])

    def compute_output_shape(self, input_shape: Any) -> Any:
        inner = self.layer.compute_output_shape((input_shape[0],) + tuple(input_shape[2:]))
        return (input_shape[0], input_shape[1]) + tuple(inner[1:])

    def _pure_for_inference(self) -> bool:
        return _same_maths(self, TimeDistributed) and self.layer._pure_for_inference()

    def call(self, inputs: Tensor, training: Optional[bool] = None, mask: Any = None) -> Tensor:
        if inputs.ndim < 3:
            raise ValueError("`TimeDistributed` Layer should be passed an input with at least 3 dimensions. "
                             f"Received: input shape {inputs.shape}")
        n, t = inputs.shape[0], inputs.shape[1]
        flat = inputs.reshape((n * t,) + tuple(inputs.shape[2:]))
        kwargs = {"training": training} if self.layer._call_accepts_training else {}
        y = self.layer(flat, **kwargs)
        return y.reshape((n, t) + tuple(y.shape[1:]))

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        return mask


class Bidirectional(Wrapper):
    """Bidirectional wrapper for recurrent layers.

    Args:
        layer: a recurrent layer (`LSTM`, `GRU`, `SimpleRNN`) to run forwards; a copy runs backwards.
        merge_mode: how to combine the two outputs: `'concat'` (default), `'sum'`, `'mul'`, `'ave'` or `None`
            (a list of both).
        backward_layer: optional recurrent layer to use backwards (must have `go_backwards=True` and the same
            `return_sequences`/`return_state`/`stateful` as `layer`).

    Call arguments: `inputs`, `mask`, `training`, `initial_state` (forward states then backward states).

    Output: the merged sequence or last output; with `return_state`, followed by the forward then backward states.

    >>> from minikeras.layers import LSTM
    >>> Bidirectional(LSTM(4, return_sequences=True))(np.ones((2, 5, 3))).shape
    (2, 5, 8)
    """

    def __init__(self, layer: Layer, merge_mode: Optional[str] = "concat", weights: Any = None,
                 backward_layer: Optional[Layer] = None, **kwargs: Any):
        if not isinstance(layer, Layer):
            raise ValueError("Please initialize `Bidirectional` layer with a `minikeras.layers.Layer` instance "
                             f"(e.g. `layers.LSTM(8)`). Received: layer={layer!r}")
        if not hasattr(layer, "go_backwards") or not hasattr(layer, "return_sequences"):
            raise ValueError("`Bidirectional` wraps a recurrent layer (LSTM, GRU, SimpleRNN). "
                             f"Received: layer={type(layer).__name__}")
        if backward_layer is not None and not isinstance(backward_layer, Layer):
            raise ValueError("`backward_layer` needs to be a `minikeras.layers.Layer` instance. "
                             f"Received: backward_layer={backward_layer!r}")
        if merge_mode not in ["sum", "mul", "ave", "concat", None]:
            raise ValueError(f"Invalid merge mode. Received: {merge_mode}. Merge mode should be one of "
                             '{"sum", "mul", "ave", "concat", None}')
        Layer.__init__(self, **kwargs)
        self._original_layer = layer  # private: not tracked, its two copies are
        self.forward_layer = self._recreate(layer, go_backwards=False)
        if backward_layer is None:
            self.backward_layer = self._recreate(layer, go_backwards=True)
        else:
            self._backward_layer_config = _serialize_layer(backward_layer)
            self.backward_layer = backward_layer
        self.forward_layer.name = "forward_" + self.forward_layer.name
        self.backward_layer.name = "backward_" + self.backward_layer.name
        self._verify()
        for copy_layer in (self.forward_layer, self.backward_layer):
            if hasattr(copy_layer, "zero_output_for_mask"):
                copy_layer.zero_output_for_mask = copy_layer.return_sequences
        self.merge_mode = merge_mode
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.stateful = layer.stateful
        self.supports_masking = True
        if weights is not None:
            self._initial_weights = weights

    @staticmethod
    def _recreate(layer: Layer, go_backwards: bool) -> Layer:
        config = copy.deepcopy(_serialize_layer(layer))
        if go_backwards:
            config["config"]["go_backwards"] = not config["config"].get("go_backwards", False)
        return _deserialize_layer(config)

    def _verify(self) -> None:
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError("Forward layer and backward layer should have different `go_backwards` value. "
                             f"forward_layer.go_backwards = {f.go_backwards}, "
                             f"backward_layer.go_backwards = {b.go_backwards}")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(f, attr) != getattr(b, attr):
                raise ValueError("Forward layer and backward layer are expected to have the same value for "
                                 f"attribute {attr!r}, got {getattr(f, attr)} for forward layer and "
                                 f"{getattr(b, attr)} for backward layer")

    @property
    def layer(self) -> Layer:
        return self._original_layer

    def build(self, input_shape: Any) -> None:
        self.forward_layer._maybe_build(input_shape)
        self.backward_layer._maybe_build(input_shape)

    def compute_output_shape(self, input_shape: Any) -> Any:
        out = self.forward_layer.compute_output_shape(input_shape)
        states: List[Any] = []
        if self.return_state:
            out, states = out[0], list(out[1:])
        out = tuple(out)
        if self.merge_mode == "concat":
            out = out[:-1] + (out[-1] * 2,)
        merged: Any = [out, out] if self.merge_mode is None else out
        if self.return_state:
            head = merged if self.merge_mode is None else [merged]
            return head + states + list(states)
        return merged

    def _pure_for_inference(self) -> bool:
        # merge_mode=None and return_state return lists
        return _same_maths(self, Bidirectional) and self.merge_mode is not None and not self.return_state \
            and self.forward_layer._pure_for_inference() and self.backward_layer._pure_for_inference()

    @_plain_for_one_tensor  # it only unpacks `[inputs, *states]` lists
    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(inputs, (list, tuple)) and len(inputs) > 1:
            kwargs["initial_state"] = list(inputs[1:])
            inputs = inputs[0]
        return super().__call__(inputs, *args, **kwargs)

    def call(self, inputs: Tensor, training: Optional[bool] = None, mask: Any = None,
             initial_state: Any = None) -> Any:
        kwargs: Dict[str, Any] = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        forward_state = backward_state = None
        if initial_state is not None:
            if len(initial_state) % 2:
                raise ValueError("When passing `initial_state` to a Bidirectional RNN, the state should be a list "
                                 f"containing the states of the underlying RNNs. Received: {initial_state}")
            half = len(initial_state) // 2
            forward_state, backward_state = list(initial_state[:half]), list(initial_state[half:])
        y = self.forward_layer(inputs, initial_state=forward_state, **kwargs)
        y_rev = self.backward_layer(inputs, initial_state=backward_state, **kwargs)
        states: List[Tensor] = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        if self.merge_mode == "concat":
            output: Any = ops.concatenate([y, y_rev], axis=-1)
        elif self.merge_mode == "sum":
            output = y + y_rev
        elif self.merge_mode == "ave":
            output = (y + y_rev) / 2
        elif self.merge_mode == "mul":
            output = y * y_rev
        else:
            output = [y, y_rev]
        if self.return_state:
            return (output if self.merge_mode is None else [output]) + states
        return output

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        if isinstance(mask, list):
            mask = mask[0]
        if self.return_sequences:
            out_mask: Any = [mask, mask] if not self.merge_mode else mask
        else:
            out_mask = [None, None] if not self.merge_mode else None
        if self.return_state:
            n_states = len(getattr(self.forward_layer, "states", None) or []) or 1
            state_mask = [None] * (2 * n_states)
            return (out_mask if isinstance(out_mask, list) else [out_mask]) + state_mask
        return out_mask

    def reset_states(self, states: Any = None) -> None:
        if not self.stateful:
            raise AttributeError("Layer must be stateful.")
        if states is None:
            self.forward_layer.reset_states()
            self.backward_layer.reset_states()
        else:
            if not isinstance(states, (list, tuple)):
                raise ValueError("Unrecognized value for `states`. Expected `states` to be list or tuple. "
                                 f"Received: {states}")
            half = len(states) // 2
            self.forward_layer.reset_states(states[:half])
            self.backward_layer.reset_states(states[half:])

    def get_config(self) -> Dict[str, Any]:
        config = {**Layer.get_config(self), "layer": _serialize_layer(self._original_layer),
                  "merge_mode": self.merge_mode}
        if hasattr(self, "_backward_layer_config"):
            config["backward_layer"] = self._backward_layer_config
        return config

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Bidirectional":
        config = dict(config)
        config["layer"] = _deserialize_layer(config["layer"])
        if config.get("backward_layer") is not None:
            config["backward_layer"] = _deserialize_layer(config["backward_layer"])
        return cls(**config)
