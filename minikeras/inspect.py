"""Look inside an LSTM: the per-timestep gates, candidate cell, cell and hidden states.

`lstm_gates(model_or_layer, x)` returns the quantities of the LSTM equations for every sample and timestep:

    I_t  = ra(x_t W_i + H_{t-1} U_i + b_i)        input_gate
    F_t  = ra(x_t W_f + H_{t-1} U_f + b_f)        forget_gate
    O_t  = ra(x_t W_o + H_{t-1} U_o + b_o)        output_gate
    C~_t = act(x_t W_c + H_{t-1} U_c + b_c)       candidate
    C_t  = F_t * C_{t-1} + I_t * C~_t             cell
    H_t  = O_t * act(C_t)                          hidden

with `ra` the layer's recurrent activation and `act` its activation.
"""
from __future__ import annotations

from typing import Any, Dict, Union

import numpy as np

from minikeras.autograd.tensor import Tensor, no_grad
from minikeras.engine.input_layer import InputLayer
from minikeras.layers.recurrent import LSTM

__all__ = ["lstm_gates", "GATE_NAMES"]

GATE_NAMES = ("input_gate", "forget_gate", "output_gate", "candidate", "cell", "hidden")
_FROM_KERNEL = {"input_gate": "i", "forget_gate": "f", "output_gate": "o", "candidate": "c_tilde", "cell": "c",
                "hidden": "h"}


def _is_lstm(layer: Any) -> bool:
    return isinstance(layer, LSTM)


def _numpy(value: Any) -> np.ndarray:
    return value.data if isinstance(value, Tensor) else np.asarray(value)


def _find_layer(model: Any, layer: Union[None, int, str]) -> int:
    layers = list(model.layers)
    if layer is None:
        for index, candidate in enumerate(layers):
            if _is_lstm(candidate):
                return index
        raise ValueError(f"`lstm_gates` found no LSTM layer in model '{getattr(model, 'name', model)}' (layers: "
                         f"{[type(l).__name__ for l in layers]}). Pass a model that contains an LSTM, or the LSTM "
                         f"layer itself.")
    if isinstance(layer, (int, np.integer)):
        if not -len(layers) <= int(layer) < len(layers):
            raise ValueError(f"`layer={layer}` is out of range: the model has {len(layers)} layers.")
        index = int(layer) % len(layers)
    elif isinstance(layer, str):
        names = [l.name for l in layers]
        if layer not in names:
            raise ValueError(f"No layer named {layer!r} in the model. Layer names: {names}.")
        index = names.index(layer)
    else:
        raise TypeError(f"`layer` must be None, a layer index or a layer name. Received: layer={layer!r}")
    if not _is_lstm(layers[index]):
        raise ValueError(f"Layer {layers[index].name!r} is a {type(layers[index]).__name__}, not an LSTM: "
                         f"`lstm_gates` inspects LSTM layers only.")
    return index


def _inputs_of(model: Any, index: int, x: Any):
    """Run the layers before `index` (inference mode, no gradients); the input to layer `index` and its mask."""
    if not getattr(model, "built", True) and hasattr(model, "build"):
        model.build((None,) + tuple(np.shape(x)[1:]))
    value: Any = x
    mask = None
    with no_grad():
        for layer in list(model.layers)[:index]:
            if isinstance(layer, InputLayer):
                continue
            kwargs: Dict[str, Any] = {}
            if getattr(layer, "_call_accepts_training", False):
                kwargs["training"] = False
            if mask is not None:
                kwargs["mask"] = mask
            value = layer(value, **kwargs)
            mask = getattr(value, "_keras_mask", None) if isinstance(value, Tensor) else None
    return value, mask


def lstm_gates(model_or_layer: Any, x: Any, layer: Union[None, int, str] = None, mask: Any = None,
               time_order: str = "processing") -> Dict[str, np.ndarray]:
    """Per-timestep gate values, candidate cell, cell and hidden states of an LSTM layer.

    Args:
        model_or_layer: an `LSTM` layer (then `x` is that layer's input), or a `Sequential` model (then `x` is the
            model's input, and the layers before the inspected LSTM run in inference mode, without gradients;
            their Keras masks, e.g. from `Embedding(mask_zero=True)` or `Masking`, are used).
        x: numpy array (or Tensor) of the model's / layer's inputs, (samples, timesteps, features) for a layer.
        layer: which LSTM of a model: None (the first LSTM), a layer index in `model.layers` or a layer name.
        mask: optional (samples, timesteps) booleans when inspecting a layer directly (False = padded step).
        time_order: `"processing"` (default) or `"input"`. For `go_backwards=True` the layer processes the last
            input step first. With `"processing"`, index t is the t-th step processed, which is the order of the
            layer's own output sequence (Keras returns go_backwards sequences reversed); with `"input"`, index t
            is the step computed from input step t (the arrays are flipped along time). Without go_backwards
            both orders are the same.

    Returns:
        dict of float arrays of shape (samples, timesteps, units):
        `input_gate` (I_t), `forget_gate` (F_t), `output_gate` (O_t), `candidate` (C~_t), `cell` (C_t) and
        `hidden` (H_t). `hidden` equals the layer's output sequence (`return_sequences=True`); its last step
        (processing order) is the layer's non-sequence output. At a masked step the states `cell` and `hidden`
        carry the previous values over (with `zero_output_for_mask=True` the layer outputs zeros there instead,
        while `hidden` still holds the carried state); the gates are what the cell computed at that step.
        Initial states are zeros, or the current states of a stateful layer. Dropout is not applied
        (inference mode).

    Raises:
        ValueError: no LSTM in the model, `layer` names a non-LSTM layer, bad `time_order`, or the layer is not
            built and `x` is not 3-D.

    >>> import numpy as np
    >>> from minikeras.models import Sequential
    >>> from minikeras.layers import LSTM, Dense
    >>> model = Sequential()
    >>> model.add(LSTM(4, input_shape=(3, 2), return_sequences=True))
    >>> model.add(Dense(1))
    >>> gates = lstm_gates(model, np.ones((5, 3, 2), dtype="float32"))
    >>> sorted(gates)
    ['candidate', 'cell', 'forget_gate', 'hidden', 'input_gate', 'output_gate']
    >>> gates["hidden"].shape
    (5, 3, 4)
    >>> bool(np.allclose(gates["hidden"], model.layers[0](np.ones((5, 3, 2), dtype="float32")).numpy(), atol=1e-6))
    True
    """
    if time_order not in ("processing", "input"):
        raise ValueError(f"`time_order` must be 'processing' or 'input'. Received: time_order={time_order!r}")
    if _is_lstm(model_or_layer):
        lstm, inputs, in_mask = model_or_layer, x, mask
    elif hasattr(model_or_layer, "layers"):
        index = _find_layer(model_or_layer, layer)
        lstm = model_or_layer.layers[index]
        inputs, in_mask = _inputs_of(model_or_layer, index, x)
        if mask is not None:
            in_mask = mask
    else:
        raise ValueError(f"`lstm_gates` expects an LSTM layer or a model containing one. "
                         f"Received: {type(model_or_layer).__name__}")
    array = _numpy(inputs)
    if array.ndim != 3:
        raise ValueError(f"The inspected LSTM expects inputs of shape (samples, timesteps, features). "
                         f"Received: shape={array.shape}")
    if getattr(lstm, "time_major", False):
        raise ValueError("`lstm_gates` does not support time_major=True layers.")
    raw = lstm.gate_values(array, mask=None if in_mask is None else _numpy(in_mask).astype(bool))
    out = {name: np.asarray(raw[_FROM_KERNEL[name]]) for name in GATE_NAMES}
    if time_order == "input" and lstm.go_backwards:
        out = {name: np.ascontiguousarray(value[:, ::-1]) for name, value in out.items()}
    return out
